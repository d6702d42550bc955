"""Every state change of a launch: transitions, checklist, waivers, sign-offs, evaluations.

Each service locks the launch row first (select_for_update inside transaction.atomic), so two signers,
or a signature racing a content change, are serialised: nothing is lost and approval happens once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Model
from django.http import HttpRequest

from governance.kernel import audit, clock
from governance.kernel import formatting as fmt
from governance.kernel.errors import Conflict, DomainError, PermissionDenied, ValidationFailed
from governance.kernel.permissions import has_role, require
from governance.kernel.principals import SystemActor, acting_person, actor_label
from governance.kernel.reauth import confirm_identity
from governance.kernel.roles import Role
from governance.models import FeatureSource, ModelVersion, User
from governance.policies.expressions import evaluate_rule, parse_rule
from governance.policies.services import current_version
from governance.validation import services as model_risk

from . import content
from .models import (
    EDITABLE_STATUSES,
    OPEN_STATUSES,
    TRANSITIONS,
    ChecklistItem,
    ChecklistResponse,
    Decision,
    Evaluation,
    Guardrail,
    ItemKind,
    ItemSource,
    ItemStatus,
    LaunchRequest,
    LaunchStatus,
    ResignRequest,
    RolloutPlan,
    RolloutStage,
    SignDecision,
    SignOff,
    Waiver,
)

if TYPE_CHECKING:
    from governance.kernel.principals import Actor
    from governance.policies.models import TierPolicyVersion

METRIC_KEY_RE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
MAX_METRICS = 5000
MAX_WAIVER_DAYS = 366


# -- helpers ---------------------------------------------------------------------------------------------

LOCK_JOINS = ("version__model", "policy_version__policy", "author")


def lock(launch: LaunchRequest, *, joins: tuple[str, ...] = LOCK_JOINS) -> LaunchRequest:
    """Re-read the launch under a row lock (call inside transaction.atomic), with the rows most services read
    joined in. A caller that rarely reads them passes ``joins=()``: they load when first read."""
    launches = LaunchRequest.objects.select_for_update(of=("self",))
    if joins:  # select_related() with no names would join every relation
        launches = launches.select_related(*joins)
    return launches.get(pk=launch.pk)


def _require_editable(launch: LaunchRequest, what: str) -> None:
    if launch.status not in EDITABLE_STATUSES:
        raise Conflict(f"Cannot {what}: the launch is {launch.get_status_display().lower()}; its content is frozen.",
                       code="launch_frozen")


def transition(launch: LaunchRequest, to: str, *, actor: Actor, reason: str = "", at: datetime | None = None,
               source_incident: Model | int | None = None) -> None:
    """Move a locked launch along the state machine, or refuse; records the change in the audit log (with the
    incident whose content ``reason`` is, when there is one)."""
    if to not in TRANSITIONS[LaunchStatus(launch.status)]:
        raise Conflict(f"A {launch.get_status_display().lower()} launch cannot become {LaunchStatus(to).label.lower()}.",
                       code="invalid_transition")
    before = launch.status
    now = at or clock.now()
    launch.status = to
    stamp = {LaunchStatus.IN_REVIEW: "submitted_at", LaunchStatus.APPROVED: "approved_at", LaunchStatus.ROLLING_OUT: "rollout_started_at",
             LaunchStatus.LAUNCHED: "launched_at", LaunchStatus.ROLLED_BACK: "rolled_back_at"}.get(LaunchStatus(to))
    fields = ["status", "updated_at"]
    if stamp:
        setattr(launch, stamp, now)
        fields.append(stamp)
    launch.save(update_fields=fields)
    audit.record("launch.status_changed", launch, actor=actor, before={"status": before},
                 after={"status": to, "reason": reason} if reason else {"status": to}, source_incident=source_incident)


def required_roles_for(version: ModelVersion, policy_version: TierPolicyVersion) -> list[str]:
    roles = list(policy_version.content.get("required_roles", []))
    if version.model.protected_attributes:
        roles += [r for r in policy_version.content.get("roles_if_protected_attributes", []) if r not in roles]
    return roles


def _feature_control_items(version: ModelVersion) -> list[dict[str, Any]]:
    """One blocking item per third-party control a feature needs; failing while the control is missing."""
    specs = []
    for feature in version.features.all():
        if feature.source != FeatureSource.THIRD_PARTY:
            continue
        vendor = f" ({feature.vendor})" if feature.vendor else ""
        controls = [
            ("proxy_risk", f"Proxy-risk assessment for third-party feature {feature.name}{vendor}",
             feature.proxy_risk_assessed, feature.get_proxy_risk_status_display(), feature.proxy_risk_ref),
            ("vendor_sla", f"Vendor schema-stability SLA for {feature.name}{vendor}",
             bool(feature.vendor_sla_ref), feature.vendor_sla_ref or "missing", feature.vendor_sla_ref),
            ("drift_monitor", f"Drift monitor for {feature.name}{vendor}",
             bool(feature.drift_monitor_ref), feature.drift_monitor_ref or "missing", feature.drift_monitor_ref),
        ]
        for control, title, ok, state, ref in controls:
            specs.append({
                "key": f"feature:{feature.name}:{control}", "title": title, "category": "third_party",
                "blocking": True, "kind": ItemKind.AUTOMATIC, "source": ItemSource.FEATURE_CONTROL,
                "guidance": "Recorded in the model inventory. A third-party field can change meaning when the "
                            "vendor changes how it is populated; this control must exist before launch.",
                "status": ItemStatus.PASS if ok else ItemStatus.FAIL,
                "result": {"feature": feature.name, "control": control, "state": state, "reference": ref},
            })
    return specs


def _sync_feature_controls(launch: LaunchRequest) -> bool:
    """Bring feature-control items in line with the inventory; True when anything changed."""
    wanted = {spec["key"]: spec for spec in _feature_control_items(launch.version)}
    existing = {i.key: i for i in launch.items.filter(source=ItemSource.FEATURE_CONTROL)}
    changed = False
    item: ChecklistItem | None
    for key, item in existing.items():
        if key not in wanted:
            item.delete()
            changed = True
    position = 1000
    for key, spec in wanted.items():
        position += 1
        item = existing.get(key)
        if item is None:
            ChecklistItem.objects.create(launch=launch, position=position, **spec)
            changed = True
        elif item.status != spec["status"] or item.result != spec["result"] or item.title != spec["title"]:
            item.status, item.result, item.title = spec["status"], spec["result"], spec["title"]
            item.save(update_fields=["status", "result", "title"])
            changed = True
    return changed


def _latest_evaluation(launch: LaunchRequest) -> Evaluation | None:
    return launch.evaluations.order_by("-created_at", "-pk").first()


def _evaluate_automatic_items(launch: LaunchRequest, evaluation: Evaluation | None) -> None:
    metrics = evaluation.metrics if evaluation else {}
    for item in launch.items.filter(kind=ItemKind.AUTOMATIC, source=ItemSource.TEMPLATE):
        result = evaluate_rule(parse_rule(item.rule), metrics)
        data = result.as_dict()
        if evaluation is not None:
            data["evaluation"] = evaluation.pk
        if item.status != result.verdict or item.result != data:
            item.status, item.result = result.verdict, data
            item.save(update_fields=["status", "result"])


def _stale_signatures(launch: LaunchRequest, *, actor: Actor, reason: str, content_hash: str | None = None) -> None:
    """Mark every current signature of a locked launch stale, each with its own audit event."""
    now = clock.now()
    for signoff in launch.signoffs.filter(stale=False).select_related("signer"):
        signoff.stale, signoff.staled_at = True, now
        signoff.save(update_fields=["stale", "staled_at"])
        after = {"reason": reason, "signer": signoff.signer.username, "role": signoff.role}
        if content_hash is not None:
            after["content_hash"] = content_hash
        audit.record("signoff.staled", signoff, actor=actor, before={"content_hash": signoff.content_hash},
                     after=after)


def _ask_stale_signers(launch: LaunchRequest, *, actor: Actor, asked_by: str) -> list[ResignRequest]:
    """Ask each person whose signature is stale, and who has not signed the current content, to sign it: one
    request (and one e-mail) per signer per content hash, however often this runs. The e-mail names the launch
    and links to it, nothing more, so that no restricted text reaches a mailbox."""
    current = set(launch.signoffs.filter(stale=False).values_list("signer_id", flat=True))
    latest: dict[int, str] = {}
    for signer_id, role in (launch.signoffs.filter(stale=True).exclude(signer_id__in=current)
                            .order_by("signed_at", "pk").values_list("signer_id", "role")):
        latest[signer_id] = role
    if not latest:
        return []
    asked = set(ResignRequest.objects.filter(launch=launch, content_hash=launch.content_hash, signer_id__in=latest)
                .values_list("signer_id", flat=True))
    fresh = ResignRequest.objects.bulk_create(
        [ResignRequest(launch=launch, signer_id=signer_id, role=role, content_hash=launch.content_hash,
                       asked_by=asked_by[:200], created_at=clock.now())
         for signer_id, role in latest.items() if signer_id not in asked], ignore_conflicts=True)
    if fresh:
        audit.record("signoff.resign_requested", launch, actor=actor, after={
            "content_hash": launch.content_hash, "asked_by": asked_by,
            "signers": sorted(User.objects.filter(pk__in=[r.signer_id for r in fresh])
                              .values_list("username", flat=True))})
        from .notifications import notify_resign_task

        launch_id, signer_ids, digest = launch.pk, [r.signer_id for r in fresh], launch.content_hash
        transaction.on_commit(lambda: notify_resign_task.delay(launch_id, signer_ids, digest))
    return fresh


def ask_to_resign(launch: LaunchRequest, *, actor: Actor) -> int:
    """The launch page's "ask to re-sign": remind the people whose signatures went stale to sign the current
    content. Asking twice for the same content sends nothing more; returns how many people were asked now."""
    require(actor, "launch.edit", launch)
    with transaction.atomic():
        launch = lock(launch)
        if launch.status != LaunchStatus.IN_REVIEW:
            raise Conflict(f"Signatures are asked for while the launch is in review; this one is "
                           f"{launch.get_status_display().lower()}.", code="not_in_review")
        if not launch.signoffs.filter(stale=True).exists():
            raise Conflict("No signature of this launch is stale.", code="nothing_stale")
        return len(_ask_stale_signers(launch, actor=actor, asked_by=actor_label(actor)))


def refresh_content(launch: LaunchRequest, *, actor: Actor, reason: str) -> str:
    """Recompute the content hash of a locked launch. If it changed, current signatures go stale and an
    approved launch returns to review — the signers vouched for different content."""
    items = list(launch.items.all())
    plan = RolloutPlan.objects.filter(launch=launch).first()
    stages = list(plan.stages.all()) if plan else []
    guardrails = list(plan.guardrails.select_related("stage")) if plan else []
    new_hash = content.compute_content_hash(launch, items=items, evaluation=_latest_evaluation(launch), plan=plan,
                                            stages=stages, guardrails=guardrails)
    if new_hash == launch.content_hash:
        return new_hash
    old_hash = launch.content_hash
    launch.content_hash = new_hash
    launch.save(update_fields=["content_hash", "updated_at"])
    _stale_signatures(launch, actor=actor, reason=reason, content_hash=new_hash)
    _ask_stale_signers(launch, actor=actor, asked_by=f"content change: {reason}")
    if old_hash:
        audit.record("launch.content_changed", launch, actor=actor, before={"content_hash": old_hash},
                     after={"content_hash": new_hash, "reason": reason})
    if launch.status == LaunchStatus.APPROVED:
        transition(launch, LaunchStatus.IN_REVIEW, actor=actor, reason=f"material change after approval: {reason}")
    return new_hash


def blocking_item_ok(item: ChecklistItem, now: datetime | None = None) -> bool:
    if not item.blocking or item.status == ItemStatus.PASS:
        return True
    return any(w.is_valid(now) for w in item.waivers.all())


def stage_items_open(launch_id: int, stage: str, now: datetime | None = None) -> list[ChecklistItem]:
    """The blocking items attesting ``stage``'s result that neither pass nor hold a valid waiver: they keep the
    rollout in that stage. Two queries."""
    items = ChecklistItem.objects.filter(launch_id=launch_id, stage=stage, blocking=True).exclude(
        status=ItemStatus.PASS).prefetch_related("waivers").order_by("position", "pk")
    return [i for i in items if not blocking_item_ok(i, now)]


def stage_attestation_problem(item: ChecklistItem, launch: LaunchRequest, now: datetime) -> str:
    """Why ``item``, which attests a rollout stage's result, cannot be attested now (empty when it can): the
    stage must have begun and run its minimum duration. A claim about a result cannot predate the result."""
    stage = RolloutStage.objects.filter(plan__launch=launch, name=item.stage).first()
    if stage is None:
        return f"“{item.title}” attests the result of stage {item.stage}, which the rollout plan does not have."
    minimum = fmt.minutes(stage.min_duration_minutes)
    if launch.status not in (LaunchStatus.ROLLING_OUT, LaunchStatus.LAUNCHED) or stage.entered_at is None:
        return (f"“{item.title}” attests the result of stage {stage.name}, which has not begun; attest it once the "
                f"stage has run at least {minimum}.")
    ends = stage.entered_at + timedelta(minutes=stage.min_duration_minutes)
    if stage.completed_at is None and now < ends:
        return (f"“{item.title}” attests the result of stage {stage.name}, which began "
                f"{fmt.moment(stage.entered_at, 'j M Y')} and runs at least {minimum}, until "
                f"{fmt.moment(ends, 'j M Y H:i')}; attest it then.")
    return ""


def approval_gaps(launch: LaunchRequest, *, signoffs: Collection[SignOff], items: Iterable[ChecklistItem],
                  now: datetime | None = None) -> dict[str, Any]:
    """What still stands between a launch and approval (pure over prefetched rows)."""
    current = [s for s in signoffs if not s.stale and s.content_hash == launch.content_hash]
    approved_roles = {s.role for s in current if s.approves}
    return {
        "missing_roles": [r for r in launch.required_roles if r not in approved_roles],
        "stale_roles": sorted({s.role for s in signoffs if s.stale} - approved_roles),
        "rejected_by": [s for s in current if s.decision == SignDecision.REJECT],
        # An item attesting a stage's result blocks leaving that stage (readiness.rollouts), not approval.
        "failing_items": [i for i in items if i.blocking and not i.stage and not blocking_item_ok(i, now)],
    }


def _maybe_approve(launch: LaunchRequest, *, actor: Actor) -> bool:
    """Approve a locked launch exactly once, when every required role approved the current content and every
    blocking item passes or is validly waived."""
    if launch.status != LaunchStatus.IN_REVIEW:
        return False
    gaps = approval_gaps(launch, signoffs=list(launch.signoffs.all()),
                         items=list(launch.items.prefetch_related("waivers")))
    if gaps["missing_roles"] or gaps["failing_items"] or gaps["rejected_by"]:
        return False
    transition(launch, LaunchStatus.APPROVED, actor=SystemActor("approval-rule"),
               reason="every required role approved the current content and every blocking item passes")
    from .notifications import notify_launch_people_task as notify_launch_people

    transaction.on_commit(lambda: notify_launch_people.delay(
        launch.pk, "approved", "Every required sign-off is in and every blocking item passes."))
    return True


# -- launches ----------------------------------------------------------------------------------------------

def create_launch(version: ModelVersion, *, actor: Actor, title: str, summary: str = "", author: Actor | None = None,
                  **memo: str) -> LaunchRequest:
    """Open a launch for a model version under the tier policy in force now. A pipeline (token) may open one
    on behalf of a person, who is then its author for separation of duties."""
    require(actor, "launch.create", version)
    author = author or actor
    if not isinstance(author, User):
        raise ValidationFailed("A launch's author is a person.", field="author")
    title = (title or "").strip()
    if not title:
        raise ValidationFailed("Give the launch a title.", field="title")
    _check_memo(memo)
    policy_version = current_version(version.model.risk_tier)
    with transaction.atomic():
        # The version's row is the lock two concurrent openings queue on; the constraint backs it up.
        ModelVersion.objects.select_for_update().filter(pk=version.pk).first()
        _refuse_second_open_launch(version)
        try:
            with transaction.atomic():
                launch = _insert_launch(version, policy_version, title=title, summary=summary, author=author,
                                        memo=memo)
        except IntegrityError:
            _refuse_second_open_launch(version)
            raise
        _copy_checklist_template(launch, policy_version)
        _sync_feature_controls(launch)
        _evaluate_automatic_items(launch, None)
        _create_plan_from_template(launch, policy_version)
        audit.record("launch.created", launch, actor=actor, after={
            "version": str(version), "policy": f"{policy_version.policy.tier} v{policy_version.number}",
            "required_roles": launch.required_roles, "title": launch.title,
        })
        refresh_content(launch, actor=actor, reason="created")
    return launch


def _refuse_second_open_launch(version: ModelVersion) -> None:
    """One open launch per model version: evidence, sign-offs and the gate all mean that one."""
    open_launch = (LaunchRequest.objects.filter(version=version, status__in=OPEN_STATUSES)
                   .order_by("pk").values("pk", "status").first())
    if open_launch is not None:
        raise Conflict(
            f"{version} already has an open launch, #{open_launch['pk']} "
            f"({LaunchStatus(open_launch['status']).label.lower()}); continue that one, or withdraw it first.",
            field="version", code="open_launch_exists")


def _insert_launch(version: ModelVersion, policy_version: TierPolicyVersion, *, title: str, summary: str,
                   author: User, memo: dict[str, str]) -> LaunchRequest:
    return LaunchRequest.objects.create(
        version=version, policy_version=policy_version, title=title[:200], summary=summary or "", author=author,
        required_roles=required_roles_for(version, policy_version), created_at=clock.now(),
        **{k: v or "" for k, v in memo.items()},
    )


def _copy_checklist_template(launch: LaunchRequest, policy_version: TierPolicyVersion) -> None:
    """The tier's checklist, copied onto the launch: automatic items start without data, manual ones pending."""
    ChecklistItem.objects.bulk_create([
        ChecklistItem(launch=launch, key=spec["key"], title=spec["title"], guidance=spec["guidance"],
                      category=spec["category"], blocking=spec["blocking"], kind=spec["kind"], rule=spec["rule"],
                      source=ItemSource.TEMPLATE, position=position, stage=spec.get("stage", ""),
                      status=ItemStatus.MISSING if spec["kind"] == ItemKind.AUTOMATIC else ItemStatus.PENDING)
        for position, spec in enumerate(policy_version.content["checklist"])
    ])


def _create_plan_from_template(launch: LaunchRequest, policy_version: TierPolicyVersion) -> RolloutPlan:
    template = policy_version.content.get("rollout") or {}
    plan = RolloutPlan.objects.create(launch=launch)
    stages = {}
    for position, spec in enumerate(template.get("stages", [])):
        stages[spec["name"]] = RolloutStage.objects.create(
            plan=plan, position=position, name=spec["name"], traffic_percent=spec["traffic_percent"],
            min_duration_minutes=spec["min_duration_minutes"], approval_role=spec.get("approval_role", ""),
        )
    for spec in template.get("guardrails", []):
        Guardrail.objects.create(
            plan=plan, stage=stages.get(spec.get("stage") or ""), metric=spec["metric"],
            comparator=spec["comparator"], threshold=spec["threshold"], window_minutes=spec["window_minutes"],
            failure_limit=spec["failure_limit"], sustain_minutes=spec.get("sustain_minutes", 0),
            action=spec["action"], segment=spec.get("segment", ""),
        )
    return plan


def _check_memo(fields: dict[str, Any]) -> None:
    unknown = sorted(set(fields) - set(content.MEMO_FIELDS))
    if unknown:
        raise ValidationFailed(f"Unknown field {unknown[0]!r}.", field=unknown[0])
    decision = fields.get("decision", "")
    if decision and decision not in Decision.values:
        raise ValidationFailed(f"Decision is one of {', '.join(Decision.values)}.", field="decision")


def update_memo(launch: LaunchRequest, *, actor: Actor, **fields: Any) -> LaunchRequest:
    """Edit the summary and decision memo. A change after signatures makes them stale."""
    require(actor, "launch.edit", launch)
    if "title" in fields and not (fields["title"] or "").strip():
        raise ValidationFailed("Give the launch a title.", field="title")
    _check_memo(fields)
    with transaction.atomic():
        launch = lock(launch)
        _require_editable(launch, "edit the decision memo")
        before = {k: getattr(launch, k) for k in fields}
        changed = {k: (v or "") for k, v in fields.items() if (v or "") != before[k]}
        if not changed:
            return launch
        for name, value in changed.items():
            setattr(launch, name, value)
        launch.save(update_fields=[*changed, "updated_at"])
        audit.record("launch.memo_updated", launch, actor=actor, before={k: before[k] for k in changed},
                     after=changed)
        refresh_content(launch, actor=actor, reason="decision memo edited")
    return launch


def submit_for_review(launch: LaunchRequest, *, actor: Actor) -> LaunchRequest:
    """Send a draft to its signers. The memo must say what was considered and what is proposed."""
    require(actor, "launch.edit", launch)
    with transaction.atomic():
        launch = lock(launch)
        for name, label in (("summary", "summary"), ("options_considered", "options considered"),
                            ("decision", "decision"), ("rationale", "rationale")):
            if not getattr(launch, name).strip():
                raise ValidationFailed(f"Fill in the {label} before sending the launch for review.", field=name)
        transition(launch, LaunchStatus.IN_REVIEW, actor=actor)
        _maybe_approve(launch, actor=actor)
        from .notifications import notify_signers_task as notify_signers

        launch_id = launch.pk
        transaction.on_commit(lambda: notify_signers.delay(launch_id))
    return launch


def withdraw(launch: LaunchRequest, *, actor: Actor, reason: str) -> LaunchRequest:
    if not (reason or "").strip():
        raise ValidationFailed("Say why the launch is withdrawn.", field="reason")
    with transaction.atomic():
        launch = lock(launch)
        if launch.author_id != getattr(actor, "pk", None):
            require(actor, "launch.withdraw", launch)
        transition(launch, LaunchStatus.WITHDRAWN, actor=actor, reason=reason.strip())
    return launch


def revise(launch: LaunchRequest, *, actor: Actor) -> LaunchRequest:
    """After a rejection the author takes the launch back to draft; every signature must be given again."""
    with transaction.atomic():
        launch = lock(launch)
        if launch.author_id != getattr(actor, "pk", None):
            raise PermissionDenied("Only the launch's author can revise it after a rejection.", code="author_required")
        transition(launch, LaunchStatus.DRAFT, actor=actor, reason="revised after rejection")
        _stale_signatures(launch, actor=actor, reason="launch revised after rejection")
    return launch


# -- checklist -------------------------------------------------------------------------------------------

RISK_ROLES = frozenset({Role.COMPLIANCE, Role.LEGAL, Role.MODEL_RISK})


def condition_confirmers(item: ChecklistItem) -> frozenset[str]:
    """The roles whose holders may confirm a sign-off condition: the role that set it, and the risk roles."""
    signoff = item.added_by_signoff
    return RISK_ROLES | ({Role(signoff.role)} if signoff is not None else set())


def check_condition_confirmer(item: ChecklistItem, launch: LaunchRequest, *, actor: Actor) -> None:
    """A condition a signer attached to an approval is confirmed by the role that set it (or a risk role),
    never by the launch team: otherwise the people the condition binds would mark their own homework."""
    if item.source != ItemSource.CONDITION:
        return
    if launch.author_id == getattr(actor, "pk", None):
        raise PermissionDenied("The launch's author cannot confirm a sign-off condition. The role that set it "
                               "confirms it.", code="condition_owner_required")
    roles = condition_confirmers(item)
    if not any(has_role(actor, r) for r in roles):
        names = ", ".join(sorted(Role(r).label for r in roles))
        raise PermissionDenied(f"Only these roles can confirm this condition: {names}.",
                               code="condition_owner_required")


def can_confirm_condition(item: ChecklistItem, launch: LaunchRequest, actor: Actor) -> bool:
    try:
        check_condition_confirmer(item, launch, actor=actor)
    except PermissionDenied:
        return False
    return True


def attest_item(item: ChecklistItem, *, actor: Actor, outcome: str, evidence_url: str = "",
                evidence_text: str = "", evidence_sha256: str = "") -> ChecklistItem:
    """Attest a manual item with evidence. A pass needs evidence a reviewer can follow; a linked document may
    carry its sha256 so that a reader can check it is the one attested."""
    require(actor, "checklist.attest", item.launch)
    if outcome not in (ItemStatus.PASS, ItemStatus.FAIL):
        raise ValidationFailed("Outcome is PASS or FAIL.", field="outcome")
    evidence_url, evidence_text = (evidence_url or "").strip(), (evidence_text or "").strip()
    if outcome == ItemStatus.PASS and not (evidence_url or evidence_text):
        raise ValidationFailed("Give evidence (a link or a description) for a pass.", field="evidence_text")
    if evidence_url and not re.match(r"^https?://\S+$", evidence_url):
        raise ValidationFailed("Evidence links start with http:// or https://.", field="evidence_url")
    evidence_sha256 = (evidence_sha256 or "").strip().lower()
    if evidence_sha256 and not re.match(r"^[0-9a-f]{64}$", evidence_sha256):
        raise ValidationFailed("Give the evidence's sha256 as 64 hexadecimal characters.", field="evidence_sha256")
    with transaction.atomic():
        launch = lock(item.launch)
        item = ChecklistItem.objects.select_for_update().get(pk=item.pk)
        if item.stage:
            problem = stage_attestation_problem(item, launch, clock.now())
            if problem:
                raise Conflict(problem, code="stage_not_ended")
        else:
            _require_editable(launch, "attest checklist items")
        if item.kind != ItemKind.MANUAL:
            raise Conflict("This item is decided by its rule or the inventory, not by attestation.", code="not_attestable")
        if outcome == ItemStatus.PASS:
            check_condition_confirmer(item, launch, actor=actor)
        ChecklistResponse.objects.create(item=item, outcome=outcome, evidence_url=evidence_url,
                                         evidence_text=evidence_text, responder=acting_person(actor),
                                         created_at=clock.now())
        before = {"status": item.status}
        item.status, item.evidence_url, item.evidence_text = outcome, evidence_url, evidence_text
        item.evidence_sha256 = evidence_sha256
        item.attested_by, item.attested_at = acting_person(actor), clock.now()
        item.save(update_fields=["status", "evidence_url", "evidence_text", "evidence_sha256", "attested_by",
                                 "attested_at"])
        audit.record("checklist.attested", item, actor=actor, before=before,
                     after={"status": outcome, "evidence_url": evidence_url, "evidence_text": evidence_text,
                            **({"evidence_sha256": evidence_sha256} if evidence_sha256 else {}),
                            "launch": launch.pk})
        refresh_content(launch, actor=actor, reason=f"checklist item “{item.title}” attested")
        _maybe_approve(launch, actor=actor)
    return item


def waive_item(item: ChecklistItem, *, actor: Actor, reason: str, expires_at: datetime | None,
               password: str | None = None, sso_proof: dict[str, Any] | None = None,
               request: HttpRequest | None = None) -> Waiver:
    """A Model Risk or Compliance person other than the launch's author may waive a blocking item, with a
    reason and an expiry; an expired waiver stops counting. A waiver can let a launch ship, so the person
    confirms who they are as a signer does (password, throttled like logins, or a fresh identity-provider
    authentication)."""
    require(actor, "checklist.waive", item.launch,
            message="Only Model Risk or Compliance can waive a checklist item.")
    if not (reason or "").strip():
        raise ValidationFailed("A waiver needs a reason.", field="reason")
    now = clock.now()
    if expires_at is None or expires_at <= now:
        raise ValidationFailed("A waiver's expiry must be in the future.", field="expires_at")
    if expires_at > now + timedelta(days=MAX_WAIVER_DAYS):
        raise ValidationFailed("A waiver lasts at most a year.", field="expires_at")
    confirmation = confirm_identity(acting_person(actor), password=password, proof=sso_proof, request=request)
    role = Role.MODEL_RISK if has_role(actor, Role.MODEL_RISK) else Role.COMPLIANCE
    with transaction.atomic():
        launch = lock(item.launch)
        if launch.author_id == actor.pk:
            raise PermissionDenied("The launch's author cannot waive its items: separation of duties.", code="separation_of_duties")
        item = ChecklistItem.objects.get(pk=item.pk)
        if not (item.stage and launch.status == LaunchStatus.ROLLING_OUT):  # a stage's item is waived while it runs
            _require_editable(launch, "waive checklist items")
        if not item.blocking:
            raise Conflict("Only blocking items need a waiver.", code="not_blocking")
        waiver = Waiver.objects.create(item=item, granted_by=acting_person(actor), role=role, reason=reason.strip(),
                                       expires_at=expires_at, created_at=now)
        audit.record("checklist.waived", waiver, actor=actor, after={
            "item": item.key, "launch": launch.pk, "reason": waiver.reason, "expires_at": expires_at, "role": role,
            **(confirmation.as_audit() if confirmation else {}),
        })
        _maybe_approve(launch, actor=actor)
    return waiver


def revoke_waiver(waiver: Waiver, *, actor: Actor, reason: str) -> Waiver:
    """Revoking a waiver only ever stops a launch, so it asks for no re-authentication: a brake is not slowed."""
    require(actor, "checklist.waive", waiver.item.launch)
    if not (reason or "").strip():
        raise ValidationFailed("Say why the waiver is revoked.", field="reason")
    with transaction.atomic():
        launch = lock(waiver.item.launch)
        waiver = Waiver.objects.select_for_update().get(pk=waiver.pk)
        if waiver.revoked_at:
            raise Conflict("This waiver is already revoked.", code="already_revoked")
        waiver.revoked_at = clock.now()
        waiver.save(update_fields=["revoked_at"])
        audit.record("checklist.waiver_revoked", waiver, actor=actor, after={"reason": reason, "launch": launch.pk})
        if launch.status == LaunchStatus.APPROVED:
            gaps = approval_gaps(launch, signoffs=list(launch.signoffs.all()),
                                 items=list(launch.items.prefetch_related("waivers")))
            if gaps["failing_items"]:
                transition(launch, LaunchStatus.IN_REVIEW, actor=actor, reason="a waiver it relied on was revoked")
    return waiver


def on_features_changed(version: ModelVersion, *, actor: Actor) -> None:
    """The inventory changed a feature of ``version``: refresh the third-party control items of its open launches."""
    for launch in LaunchRequest.objects.filter(version=version, status__in=EDITABLE_STATUSES):
        with transaction.atomic():
            launch = lock(launch)
            if _sync_feature_controls(launch):
                refresh_content(launch, actor=actor, reason="third-party feature controls changed in the inventory")
                _maybe_approve(launch, actor=actor)


# -- sign-off --------------------------------------------------------------------------------------------

def signing_refusal(launch: LaunchRequest, *, actor: Actor, signoffs: Iterable[SignOff] | None = None
                    ) -> DomainError | None:
    """Why this person cannot sign this launch now, before they type a password (None when they can). The
    same rules sign_off enforces under the lock; this is the early answer pages give instead of a form."""
    if launch.status != LaunchStatus.IN_REVIEW:
        return Conflict(f"Only a launch in review can be signed. This one is {launch.get_status_display().lower()}.",
                        code="not_in_review")
    if launch.author_id == getattr(actor, "pk", None):
        return PermissionDenied("The author of a launch cannot sign it: separation of duties.")
    current = [s for s in (signoffs if signoffs is not None else launch.signoffs.all()) if not s.stale]
    if any(s.signer_id == actor.pk for s in current):
        return Conflict("You have already signed this launch. One person signs in one role.", code="already_signed")
    signed = {s.role for s in current}
    mine = [r for r in launch.required_roles if has_role(actor, r)]
    if not mine:
        return PermissionDenied("You hold none of the roles this launch needs.")
    if all(r in signed for r in mine):
        return Conflict(f"{fmt.roles(mine)} {'has' if len(mine) == 1 else 'have'} already signed this launch.",
                        code="role_already_signed")
    return None


def sign_off(launch: LaunchRequest, *, actor: Actor, role: str, decision: str, password: str | None = None,
             content_hash: str, conditions: str = "", dissent: str = "", comment: str = "",
             sso_proof: dict[str, Any] | None = None, request: HttpRequest | None = None) -> SignOff:
    """Sign the current content of a launch as one role.

    The signer holds the role and confirms who they are (password, throttled like logins by account and by the
    ``request``'s address, or a fresh authentication with the identity provider for single-sign-on people); the
    author cannot sign (separation of duties);
    one person signs in one role per launch; the signature covers the content hash the signer reviewed,
    which must still be current."""
    if not isinstance(actor, User):
        raise PermissionDenied("Sign-offs are given by people, not tokens.", code="person_required")
    if role not in Role.values or role == Role.VIEWER:
        raise ValidationFailed(f"Unknown signing role {role!r}.", field="role")
    if decision not in SignDecision.values:
        raise ValidationFailed(f"Decision is one of {', '.join(SignDecision.values)}.", field="decision")
    conditions, dissent, comment = (conditions or "").strip(), (dissent or "").strip(), (comment or "").strip()
    if decision == SignDecision.APPROVE_WITH_CONDITIONS and not conditions:
        raise ValidationFailed("List the conditions, one per line.", field="conditions")
    if decision != SignDecision.APPROVE_WITH_CONDITIONS and conditions:
        raise ValidationFailed("Conditions go with 'Approve with conditions'.", field="conditions")
    if decision == SignDecision.REJECT and not comment:
        raise ValidationFailed("Say why you reject the launch.", field="comment")
    if decision == SignDecision.REJECT and dissent:
        raise ValidationFailed("Dissent is recorded by a signer who approves despite disagreeing.", field="dissent")
    if not has_role(actor, role):
        raise PermissionDenied(f"You do not hold the {Role(role).label} role.", code="role_not_held")
    confirmation = confirm_identity(actor, password=password, proof=sso_proof, request=request)
    with transaction.atomic():
        launch = lock(launch)
        if launch.status != LaunchStatus.IN_REVIEW:
            raise Conflict(f"Only a launch in review can be signed; this one is "
                           f"{launch.get_status_display().lower()}.", code="not_in_review")
        if launch.author_id == actor.pk:
            raise PermissionDenied("The author of a launch cannot sign it: separation of duties.", code="separation_of_duties")
        if role not in launch.required_roles:
            raise ValidationFailed(f"This launch does not need a {Role(role).label} sign-off.", field="role", code="role_not_required")
        if content_hash != launch.content_hash:
            raise Conflict("The launch changed while you were reviewing it; review the current content and sign "
                           "again.", code="content_changed")
        current = list(launch.signoffs.filter(stale=False).select_related("signer"))
        if any(s.signer_id == actor.pk for s in current):
            raise Conflict("You have already signed this launch; one person signs in one role.",
                           code="already_signed")
        if any(s.role == role for s in current):
            raise Conflict(f"{Role(role).label} has already signed this launch.", code="role_already_signed")
        try:
            with transaction.atomic():
                signoff = SignOff.objects.create(
                    launch=launch, role=role, signer=actor, decision=decision, conditions=conditions,
                    dissent=dissent, comment=comment, content_hash=launch.content_hash, signed_at=clock.now(),
                )
        except IntegrityError:
            raise Conflict("This role or person has just signed; reload the launch.", code="already_signed") from None
        audit.record("signoff.given", signoff, actor=actor, after={
            "launch": launch.pk, "role": role, "decision": decision, "conditions": conditions, "dissent": dissent,
            "comment": comment, "content_hash": launch.content_hash, **(confirmation.as_audit() if confirmation else {}),
        })
        if decision == SignDecision.APPROVE_WITH_CONDITIONS:
            base = launch.items.count()
            for n, line in enumerate(filter(None, (c.strip(" -*\t") for c in conditions.splitlines())), 1):
                ChecklistItem.objects.create(
                    launch=launch, key=f"condition:{signoff.pk}:{n}", title=line[:300], category="governance",
                    blocking=True, kind=ItemKind.MANUAL, source=ItemSource.CONDITION, position=2000 + base + n,
                    guidance=f"Condition set by {actor.display_name} ({Role(role).label}) when approving.",
                    added_by_signoff=signoff,
                )
        if decision == SignDecision.REJECT:
            transition(launch, LaunchStatus.REJECTED, actor=actor, reason=comment)
        else:
            _maybe_approve(launch, actor=actor)
    return signoff


# -- evaluations -----------------------------------------------------------------------------------------

def validate_metrics(metrics: object) -> dict[str, float]:
    if not isinstance(metrics, dict) or not metrics:
        raise ValidationFailed("Give metrics as a non-empty object of name → number.", field="metrics")
    if len(metrics) > MAX_METRICS:
        raise ValidationFailed(f"At most {MAX_METRICS} metrics per evaluation.", field="metrics")
    clean = {}
    for key, value in metrics.items():
        if not isinstance(key, str) or not METRIC_KEY_RE.match(key) or len(key) > 200:
            raise ValidationFailed(f"Metric name {str(key)[:60]!r} must be lower-case words joined by dots "
                                   "(e.g. psi.income).", field=f"metrics.{str(key)[:60]}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationFailed(f"Metric {key} must be a number, not {type(value).__name__}.",
                                   field=f"metrics.{key}")
        if not math.isfinite(value):
            raise ValidationFailed(f"Metric {key} must be finite (NaN and infinity are refused).",
                                   field=f"metrics.{key}")
        clean[key] = value
    return clean


_SUMMARY_KEYS = frozenset({"max", "insufficient"})


def drifting_features(evaluation: Evaluation, *, psi_act: float) -> list[str]:
    """Features at the act level of drift in an evaluation: those its drift report marks ACT, and those whose
    submitted ``psi.<feature>`` is at or above the tier's PSI act level. Each asks for the model's revalidation."""
    drift = (evaluation.report or {}).get("drift") or {}
    names = [str(f["feature"]) for f in drift.get("features", []) if f.get("status") == "ACT"]
    for key, value in (evaluation.metrics or {}).items():
        name = key.removeprefix("psi.")
        if (key.startswith("psi.") and name not in _SUMMARY_KEYS and isinstance(value, int | float)
                and not isinstance(value, bool) and value >= psi_act):
            names.append(name)
    return list(dict.fromkeys(names))


def submit_evaluation(launch: LaunchRequest, *, actor: Actor, metrics: dict[str, Any], kind: str = Evaluation.Kind.METRICS,
                      report: dict[str, Any] | None = None, source_sha256: str = "", source_rows: int | None = None) -> Evaluation:
    """Store an evaluation, re-evaluate the automatic checklist items, and refresh the content hash."""
    require(actor, "evaluation.submit", launch)
    metrics = validate_metrics(metrics)
    with transaction.atomic():
        launch = lock(launch)
        _require_editable(launch, "submit an evaluation")
        evaluation = Evaluation.objects.create(
            launch=launch, kind=kind, metrics=metrics, report=report, source_sha256=source_sha256,
            source_rows=source_rows, submitted_by=actor_label(actor), created_at=clock.now(),
        )
        _evaluate_automatic_items(launch, evaluation)
        audit.record("evaluation.submitted", evaluation, actor=actor, after={
            "launch": launch.pk, "kind": kind, "metric_count": len(metrics), "source_sha256": source_sha256,
        })
        for feature in drifting_features(evaluation, psi_act=launch.policy_version.thresholds.get("psi_act", 0.2)):
            model_risk.trigger_drift(launch.version.model, actor=actor, evaluation_id=evaluation.pk, feature=feature)
        refresh_content(launch, actor=actor, reason="new evaluation")
        _maybe_approve(launch, actor=actor)
    return evaluation




# -- history ----------------------------------------------------------------------------------------------

def import_historical_launch(version: ModelVersion, *, actor: Actor, policy_version: TierPolicyVersion, title: str,
                             summary: str, author: User, status: str, approved_at: datetime, launched_at: datetime,
                             signoffs: Sequence[tuple[User, str, str, datetime]] = (), **memo: str) -> LaunchRequest:
    """Record a launch that was decided before Gatehouse governed it, exactly as it happened: its signatures as
    given, its checklist as it would be judged today (unattested items stay pending). Only an administrator (or
    Gatehouse itself, seeding) may import history, and the import is audited as such."""
    if not (isinstance(actor, SystemActor) or getattr(actor, "is_superuser", False)):
        raise PermissionDenied("Only an administrator can import launch history.", code="admin_required")
    if status not in (LaunchStatus.LAUNCHED, LaunchStatus.ROLLING_OUT):
        raise ValidationFailed("Only launches that went live are imported.", field="status")
    with transaction.atomic():
        launch = LaunchRequest.objects.create(
            version=version, policy_version=policy_version, title=title, summary=summary, author=author,
            status=status, required_roles=required_roles_for(version, policy_version), approved_at=approved_at,
            submitted_at=approved_at, rollout_started_at=launched_at,
            launched_at=launched_at if status == LaunchStatus.LAUNCHED else None, created_at=clock.now(), **memo)
        _copy_checklist_template(launch, policy_version)
        _sync_feature_controls(launch)
        plan = _create_plan_from_template(launch, policy_version)
        last = plan.stages.order_by("-position").first()
        if last is not None:
            plan.current_stage, plan.stage_entered_at = last, launched_at
            plan.save(update_fields=["current_stage", "stage_entered_at"])
        items = list(launch.items.all())
        launch.content_hash = content.compute_content_hash(
            launch, items=items, evaluation=None, plan=plan, stages=list(plan.stages.all()),
            guardrails=list(plan.guardrails.select_related("stage")))
        launch.save(update_fields=["content_hash"])
        for signer, role, decision, signed_at in signoffs:
            SignOff.objects.create(launch=launch, role=role, signer=signer, decision=decision, signed_at=signed_at,
                                   content_hash=launch.content_hash, comment="Recorded from the paper sign-off.")
        audit.record("launch.imported", launch, actor=actor, after={
            "version": str(version), "status": status, "approved_at": approved_at, "launched_at": launched_at,
            "signoffs": [{"signer": s.username, "role": r, "decision": d} for s, r, d, _ in signoffs],
            "policy": f"{policy_version.policy.tier} v{policy_version.number}",
        })
    return launch
