"""The rollout controls of the launch page: advance, pause, resume, roll back, and editing the plan."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_http_methods, require_POST

from governance.kernel.errors import DomainError, ValidationFailed
from governance.kernel.reauth import sso_proof
from governance.kernel.web import deny_unless, redirect_to_place, say

from . import rollouts
from .models import LaunchRequest
from .views import post_action


def _control(request, pk, action, success):
    return post_action(request, pk, action, success)


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
    password = request.POST.get("password")
    return _control(request, pk, lambda launch: rollouts.approve_stage(
        launch, actor=request.user, password=password, sso_proof=sso_proof(request), request=request),
        lambda stage: f"Advancing past {stage.name} approved.")


@login_required
@require_POST
def rollback(request, pk):
    reason = request.POST.get("reason", "")
    return _control(request, pk, lambda launch: rollouts.rollback(launch, actor=request.user, reason=reason),
                    lambda result: f"Rolled back. Incident #{result['incident']} opened.")


def _lines(text):
    return [line.strip() for line in (text or "").splitlines() if line.strip() and not line.strip().startswith("#")]


SEGMENT_MARK = "segment="  # last on a guardrail line; the rest of the line is the segment's name


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
        line, marker, segment = line.partition(SEGMENT_MARK)
        if marker and not segment.strip():
            raise ValidationFailed(f"Guardrail line {number}: name the segment after '{SEGMENT_MARK}' (the name its "
                                   "observations are tagged with), or write segment=* for every segment.",
                                   field="guardrails")
        parts = line.split()
        if len(parts) not in (7, 8):
            raise ValidationFailed(f"Guardrail line {number}: write 'metric comparator threshold window_minutes "
                                   "failure_limit sustain_minutes ACTION [stage] [segment=NAME|*]'.",
                                   field="guardrails")
        try:
            threshold, window, limit, sustain = float(parts[2]), int(parts[3]), int(parts[4]), int(parts[5])
        except ValueError:
            raise ValidationFailed(f"Guardrail line {number}: threshold, window, limit and sustain must be numbers.",
                                   field="guardrails") from None
        guardrails.append({"metric": parts[0], "comparator": parts[1], "threshold": threshold,
                           "window_minutes": window, "failure_limit": limit, "sustain_minutes": sustain,
                           "action": parts[6], "stage": parts[7] if len(parts) == 8 else "",
                           "segment": segment.strip()})
    return stages, guardrails


def plan_text(plan) -> tuple[str, str]:
    stages = "\n".join(f"{s.name} {s.traffic_percent:g} {s.min_duration_minutes} {s.approval_role}".rstrip()
                       for s in plan.stages.order_by("position"))
    guardrails = "\n".join(
        " ".join(part for part in (
            f"{g.metric} {g.comparator} {g.threshold:g} {g.window_minutes} {g.failure_limit} {g.sustain_minutes}",
            g.action, g.stage.name if g.stage_id else "", SEGMENT_MARK + g.segment if g.segment else "") if part)
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
            say(request, messages.SUCCESS, "Rollout plan saved.", place="rollout")
            return redirect_to_place(launch.get_absolute_url(), "rollout")
    return render(request, "readiness/plan_form.html", {"launch": launch, "stages_text": stages_text,
                                                        "guardrails_text": guardrails_text, "error": error})
