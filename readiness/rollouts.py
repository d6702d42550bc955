"""Staged rollouts: plans, guardrail evaluation, observations, advancing, and the rollback that opens an incident.

Everything that can change a rollout's state runs under the launch row lock, so an observation batch and the
periodic evaluation racing each other roll back once and open one incident.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.dateparse import parse_datetime

from governance.kernel import audit, clock
from governance.kernel import formatting as fmt
from governance.kernel.errors import Conflict, PermissionDenied, ValidationFailed
from governance.kernel.permissions import has_role, require
from governance.kernel.principals import SystemActor, acting_person, actor_label
from governance.kernel.reauth import confirm_identity
from governance.policies.rules import validate_guardrail, validate_stages
from governance.validation import services as model_risk

from .content import guardrail_content, stage_content
from .guardrails import (
    BREACHED,
    PASSING,
    GuardrailSpec,
    GuardrailState,
    Point,
    evaluate_guardrail,
    evaluate_segments,
    in_segment,
)
from .models import (
    EVERY_SEGMENT,
    Guardrail,
    ItemSource,
    LaunchRequest,
    LaunchStatus,
    Observation,
    RolloutPlan,
    RolloutStage,
    segment_label,
)
from .services import lock, refresh_content, stage_items_open, transition
from .signals import launch_rolled_back, stage_entered

if TYPE_CHECKING:
    from governance.kernel.principals import Actor

logger = logging.getLogger(__name__)

MAX_BATCH = 5000
FUTURE_TOLERANCE = timedelta(minutes=5)
MAX_AGE = timedelta(days=90)


def _plan(launch: LaunchRequest) -> RolloutPlan:
    plan = (RolloutPlan.objects.select_for_update(of=("self",)).filter(launch=launch)
            .select_related("current_stage").first())
    if plan is None:
        raise Conflict("This launch has no rollout plan.", code="no_rollout_plan")
    return plan


# -- plan editing --------------------------------------------------------------------------------------------

def _link_stage_items(launch: LaunchRequest, names: list[str], *, actor: Actor) -> None:
    """A template item attests the stage its policy names when the plan has a stage of that name; when the plan has
    none, it is an ordinary pre-flight item (attested, or waived, before approval). Re-derived from the policy at
    every plan change, so a stage put back is attested again; every change of link is audited."""
    wanted = {spec["key"]: spec.get("stage", "") for spec in launch.policy_version.content.get("checklist", [])}
    for item in launch.items.filter(source=ItemSource.TEMPLATE, key__in=list(wanted)):
        stage = wanted[item.key] if wanted[item.key] in names else ""
        if item.stage != stage:
            audit.record("checklist.stage_linked", item, actor=actor, before={"stage": item.stage},
                         after={"stage": stage, "launch": launch.pk})
            item.stage = stage
            item.save(update_fields=["stage"])


def update_plan(launch: LaunchRequest, *, actor: Actor, stages: list[dict[str, Any]],
                guardrails: list[dict[str, Any]]) -> RolloutPlan:
    """Replace the plan's stages and guardrails. Only before approval; a change stales signatures."""
    require(actor, "rollout.edit", launch)
    with transaction.atomic():
        launch = lock(launch)
        if launch.status not in (LaunchStatus.DRAFT, LaunchStatus.IN_REVIEW):
            raise Conflict(f"The rollout plan is fixed once the launch is {launch.get_status_display().lower()}.",
                           code="launch_frozen")
        policy = launch.policy_version.content.get("rollout", {})
        stages = validate_stages(stages, tier=launch.tier, min_shadow_minutes=policy.get("min_shadow_minutes", 0))
        names = [s["name"] for s in stages]
        guardrails = [validate_guardrail(g, stage_names=names, field=f"guardrails[{i}]")
                      for i, g in enumerate(guardrails)]
        plan = _plan(launch)
        before = _plan_snapshot(plan)
        _link_stage_items(launch, names, actor=actor)
        plan.guardrails.all().delete()
        plan.current_stage = None
        plan.save(update_fields=["current_stage"])
        plan.stages.all().delete()
        by_name = {}
        for position, spec in enumerate(stages):
            by_name[spec["name"]] = RolloutStage.objects.create(plan=plan, position=position, **spec)
        for spec in guardrails:
            Guardrail.objects.create(plan=plan, stage=by_name.get(spec.pop("stage") or ""), **spec)
        after = _plan_snapshot(plan)
        if after != before:
            audit.record("rollout.plan_updated", plan, actor=actor, before=before, after={**after, "launch": launch.pk})
            refresh_content(launch, actor=actor, reason="rollout plan changed")
    return plan


def _plan_snapshot(plan: RolloutPlan) -> dict[str, Any]:
    return {"stages": [stage_content(s) for s in plan.stages.order_by("position")],
            "guardrails": [guardrail_content(g) for g in plan.guardrails.select_related("stage").order_by("pk")]}


# -- guardrails ----------------------------------------------------------------------------------------------

def spec_of(guardrail: Guardrail) -> GuardrailSpec:
    return GuardrailSpec(metric=guardrail.metric, comparator=guardrail.comparator, threshold=guardrail.threshold,
                         window_seconds=guardrail.window_minutes * 60, failure_limit=guardrail.failure_limit,
                         sustain_seconds=guardrail.sustain_minutes * 60)


def active_guardrails(plan: RolloutPlan) -> list[Guardrail]:
    """Guardrails that watch the current stage: plan-wide ones and the stage's own."""
    stage_id = plan.current_stage_id
    return [g for g in plan.guardrails.select_related("stage").order_by("pk")
            if g.stage_id is None or g.stage_id == stage_id]


def _states(launch: LaunchRequest, plan: RolloutPlan, guardrails: list[Guardrail], now: datetime
            ) -> dict[int, GuardrailState]:
    if not guardrails:
        return {}
    since = now - timedelta(minutes=max(g.window_minutes for g in guardrails))
    if plan.stage_entered_at is not None and plan.stage_entered_at > since:
        since = plan.stage_entered_at  # what was observed before the stage began says nothing about it
    observations = Observation.objects.filter(launch=launch, metric__in={g.metric for g in guardrails},
                                              observed_at__gte=since, observed_at__lte=now)
    segments = {g.segment for g in guardrails}
    if EVERY_SEGMENT not in segments:  # only the segments some guardrail watches ("" is the untagged ones)
        observations = observations.filter(segment__in=segments)
    points: dict[tuple[str, str], list[Point]] = {}
    for metric, segment, at, value in observations.values_list("metric", "segment", "observed_at", "value"):
        points.setdefault((metric, segment), []).append(Point(observed_at=at, value=value))
    return {g.pk: _state(g, points, now) for g in guardrails}


def _state(guardrail: Guardrail, points: dict[tuple[str, str], list[Point]], now: datetime) -> GuardrailState:
    spec = spec_of(guardrail)
    if guardrail.segment == EVERY_SEGMENT:
        return evaluate_segments(spec, {segment: seen for (metric, segment), seen in points.items()
                                        if metric == guardrail.metric and segment}, now=now)
    state = evaluate_guardrail(spec, points.get((guardrail.metric, guardrail.segment), []), now=now)
    return in_segment(state, guardrail.segment) if guardrail.segment else state


def _evaluate_locked(launch: LaunchRequest, plan: RolloutPlan, *, now: datetime, actor: Actor,
                     trigger: str) -> list[dict[str, Any]]:
    """Compute every active guardrail's state and act on breaches. Returns the actions taken."""
    guardrails = active_guardrails(plan)
    states = _states(launch, plan, guardrails, now)
    actions = []
    previous = {guardrail.pk: guardrail.state for guardrail in guardrails}
    changed = []
    for guardrail in guardrails:
        state, was = states[guardrail.pk], previous[guardrail.pk]
        detail = state.as_dict()
        if state.state != was or detail != guardrail.state_detail:
            changed.append(guardrail)
        guardrail.state, guardrail.state_detail, guardrail.evaluated_at = state.state, detail, now
        if state.state != was:
            audit.record("guardrail.state_changed", guardrail, actor=actor, before={"state": was},
                         after={"state": state.state, "detail": state.detail, "launch": launch.pk})
    # The periodic evaluation visits every rollout in progress, and between observations most guardrails read
    # the same: those get only their evaluation time, all in one UPDATE; the changed ones are written in another.
    if changed:
        Guardrail.objects.bulk_update(changed, ["state", "state_detail", "evaluated_at"])
    unchanged = {g.pk for g in guardrails} - {g.pk for g in changed}
    if unchanged:
        Guardrail.objects.filter(pk__in=unchanged).update(evaluated_at=now)
    for guardrail in guardrails:
        state, was = states[guardrail.pk], previous[guardrail.pk]
        if state.state != BREACHED or launch.status != LaunchStatus.ROLLING_OUT:
            continue
        if was != BREACHED:  # a breach asks for the model's revalidation, once per guardrail
            model_risk.trigger_guardrail_breach(launch.version.model, actor=actor, guardrail_id=guardrail.pk,
                                                launch_id=launch.pk, metric=guardrail.metric)
        if guardrail.action == Guardrail.Action.ROLLBACK:
            rollback = _rollback_locked(launch, actor=actor, now=now, trigger=trigger, guardrail=guardrail,
                                        reason=f"Guardrail breached: {guardrail} — {state.detail}",
                                        segment=state.segment)
            actions.append({"action": "ROLLBACK", "guardrail": guardrail.pk, "incident": rollback["incident"]})
            break
        if guardrail.action == Guardrail.Action.PAUSE and not plan.paused:
            plan.paused, plan.paused_reason = True, f"{guardrail}: {state.detail}"[:300]
            plan.save(update_fields=["paused", "paused_reason"])
            audit.record("rollout.paused", plan, actor=actor, after={"reason": plan.paused_reason,
                                                                     "launch": launch.pk})
            actions.append({"action": "PAUSE", "guardrail": guardrail.pk})
        elif guardrail.action == Guardrail.Action.ALERT and was != BREACHED:
            _notify(launch, "guardrail_alert", f"Guardrail breached: {guardrail} — {state.detail}")
            actions.append({"action": "ALERT", "guardrail": guardrail.pk})
    return actions


def _notify(launch: LaunchRequest, event: str, detail: str) -> None:
    from .notifications import notify_launch_people_task as notify_launch_people

    launch_id = launch.pk
    transaction.on_commit(lambda: notify_launch_people.delay(launch_id, event, detail))


# -- observations --------------------------------------------------------------------------------------------

def _parse_time(value: object, field: str) -> datetime:
    parsed: datetime | None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        parsed = parse_datetime(value.strip())
    else:
        parsed = None
    if parsed is None:
        raise ValidationFailed("observed_at must be an ISO-8601 time, e.g. 2026-05-01T12:00:00Z.", field=field)
    if parsed.tzinfo is None:
        raise ValidationFailed("observed_at needs a time zone (e.g. a trailing Z).", field=field)
    return parsed


# Decision volume: a scoring service may post how many decisions it made in each interval, watched by no
# guardrail, so that an incident's decisions affected can be counted from data (postmortems.obligations).
DECISIONS_METRIC = "decisions"


def validate_batch(launch: LaunchRequest, batch: object, *, now: datetime) -> list[dict[str, Any]]:
    if not isinstance(batch, list) or not batch:
        raise ValidationFailed("Send a non-empty list of observations.", field="observations")
    if len(batch) > MAX_BATCH:
        raise ValidationFailed(f"At most {MAX_BATCH} observations per batch.", field="observations")
    known = set(launch.plan.guardrails.values_list("metric", flat=True)) | {DECISIONS_METRIC}
    # An observation counts for the stage that is running; one stamped before that stage began is not about it
    # (a replay from an earlier stage, or from before the rollout), and is refused rather than counted.
    stage_began = launch.plan.stage_entered_at
    current = launch.plan.current_stage
    stage_name = current.name if current is not None else ""
    rows, seen = [], set()
    for index, entry in enumerate(batch):
        where = f"observations[{index}]"
        if not isinstance(entry, dict):
            raise ValidationFailed("Each observation is an object with metric, value and observed_at.", field=where)
        unknown = set(entry) - {"metric", "value", "observed_at", "segment"}
        if unknown:
            raise ValidationFailed(f"Unknown field {sorted(unknown)[0]!r}.", field=f"{where}.{sorted(unknown)[0]}")
        metric = entry.get("metric")
        if not isinstance(metric, str) or metric not in known:
            raise ValidationFailed(
                f"Unknown metric {str(metric)[:60]!r}: no guardrail of this rollout watches it "
                f"(watched: {', '.join(sorted(known)) or 'none'}).", field=f"{where}.metric")
        value = entry.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValidationFailed("value must be a finite number.", field=f"{where}.value")
        observed_at = _parse_time(entry.get("observed_at"), f"{where}.observed_at")
        if observed_at > now + FUTURE_TOLERANCE:
            raise ValidationFailed("observed_at is in the future; check the sender's clock.",
                                   field=f"{where}.observed_at")
        if observed_at < now - MAX_AGE:
            raise ValidationFailed("observed_at is more than 90 days old.", field=f"{where}.observed_at")
        if stage_began is not None and observed_at < stage_began:
            raise ValidationFailed(
                f"observed_at {fmt.moment(observed_at, 'j M Y H:i:s')} is before stage {stage_name} began "
                f"({fmt.moment(stage_began, 'j M Y H:i:s')}); observations count only for the stage that is "
                "running, so none in this batch was recorded.", field=f"{where}.observed_at",
                code="outside_stage_window")
        segment = entry.get("segment") or ""
        if not isinstance(segment, str) or len(segment) > 100:
            raise ValidationFailed("segment is text of at most 100 characters.", field=f"{where}.segment")
        key = (metric, observed_at, segment)
        if key in seen:
            continue
        seen.add(key)
        rows.append({"metric": metric, "value": float(value), "observed_at": observed_at, "segment": segment})
    return rows


def record_observations(launch: LaunchRequest, *, actor: Actor, batch: object, now: datetime | None = None
                        ) -> dict[str, Any]:
    """Store a batch (idempotent per metric, time and segment), then evaluate the guardrails and act."""
    require(actor, "observation.submit", launch)
    now = now or clock.now()
    with transaction.atomic():
        launch = lock(launch)
        if launch.status != LaunchStatus.ROLLING_OUT:
            raise Conflict(f"Observations are accepted only while rolling out; this launch is "
                           f"{launch.get_status_display().lower()}.", code="not_rolling_out")
        rows = validate_batch(launch, batch, now=now)
        plan = _plan(launch)
        existing = set(Observation.objects.filter(
            launch=launch, metric__in={r["metric"] for r in rows},
            observed_at__in={r["observed_at"] for r in rows}).values_list("metric", "observed_at", "segment"))
        received_at = clock.now()
        fresh = [Observation(launch=launch, stage_name=plan.current_stage.name if plan.current_stage else "",
                             received_at=received_at, **r)
                 for r in rows if (r["metric"], r["observed_at"], r["segment"]) not in existing]
        Observation.objects.bulk_create(fresh, ignore_conflicts=True)
        if fresh:
            audit.record("observations.recorded", launch, actor=actor,
                         after={"count": len(fresh), "duplicates": len(rows) - len(fresh),
                                "metrics": sorted({o.metric for o in fresh})})
        actions = _evaluate_locked(launch, plan, now=now, actor=actor, trigger=f"observations from "
                                                                                 f"{actor_label(actor)}")
        launch.refresh_from_db(fields=["status"])
        return {"accepted": len(fresh), "duplicates": len(rows) - len(fresh), "status": launch.status,
                "guardrails": guardrail_states(plan), "actions": actions}


def guardrail_states(plan: RolloutPlan) -> list[dict[str, Any]]:
    return [{"id": g.pk, "metric": g.metric, "comparator": g.comparator, "threshold": g.threshold,
             "action": g.action, "stage": g.stage.name if g.stage else None, "segment": g.segment, "state": g.state,
             "detail": (g.state_detail or {}).get("detail", ""),
             "breached_segment": (g.state_detail or {}).get("segment", "") if g.state == BREACHED else ""}
            for g in plan.guardrails.select_related("stage").order_by("pk")]


# -- stage control ------------------------------------------------------------------------------------------

def start_rollout(launch: LaunchRequest, *, actor: Actor, now: datetime | None = None) -> LaunchRequest:
    require(actor, "rollout.advance", launch)
    now = now or clock.now()
    with transaction.atomic():
        launch = lock(launch)
        plan = _plan(launch)
        first = plan.stages.order_by("position").first()
        if first is None:
            raise Conflict("The rollout plan has no stages.", code="no_stages")
        transition(launch, LaunchStatus.ROLLING_OUT, actor=actor, reason=f"entering stage {first.name}", at=now)
        _enter(plan, first, now)
        audit.record("rollout.stage_entered", plan, actor=actor,
                     after={"stage": first.name, "traffic_percent": first.traffic_percent, "launch": launch.pk})
        stage_entered.send(sender=LaunchRequest, launch=launch, stage=first, previous=None, actor=actor, at=now)
    return launch


def advance_rollout(launch: LaunchRequest, *, actor: Actor, now: datetime | None = None) -> dict[str, Any]:
    """One request moves a launch on: an approved launch enters its first stage, a rollout in progress goes to
    the next stage (or LAUNCHED) when ``advance`` allows it."""
    if launch.status == LaunchStatus.APPROVED:
        launch = start_rollout(launch, actor=actor, now=now)
        launch.refresh_from_db()
        stage = launch.plan.current_stage
        assert stage is not None  # start_rollout entered the first stage
        return {"status": launch.status, "stage": stage.name, "actions": []}
    return advance(launch, actor=actor, now=now)


def _enter(plan: RolloutPlan, stage: RolloutStage, now: datetime) -> None:
    plan.current_stage, plan.stage_entered_at, plan.paused, plan.paused_reason = stage, now, False, ""
    plan.save(update_fields=["current_stage", "stage_entered_at", "paused", "paused_reason"])
    stage.entered_at = now
    stage.save(update_fields=["entered_at"])
    # a new stage starts with fresh guardrail states: nothing is known about it yet
    Guardrail.objects.filter(plan=plan).update(state=Guardrail.State.INSUFFICIENT_DATA, state_detail=None)


def approve_stage(launch: LaunchRequest, *, actor: Actor, password: str | None = None,
                  sso_proof: dict[str, Any] | None = None, request: HttpRequest | None = None) -> RolloutStage:
    """The named role approves advancing past the current stage (e.g. Compliance after the shadow). It lets the
    model reach more traffic, so the approver confirms who they are as a signer does (password or a fresh
    identity-provider authentication)."""
    require(actor, "rollout.approve_stage", launch)
    confirmation = confirm_identity(acting_person(actor), password=password, proof=sso_proof, request=request)
    with transaction.atomic():
        launch = lock(launch)
        plan = _plan(launch)
        stage = plan.current_stage
        if launch.status != LaunchStatus.ROLLING_OUT or stage is None:
            raise Conflict("Only a stage of a rollout in progress can be approved.", code="not_rolling_out")
        if not stage.approval_role:
            raise Conflict(f"Stage {stage.name} needs no approval.", code="no_approval_needed")
        if not has_role(actor, stage.approval_role):
            raise PermissionDenied(f"Advancing past {stage.name} needs the {stage.approval_role} role.", code="role_not_held")
        if stage.approved_by_id:
            raise Conflict(f"Stage {stage.name} is already approved.", code="already_approved")
        stage.approved_by, stage.approved_at = acting_person(actor), clock.now()
        stage.save(update_fields=["approved_by", "approved_at"])
        audit.record("rollout.stage_approved", stage, actor=actor, after={
            "stage": stage.name, "launch": launch.pk, **(confirmation.as_audit() if confirmation else {})})
    return stage


def advance_blockers(plan: RolloutPlan, guardrails: Iterable[Guardrail], now: datetime) -> list[str]:
    """Why the current stage may not be left now (empty when it may), from freshly evaluated guardrails: one
    short sentence per reason, in words a signer reads (durations in days and hours, roles by name)."""
    stage = plan.current_stage
    assert stage is not None  # asked only of a rollout in progress, which is always in a stage
    blockers = []
    elapsed = now - (plan.stage_entered_at or now)
    needed = timedelta(minutes=stage.min_duration_minutes)
    if elapsed < needed:
        remaining = timedelta(minutes=math.ceil((needed - elapsed).total_seconds() / 60))
        blockers.append(f"Stage {stage.name} must run at least {fmt.minutes(stage.min_duration_minutes)}; "
                        f"{fmt.duration(remaining)} to go.")
    for guardrail in guardrails:
        if guardrail.state != PASSING:
            detail = (guardrail.state_detail or {}).get("detail") or "no observations yet"
            rule = fmt.rule(guardrail.metric, guardrail.comparator, guardrail.threshold) + segment_label(
                guardrail.segment)
            blockers.append(f"Guardrail {rule} is {fmt.status(guardrail.state).lower()}: {detail.rstrip('.')}.")
    for item in stage_items_open(plan.launch_id, stage.name, now):
        blockers.append(f"Checklist item “{item.title}” attests the result of {stage.name} and has not passed.")
    if stage.approval_role and not stage.approved_by_id:
        blockers.append(f"Leaving {stage.name} needs approval by {fmt.role(stage.approval_role)}.")
    if plan.paused:
        blockers.append(f"The rollout is paused: {plan.paused_reason.rstrip('.')}.")
    return blockers


def advance(launch: LaunchRequest, *, actor: Actor, now: datetime | None = None) -> dict[str, Any]:
    """Move to the next stage when the minimum duration has elapsed, every guardrail of the current stage is
    PASSING (not merely not breached) and any required approval is given. Past the last stage, LAUNCHED."""
    require(actor, "rollout.advance", launch)
    now = now or clock.now()
    with transaction.atomic():
        launch = lock(launch)
        if launch.status != LaunchStatus.ROLLING_OUT:
            raise Conflict(f"Only a rollout in progress can advance; this launch is "
                           f"{launch.get_status_display().lower()}.", code="not_rolling_out")
        plan = _plan(launch)
        actions = _evaluate_locked(launch, plan, now=now, actor=actor, trigger="advance request")
        if launch.status != LaunchStatus.ROLLING_OUT:
            raise Conflict("A guardrail breach rolled the launch back instead.", code="rolled_back")
        blockers = advance_blockers(plan, active_guardrails(plan), now)
        if blockers:
            raise Conflict("The rollout cannot advance yet. " + " ".join(blockers), code="advance_refused")
        stages = list(plan.stages.order_by("position"))
        current = plan.current_stage
        assert current is not None  # advance_blockers found the rollout in a stage
        current.completed_at = now
        current.save(update_fields=["completed_at"])
        following = [s for s in stages if s.position > current.position]
        if not following:
            transition(launch, LaunchStatus.LAUNCHED, actor=actor, at=now,
                       reason=f"final stage {current.name} held its guardrails for its full duration")
            return {"status": launch.status, "stage": current.name, "actions": actions}
        nxt = following[0]
        _enter(plan, nxt, now)
        audit.record("rollout.stage_entered", plan, actor=actor, before={"stage": current.name},
                     after={"stage": nxt.name, "traffic_percent": nxt.traffic_percent, "launch": launch.pk})
        stage_entered.send(sender=LaunchRequest, launch=launch, stage=nxt, previous=current, actor=actor, at=now)
        return {"status": launch.status, "stage": nxt.name, "actions": actions}


# -- rollback ------------------------------------------------------------------------------------------------

def _rollback_locked(launch: LaunchRequest, *, actor: Actor, now: datetime, reason: str, trigger: str,
                     guardrail: Guardrail | None = None, segment: str = "") -> dict[str, Any]:
    """Roll a locked launch back, open its incident, tell its people. Called at most once per launch: the
    status check under the lock makes a second caller a no-op."""
    if launch.status == LaunchStatus.ROLLED_BACK:
        return {"incident": None, "already": True}
    # The incident first, so that the audit event carrying the reason names it as its source: the reason is
    # that incident's content, and follows its visibility if it is restricted later.
    spec = _incident_spec(launch, actor=actor, now=now, reason=reason, trigger=trigger, guardrail=guardrail,
                          segment=segment)
    answers: list[tuple[Callable[..., Any], Any]] = launch_rolled_back.send(
        sender=LaunchRequest, launch=launch, actor=actor, reason=reason, at=now, incident=spec,
        exposure_percent=_exposure_percent(launch))
    # The postmortems app answers with the incident it opened; other receivers (the registry) answer nothing.
    incident = next((answer for _receiver, answer in answers if getattr(answer, "pk", None)), None)
    transition(launch, LaunchStatus.ROLLED_BACK, actor=actor, reason=reason, at=now, source_incident=incident)
    launch.rollback_reason, launch.rolled_back_by = reason[:2000], actor_label(actor)
    launch.save(update_fields=["rollback_reason", "rolled_back_by"])
    opened = f"\nIncident #{incident.pk} was opened." if incident is not None else ""
    _notify(launch, "rolled_back", f"{reason}{opened}")
    return {"incident": incident.pk if incident is not None else None, "already": False}


def _exposure_percent(launch: LaunchRequest) -> float | None:
    """The share of traffic the launch had when it was rolled back (None when its plan has no current stage)."""
    plan = RolloutPlan.objects.filter(launch=launch).select_related("current_stage").first()
    stage = plan.current_stage if plan is not None else None
    return stage.traffic_percent if stage is not None else None


def _incident_spec(launch: LaunchRequest, *, actor: Actor, now: datetime, reason: str, trigger: str,
                   guardrail: Guardrail | None, segment: str = "") -> dict[str, Any]:
    """The incident a rollback calls for: it began when the guardrail's metric started breaching (or now, for
    the kill switch), was detected when Gatehouse acted, and carries the evidence on its timeline. The incident
    itself is opened by whoever receives ``launch_rolled_back`` (the postmortems app), in this transaction."""
    timeline = []
    if launch.rollout_started_at:
        timeline.append({"at": launch.rollout_started_at, "kind": "OTHER",
                         "text": f"Rollout of {launch.version} started."})
    began = now
    if guardrail is not None:
        spec = spec_of(guardrail)
        since = now - timedelta(seconds=spec.window_seconds)
        evidence = list(Observation.objects.filter(launch=launch, metric=guardrail.metric, segment=segment,
                                                   observed_at__gte=since, observed_at__lte=now)
                        .order_by("observed_at"))
        run = []
        for observation in reversed(evidence):
            if spec.healthy(observation.value):
                break
            run.append(observation)
        run.reverse()
        began = run[0].observed_at if run else now
        values = ", ".join(f"{o.value:g} at {o.observed_at:%H:%M}" for o in run[-20:])
        where = f" in segment {segment}" if segment else ""
        timeline.append({"at": began, "kind": "DETECTION",
                         "text": f"Guardrail {guardrail} started breaching{where}. Observations: {values}."})
        timeline.append({"at": now, "kind": "MITIGATION",
                         "text": f"Gatehouse rolled the launch back automatically ({trigger}): {reason}"})
    else:
        timeline.append({"at": now, "kind": "MITIGATION",
                         "text": f"Launch rolled back by {actor_label(actor)} with the kill switch: {reason}"})
    return dict(
        actor=actor if getattr(actor, "pk", None) else SystemActor("rollback"),
        title=f"Rollback of {launch.version.model.name} {launch.version.version}",
        detection_source="ALERT" if guardrail is not None else "OTHER",
        began_at=began, detected_at=now, summary=reason, launch=launch, models=[launch.version.model],
        timeline=timeline,
        fair_lending="air" in (guardrail.metric if guardrail else "") and launch.tier == "TIER_1",
    )


def rollback(launch: LaunchRequest, *, actor: Actor, reason: str, now: datetime | None = None) -> dict[str, Any]:
    """The manual kill switch: roll back now, with a reason, and open an incident."""
    require(actor, "rollout.rollback", launch)
    if not (reason or "").strip():
        raise ValidationFailed("Say why you are rolling back.", field="reason")
    now = now or clock.now()
    with transaction.atomic():
        launch = lock(launch)
        if launch.status not in (LaunchStatus.ROLLING_OUT, LaunchStatus.LAUNCHED):
            if launch.status == LaunchStatus.ROLLED_BACK:
                raise Conflict("This launch is already rolled back.", code="already_rolled_back")
            raise Conflict(f"Only a launch that is rolling out or launched can be rolled back; this one is "
                           f"{launch.get_status_display().lower()}.", code="not_rolling_out")
        return _rollback_locked(launch, actor=actor, now=now, reason=reason.strip(), trigger="kill switch")


# -- periodic evaluation ---------------------------------------------------------------------------------

def evaluate_rollouts(*, now: datetime | None = None) -> dict[str, Any]:
    """Re-evaluate every rollout in progress: stale data becomes INSUFFICIENT_DATA, breaches are acted on, and a
    final stage that held its guardrails for its full duration completes the launch. Safe to run concurrently
    with incoming observations: each launch is handled under its row lock.

    Each launch is evaluated in its own transaction and isolated from the others: one that raises is rolled
    back, logged with its id, recorded on its plan and counted; the others are still evaluated, and the next
    run retries it and reports whether it recovered."""
    now = now or clock.now()
    actor = SystemActor("evaluate_rollouts")
    summary: dict[str, Any] = {"evaluated": 0, "rolled_back": 0, "launched": 0, "paused": 0, "failed": 0, "failed_launches": [],
               "retried": 0, "recovered": 0}
    previously_failed = set(RolloutPlan.objects.filter(launch__status=LaunchStatus.ROLLING_OUT)
                            .exclude(evaluation_error="").values_list("launch_id", flat=True))
    for launch_id in LaunchRequest.objects.filter(status=LaunchStatus.ROLLING_OUT).order_by("pk").values_list("pk", flat=True):
        retry = launch_id in previously_failed
        summary["retried"] += retry
        try:
            _evaluate_one(launch_id, now=now, actor=actor, summary=summary)
        except Exception as exc:  # noqa: BLE001 - one bad rollout must not stop the evaluation of the others
            logger.exception("Periodic evaluation of launch %s failed", launch_id)
            summary["failed"] += 1
            summary["failed_launches"].append(launch_id)
            RolloutPlan.objects.filter(launch_id=launch_id).update(
                evaluation_error=f"{type(exc).__name__}: {exc}"[:500], evaluation_failed_at=now)
        else:
            if retry:
                summary["recovered"] += 1
                RolloutPlan.objects.filter(launch_id=launch_id).update(evaluation_error="",
                                                                        evaluation_failed_at=None)
    return summary


def _evaluate_one(launch_id: int, *, now: datetime, actor: Actor, summary: dict[str, Any]) -> None:
    with transaction.atomic():
        # No joins: the related rows are read only on a rollback or a completion, rare next to the hundreds of
        # rollouts checked each run (2.5 ms to 0.6 ms a rollout).
        launch = lock(LaunchRequest(pk=launch_id), joins=())
        if launch.status != LaunchStatus.ROLLING_OUT:
            return
        plan = _plan(launch)
        actions = _evaluate_locked(launch, plan, now=now, actor=actor, trigger="periodic evaluation")
        summary["evaluated"] += 1
        summary["rolled_back"] += sum(a["action"] == "ROLLBACK" for a in actions)
        summary["paused"] += sum(a["action"] == "PAUSE" for a in actions)
        if launch.status != LaunchStatus.ROLLING_OUT or plan.current_stage is None:
            return
        is_last = not plan.stages.filter(position__gt=plan.current_stage.position).exists()
        if is_last and plan.current_stage.traffic_percent >= 100:
            if not advance_blockers(plan, active_guardrails(plan), now):
                plan.current_stage.completed_at = now
                plan.current_stage.save(update_fields=["completed_at"])
                transition(launch, LaunchStatus.LAUNCHED, actor=actor, at=now,
                           reason="final stage held its guardrails for its full duration")
                summary["launched"] += 1
