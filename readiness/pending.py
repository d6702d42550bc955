"""Pending human decisions: what an INCONCLUSIVE gate decision becomes when a deploy tool asks.

A deploy tool that meets a deny whose every reason is an inconclusive blocking check does not abort: the question
goes to a person in a named role (per tier, ``GATE_PENDING_DECISION_ROLES``; Model Risk by default) with a deadline
(``GATE_PENDING_DECISION_HOURS``). That person allows the stage for the launch's current content hash, or denies
it, after confirming who they are as for a signature; every waiting tool reads the answer on its next poll or
callback, because the gate reads it (``apply``). Past the deadline the decision is a deny and is escalated.
This module never imports the gate (the gate imports it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from governance.kernel import audit, clock
from governance.kernel.errors import Conflict, PermissionDenied, ValidationFailed
from governance.kernel.permissions import has_role
from governance.kernel.principals import SystemActor
from governance.kernel.reauth import confirm_identity
from governance.kernel.roles import Role
from governance.models import User

from . import signals
from .models import LaunchRequest, PendingDecision, PendingStatus

if TYPE_CHECKING:
    from governance.kernel.principals import Actor

# The gate's reasons a person may settle; any other reason is a deny no person overrides here.
INCONCLUSIVE_CODES = frozenset({"blocking_check_inconclusive", "pending_decision"})
# An inconclusive blocking item keeps a fully signed launch in review, so the gate also says ``not_approved``:
# that reason follows from the inconclusive item and is settled with it (a missing signature has its own code).
FOLLOWS_FROM_INCONCLUSIVE = frozenset({"not_approved"})
DEFAULT_ROLE = Role.MODEL_RISK


def is_inconclusive(reasons: list[dict[str, str]]) -> bool:
    """A deny whose every reason is an inconclusive check, a decision still waiting for a person, or the lack of
    approval that follows from them."""
    codes = {r["code"] for r in reasons}
    return bool(codes & INCONCLUSIVE_CODES) and codes <= INCONCLUSIVE_CODES | FOLLOWS_FROM_INCONCLUSIVE


def role_for_tier(tier: str) -> str:
    roles: dict[str, str] = getattr(settings, "GATE_PENDING_DECISION_ROLES", {}) or {}
    return roles.get(tier, DEFAULT_ROLE)


def _summary(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": row["pk"], "status": row["status"], "role": row["role"],
            "deadline": row["deadline"].isoformat() if row["deadline"] else None}


def apply(verdict: dict[str, Any], *, launch_id: int, stage: str, content_hash: str, now: datetime) -> None:
    """Fold the person's decision for this stage and content hash into an inconclusive verdict (one query, only
    on the inconclusive path). Allowed: the inconclusive reasons are settled. Denied or past the deadline: a deny
    no poll can turn into an allow. Waiting: one more inconclusive reason, ``pending_decision``."""
    reasons = verdict["reasons"]
    row = (PendingDecision.objects.filter(launch_id=launch_id, stage=stage, content_hash=content_hash)
           .values("pk", "status", "role", "deadline").first())
    if row is None:
        return
    status = row["status"]
    if status == PendingStatus.PENDING and row["deadline"] <= now:
        status = row["status"] = PendingStatus.EXPIRED
    verdict["pending_decision"] = _summary(row)
    role = Role(row["role"]).label
    if status == PendingStatus.ALLOWED:
        reasons.clear()
    elif status == PendingStatus.DENIED:
        reasons.append({"code": "denied_by_person", "detail": f"{role} denied this stage for this content."})
    elif status == PendingStatus.EXPIRED:
        reasons.append({"code": "pending_decision_expired",
                        "detail": f"No {role} decision came before the deadline; denied and escalated."})
    else:
        reasons.append({"code": "pending_decision",
                        "detail": f"Waiting for a {role} decision until {row['deadline']:%Y-%m-%d %H:%M} UTC."})


def open_decision(launch_id: int, *, stage: str, content_hash: str, reasons: list[dict[str, str]],
                  tool: str) -> dict[str, Any]:
    """Hand an inconclusive decision to a person (idempotent: the first tool to ask opens it, later ones find it).
    Gatehouse acts here, on a tool's behalf: the tool may ask the gate, and asking is what opens the question."""
    existing = (PendingDecision.objects.filter(launch_id=launch_id, stage=stage, content_hash=content_hash)
                .values("pk", "status", "role", "deadline").first())
    if existing is not None:
        return _summary(existing)
    launch = LaunchRequest.objects.select_related("version__model").get(pk=launch_id)
    now = clock.now()
    role = role_for_tier(launch.tier)
    try:
        with transaction.atomic():
            pending = PendingDecision.objects.create(
                launch=launch, stage=stage, content_hash=content_hash, role=role,
                reasons=[{"code": r["code"], "detail": r["detail"]} for r in reasons], opened_by_tool=tool,
                opened_at=now, deadline=now + timedelta(hours=settings.GATE_PENDING_DECISION_HOURS))
            audit.record("gate.decision_pending", pending, actor=SystemActor(tool), after={
                "launch": launch.pk, "stage": stage, "content_hash": content_hash, "role": role,
                "deadline": pending.deadline, "reasons": [r["code"] for r in reasons]})
    except IntegrityError:  # another tool opened it a moment ago
        row = (PendingDecision.objects.filter(launch_id=launch_id, stage=stage, content_hash=content_hash)
               .values("pk", "status", "role", "deadline").get())
        return _summary(row)
    return _summary({"pk": pending.pk, "status": pending.status, "role": role, "deadline": pending.deadline})


def decide(pending: PendingDecision, *, actor: Actor, allow: bool, comment: str = "", password: str | None = None,
           sso_proof: dict[str, Any] | None = None, request: HttpRequest | None = None) -> PendingDecision:
    """A person in the routed role allows this stage for the content hash the question was about, or denies it.
    It is signed like a sign-off (password or fresh identity-provider authentication); the author of the launch
    may not decide on it (separation of duties); a question decided, past its deadline, or about content that has
    since changed cannot be decided."""
    if not isinstance(actor, User):
        raise PermissionDenied("Pending decisions are decided by people, not tokens.", code="person_required")
    comment = (comment or "").strip()
    if not allow and not comment:
        raise ValidationFailed("Say why you deny this stage.", field="comment")
    if not has_role(actor, pending.role):
        raise PermissionDenied(f"This decision is routed to {Role(pending.role).label}.", code="role_not_held")
    confirmation = confirm_identity(actor, password=password, proof=sso_proof, request=request)
    with transaction.atomic():
        pending = PendingDecision.objects.select_for_update().select_related("launch").get(pk=pending.pk)
        launch = pending.launch
        if launch.author_id == actor.pk:
            raise PermissionDenied("The author of a launch cannot decide on it: separation of duties.",
                                   code="separation_of_duties")
        if pending.status != PendingStatus.PENDING:
            raise Conflict(f"This decision is already {pending.get_status_display().lower()}.", code="already_decided")
        now = clock.now()
        if pending.deadline <= now:
            raise Conflict("The deadline has passed: the stage is denied and the decision escalated.",
                           code="deadline_passed")
        if launch.content_hash != pending.content_hash:
            raise Conflict("The launch changed since this question was asked; the gate will ask again about the "
                           "current content.", code="content_changed")
        pending.status = PendingStatus.ALLOWED if allow else PendingStatus.DENIED
        pending.decided_by, pending.decided_at, pending.comment = actor, now, comment
        pending.save(update_fields=["status", "decided_by", "decided_at", "comment"])
        audit.record("gate.decision_made", pending, actor=actor, after={
            "launch": launch.pk, "stage": pending.stage, "content_hash": pending.content_hash,
            "status": pending.status, "comment": comment, **(confirmation.as_audit() if confirmation else {})})
        launch_id, stage = launch.pk, pending.stage
        transaction.on_commit(lambda: signals.pending_decision_decided.send(
            sender=PendingDecision, launch_id=launch_id, stage=stage))
    return pending


def expire_overdue(*, now: datetime | None = None) -> int:
    """Deny and escalate every question past its deadline, one at a time (one failure does not stop the rest).
    The gate already denies an overdue question when asked; this records it and tells the launch's people."""
    from . import notifications

    now = now or clock.now()
    expired = 0
    for pk in PendingDecision.objects.filter(status=PendingStatus.PENDING, deadline__lte=now).values_list("pk", flat=True):
        with transaction.atomic():
            pending = (PendingDecision.objects.select_for_update().filter(pk=pk, status=PendingStatus.PENDING)
                       .select_related("launch").first())
            if pending is None:
                continue
            pending.status, pending.escalated_at = PendingStatus.EXPIRED, now
            pending.save(update_fields=["status", "escalated_at"])
            audit.record("gate.decision_expired", pending, actor=SystemActor("pending-decisions"), after={
                "launch": pending.launch_id, "stage": pending.stage, "role": pending.role,
                "deadline": pending.deadline, "escalated_at": now})
            detail = (f"No {Role(pending.role).label} decision on stage {pending.stage} came before "
                      f"{pending.deadline:%Y-%m-%d %H:%M} UTC: the stage is denied. Escalated for a decision.")
            transaction.on_commit(partial(notifications.notify_launch_people_task.delay, pending.launch_id,
                                          "decision_expired", detail))
        expired += 1
    return expired
