"""The rollout part of the launch page: stage bar, guardrails with sparklines, and the controls."""

from datetime import timedelta
from typing import Any

from governance.kernel import formatting as fmt
from governance.kernel.permissions import can, roles_of

from .charts import sparkline
from .models import EVERY_SEGMENT, LaunchStatus, Observation


def rollout_context(request, launch, now) -> dict:
    plan = getattr(launch, "plan", None)
    if plan is None:
        return {"plan": None}
    stages = list(plan.stages.all())
    guardrails = list(plan.guardrails.all())
    current = plan.current_stage
    for stage in stages:
        stage.state = ("done" if stage.completed_at else "current" if current and stage.pk == current.pk
                       else "upcoming")
    if guardrails and launch.status in (LaunchStatus.ROLLING_OUT, LaunchStatus.LAUNCHED, LaunchStatus.ROLLED_BACK):
        metrics = {g.metric for g in guardrails}
        # a guardrail's chart draws the segment it watches; one rule for every segment draws its worst segment
        drawn = {g.pk: (g.state_detail or {}).get("segment", "") if g.segment == EVERY_SEGMENT else g.segment
                 for g in guardrails}
        observations = Observation.objects.filter(launch=launch, metric__in=metrics,
                                                  segment__in=set(drawn.values()))
        if launch.status == LaunchStatus.ROLLING_OUT:
            # live: the recent past, twice the longest window
            longest = max(g.window_minutes for g in guardrails)
            observations = observations.filter(observed_at__gte=now - timedelta(minutes=max(longest, 60) * 2))
        # finished rollouts show their whole course (bounded)
        series: dict[tuple[str, str], list[tuple[Any, float]]] = {}
        for metric, segment, at, value in observations.order_by("observed_at").values_list(
                "metric", "segment", "observed_at", "value")[:5000]:
            series.setdefault((metric, segment), []).append((at, value))
        for guardrail in guardrails:
            points = series.get((guardrail.metric, drawn[guardrail.pk]), [])
            guardrail.spark = sparkline(points, threshold=guardrail.threshold,
                                        comparator=guardrail.comparator,
                                        title=f"Observations of {fmt.metric(guardrail.metric)} against the "
                                              f"threshold {fmt.number(guardrail.threshold)}")
    editable = launch.status in (LaunchStatus.DRAFT, LaunchStatus.IN_REVIEW)
    return {
        "plan": plan, "stages": stages, "guardrails": guardrails, "current_stage": current,
        "can_edit_plan": editable and can(request.user, "rollout.edit", launch),
        "can_start": launch.status == LaunchStatus.APPROVED and can(request.user, "rollout.advance", launch),
        "can_advance": launch.status == LaunchStatus.ROLLING_OUT and can(request.user, "rollout.advance", launch),
        "can_rollback": launch.status in (LaunchStatus.ROLLING_OUT, LaunchStatus.LAUNCHED)
        and can(request.user, "rollout.rollback", launch),
        "can_approve_stage": launch.status == LaunchStatus.ROLLING_OUT and current is not None
        and bool(current.approval_role) and not current.approved_by_id
        and current.approval_role in roles_of(request.user),
    }
