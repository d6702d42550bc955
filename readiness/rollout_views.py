"""The rollout part of the launch page: stage bar, guardrails with sparklines, and the controls."""

from datetime import timedelta

from governance.permissions import can, roles_of

from .charts import sparkline
from .models import LaunchStatus, Observation


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
        observations = Observation.objects.filter(launch=launch, metric__in=metrics, segment="")
        if launch.status == LaunchStatus.ROLLING_OUT:
            # live: the recent past, twice the longest window
            longest = max(g.window_minutes for g in guardrails)
            observations = observations.filter(observed_at__gte=now - timedelta(minutes=max(longest, 60) * 2))
        # finished rollouts show their whole course (bounded)
        series = {}
        for metric, at, value in observations.order_by("observed_at").values_list(
                "metric", "observed_at", "value")[:5000]:
            series.setdefault(metric, []).append((at, value))
        for guardrail in guardrails:
            guardrail.spark = sparkline(series.get(guardrail.metric, []), threshold=guardrail.threshold,
                                        comparator=guardrail.comparator,
                                        title=f"{guardrail.metric} against {guardrail.threshold:g}")
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


# -- controls and plan editing ------------------------------------------------------------------------------

from django.contrib import messages  # noqa: E402
from django.contrib.auth.decorators import login_required  # noqa: E402
from django.shortcuts import get_object_or_404, redirect, render  # noqa: E402
from django.views.decorators.http import require_http_methods, require_POST  # noqa: E402

from governance.errors import DomainError, ValidationFailed  # noqa: E402
from governance.views import deny_unless  # noqa: E402

from . import rollouts  # noqa: E402
from .models import LaunchRequest  # noqa: E402
from .views import post_action  # noqa: E402


def _control(request, pk, action, success):
    return post_action(request, pk, action, success, anchor="#rollout-h")


@login_required
@require_POST
def start(request, pk):
    return _control(request, pk, lambda launch: rollouts.start_rollout(launch, actor=request.user),
                    "Rollout started at the first stage.")


@login_required
@require_POST
def advance(request, pk):
    return _control(request, pk, lambda launch: rollouts.advance(launch, actor=request.user),
                    lambda result: f"Now at stage {result['stage']} ({result['status'].replace('_', ' ').lower()}).")


@login_required
@require_POST
def approve_stage(request, pk):
    return _control(request, pk, lambda launch: rollouts.approve_stage(launch, actor=request.user),
                    lambda stage: f"Advancing past {stage.name} approved.")


@login_required
@require_POST
def rollback(request, pk):
    reason = request.POST.get("reason", "")
    return _control(request, pk, lambda launch: rollouts.rollback(launch, actor=request.user, reason=reason),
                    lambda result: f"Rolled back. Incident #{result['incident']} opened.")


def _lines(text):
    return [line.strip() for line in (text or "").splitlines() if line.strip() and not line.strip().startswith("#")]


def parse_plan_text(stages_text: str, guardrails_text: str) -> tuple[list, list]:
    """Plan editing as text, one stage or guardrail per line; errors name the line."""
    stages = []
    for number, line in enumerate(_lines(stages_text), 1):
        parts = line.split()
        if len(parts) not in (3, 4):
            raise ValidationFailed(f"Stage line {number}: write 'name percent minutes [ROLE]'.", field="stages")
        try:
            percent, minutes = float(parts[1].rstrip("%")), int(parts[2])
        except ValueError:
            raise ValidationFailed(f"Stage line {number}: percent and minutes must be numbers.",
                                   field="stages") from None
        stages.append({"name": parts[0], "traffic_percent": percent, "min_duration_minutes": minutes,
                       "approval_role": parts[3] if len(parts) == 4 else ""})
    guardrails = []
    for number, line in enumerate(_lines(guardrails_text), 1):
        parts = line.split()
        if len(parts) not in (7, 8):
            raise ValidationFailed(f"Guardrail line {number}: write 'metric comparator threshold window_minutes "
                                   "failure_limit sustain_minutes ACTION [stage]'.", field="guardrails")
        try:
            threshold, window, limit, sustain = float(parts[2]), int(parts[3]), int(parts[4]), int(parts[5])
        except ValueError:
            raise ValidationFailed(f"Guardrail line {number}: threshold, window, limit and sustain must be numbers.",
                                   field="guardrails") from None
        guardrails.append({"metric": parts[0], "comparator": parts[1], "threshold": threshold,
                           "window_minutes": window, "failure_limit": limit, "sustain_minutes": sustain,
                           "action": parts[6], "stage": parts[7] if len(parts) == 8 else ""})
    return stages, guardrails


def plan_text(plan) -> tuple[str, str]:
    stages = "\n".join(f"{s.name} {s.traffic_percent:g} {s.min_duration_minutes} {s.approval_role}".rstrip()
                       for s in plan.stages.order_by("position"))
    guardrails = "\n".join(
        f"{g.metric} {g.comparator} {g.threshold:g} {g.window_minutes} {g.failure_limit} {g.sustain_minutes} "
        f"{g.action} {g.stage.name if g.stage_id else ''}".rstrip()
        for g in plan.guardrails.select_related("stage").order_by("pk"))
    return stages, guardrails


@login_required
@require_http_methods(["GET", "POST"])
def plan_edit(request, pk):
    launch = get_object_or_404(LaunchRequest.objects.select_related("plan", "version__model"), pk=pk)
    deny_unless(request.user, "rollout.edit", launch)
    stages_text, guardrails_text = plan_text(launch.plan)
    error = None
    if request.method == "POST":
        stages_text, guardrails_text = request.POST.get("stages", ""), request.POST.get("guardrails", "")
        try:
            stages, guardrails = parse_plan_text(stages_text, guardrails_text)
            rollouts.update_plan(launch, actor=request.user, stages=stages, guardrails=guardrails)
        except DomainError as exc:
            error = exc
        else:
            messages.success(request, "Rollout plan saved.")
            return redirect(f"{launch.get_absolute_url()}#rollout-h")
    return render(request, "readiness/plan_form.html", {"launch": launch, "stages_text": stages_text,
                                                        "guardrails_text": guardrails_text, "error": error})
