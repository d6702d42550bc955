"""Tier policies: read the one in force, propose a change, and approve it as a second person."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.http import HttpRequest

from governance.inventory.models import RiskTier
from governance.kernel import audit, clock
from governance.kernel.canonical import content_hash
from governance.kernel.errors import Conflict, NotFound, ValidationFailed
from governance.kernel.permissions import require
from governance.kernel.principals import SystemActor, acting_person
from governance.kernel.reauth import confirm_identity
from governance.policies.defaults import DEFAULTS
from governance.policies.models import PolicyChange, TierPolicy, TierPolicyVersion
from governance.policies.rules import apply_change, validate_policy_content
from governance.policies.signals import policy_changed

if TYPE_CHECKING:
    from governance.kernel.principals import Actor


def ensure_policy(tier: str, content: dict[str, Any], *, actor: Actor) -> TierPolicy:
    """Create a tier's policy with ``content`` as version 1 if the tier has none yet (used when importing an
    organisation's earlier rules); an existing policy is left as it is."""
    with transaction.atomic():
        policy, _ = TierPolicy.objects.get_or_create(tier=tier)
        if policy.current_id is None:
            content = validate_policy_content(content, tier=tier)
            version = TierPolicyVersion.objects.create(policy=policy, number=1, content=content,
                                                       content_hash=content_hash(content), created_at=clock.now())
            policy.current = version
            policy.save(update_fields=["current"])
            audit.record("policy.created", policy, actor=actor,
                         after={"version": 1, "content_hash": version.content_hash})
    return policy


def ensure_default_policies() -> list[TierPolicy]:
    """Create the three tier policies with their documented defaults, once."""
    policies = []
    with transaction.atomic():
        for tier in RiskTier.values:
            policy, created = TierPolicy.objects.get_or_create(tier=tier)
            if policy.current_id is None:
                content = validate_policy_content(DEFAULTS[tier], tier=tier)
                version = TierPolicyVersion.objects.create(policy=policy, number=1, content=content,
                                                           content_hash=content_hash(content), created_at=clock.now())
                policy.current = version
                policy.save(update_fields=["current"])
                audit.record("policy.created", policy, actor=SystemActor("defaults"),
                             after={"version": 1, "content_hash": version.content_hash})
            policies.append(policy)
    return policies


def current_version(tier: str) -> TierPolicyVersion:
    policy = TierPolicy.objects.select_related("current").filter(tier=tier).first()
    if policy is None or policy.current is None:
        ensure_default_policies()
        policy = TierPolicy.objects.select_related("current").get(tier=tier)
    assert policy.current is not None  # ensure_default_policies gave every tier a version
    return policy.current


def propose_change(policy: TierPolicy, *, actor: Actor, operation: str, payload: Any, rationale: str,
                   source_incident_id: int | None = None) -> PolicyChange:
    """Anyone with a working role may propose; the change is checked now so approval cannot fail later.
    ``source_incident_id``: the incident whose action item proposes it (its rationale follows that incident's
    visibility)."""
    require(actor, "policy.propose")
    if operation not in PolicyChange.Operation.values:
        raise ValidationFailed(f"Unknown operation {operation!r}.", field="operation")
    if not (rationale or "").strip():
        raise ValidationFailed("Say why the policy should change.", field="rationale")
    current = policy.current or current_version(policy.tier)
    apply_change(current.content, operation, payload, tier=policy.tier)
    with transaction.atomic():
        change = PolicyChange.objects.create(policy=policy, operation=operation, payload=payload,
                                             rationale=rationale.strip(), proposed_by=acting_person(actor),
                                             proposed_at=clock.now(),
                                             source_incident_id=source_incident_id)
        audit.record("policy.change_proposed", change, actor=actor,
                     after={"tier": policy.tier, "operation": operation, "payload": payload, "rationale": rationale})
    return change


def approve_change(change: PolicyChange, *, actor: Actor, note: str = "", password: str | None = None,
                   sso_proof: dict[str, Any] | None = None, request: HttpRequest | None = None) -> TierPolicyVersion:
    """Two-person rule: a Compliance or Model Risk person other than the proposer approves; a new version results.
    A new version changes what every later launch must pass, so the approver confirms who they are as a signer
    does: their password (throttled like logins) or a fresh authentication with the identity provider."""
    require(actor, "policy.approve", message="Only Compliance or Model Risk can approve a policy change.")
    confirmation = confirm_identity(acting_person(actor), password=password, proof=sso_proof, request=request)
    with transaction.atomic():
        change = PolicyChange.objects.select_for_update().get(pk=change.pk)
        if change.status != PolicyChange.Status.PENDING:
            raise Conflict(f"This change is already {change.get_status_display().lower()}.", code="change_decided")
        if change.proposed_by_id == getattr(actor, "pk", None):
            raise ValidationFailed("A second person must approve a policy change; you proposed this one.",
                                   field="decision", code="two_person_rule")
        policy = TierPolicy.objects.select_for_update(of=("self",)).select_related("current").get(pk=change.policy_id)
        assert policy.current is not None  # a change is proposed against the version in force
        content = apply_change(policy.current.content, change.operation, change.payload, tier=policy.tier)
        version = TierPolicyVersion.objects.create(
            policy=policy, number=policy.current.number + 1, content=content, content_hash=content_hash(content),
            change=change, created_at=clock.now(),
        )
        before = {"version": policy.current.number, "content_hash": policy.current.content_hash}
        policy.current = version
        policy.save(update_fields=["current"])
        change.status = PolicyChange.Status.APPROVED
        change.decided_by = acting_person(actor)
        change.decided_at = clock.now()
        change.decision_note = note
        change.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        audit.record("policy.change_approved", change, actor=actor, before=before,
                     after={"version": version.number, "content_hash": version.content_hash, "note": note,
                            **(confirmation.as_audit() if confirmation else {})})
        policy_changed.send(sender=PolicyChange, change=change, version=version, tier=policy.tier, actor=actor)
    return version


def reject_change(change: PolicyChange, *, actor: Actor, note: str) -> PolicyChange:
    """Rejecting leaves the policy as it is, so it asks for no re-authentication."""
    require(actor, "policy.approve", message="Only Compliance or Model Risk can reject a policy change.")
    if not (note or "").strip():
        raise ValidationFailed("Say why the change is rejected.", field="note")
    with transaction.atomic():
        change = PolicyChange.objects.select_for_update().get(pk=change.pk)
        if change.status != PolicyChange.Status.PENDING:
            raise Conflict(f"This change is already {change.get_status_display().lower()}.", code="change_decided")
        change.status = PolicyChange.Status.REJECTED
        change.decided_by = acting_person(actor)
        change.decided_at = clock.now()
        change.decision_note = note.strip()
        change.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        audit.record("policy.change_rejected", change, actor=actor, after={"note": note})
    return change


def get_policy(tier: str) -> TierPolicy:
    policy = TierPolicy.objects.select_related("current").filter(tier=tier).first()
    if policy is None:
        ensure_default_policies()
        policy = TierPolicy.objects.select_related("current").filter(tier=tier).first()
    if policy is None:
        raise NotFound(f"No policy for tier {tier!r}.", code="no_policy")
    return policy
