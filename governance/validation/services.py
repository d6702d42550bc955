"""Every state change of model risk validation: validations and their findings, revalidation needs set off by
events, holds raised by higher layers, and waivers of the gate's model-risk reasons. Each checks permission,
validates, locks the model it changes, writes, and records an audit event.

Layers above (readiness's guardrails and drift, postmortems' incidents and action items) call the trigger and
hold functions here; the inventory and the policies, below, send signals that ``receivers`` turns into triggers.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.files.base import ContentFile
from django.db import transaction

from governance.inventory.materiality import REQUIREMENTS, Materiality
from governance.inventory.models import MLModel, ModelVersion
from governance.kernel import audit, clock
from governance.kernel.errors import Conflict, PermissionDenied, ValidationFailed
from governance.kernel.models import User
from governance.kernel.permissions import has_role, require
from governance.kernel.principals import acting_person
from governance.kernel.reauth import confirm_identity
from governance.kernel.roles import Role
from governance.validation import rules
from governance.validation.models import (
    Finding,
    FindingSeverity,
    FindingStatus,
    GateWaiver,
    Hold,
    Outcome,
    RevalidationNeed,
    ScopeArea,
    Trigger,
    Validation,
    ValidationStatus,
)

if TYPE_CHECKING:
    from governance.kernel.principals import Actor

MAX_REPORT_BYTES = 20 * 1024 * 1024
WAIVABLE_CODES = frozenset({"revalidation_overdue", "finding_overdue", "action_item_overdue",
                            "no_current_validation"})


def _lock_model(model: MLModel) -> MLModel:
    return MLModel.objects.select_for_update().get(pk=model.pk)


def _text(value: object, field: str, what: str, *, max_length: int | None = None) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ValidationFailed(f"Give {what}.", field=field)
    if max_length and len(text) > max_length:
        raise ValidationFailed(f"{what.capitalize()} is at most {max_length} characters.", field=field)
    return text


# --- Independence ---------------------------------------------------------------------------------------------

def independence_conflicts(model: MLModel, person: User) -> list[str]:
    """What ties ``person`` to the model's development: its owner, or the author of a version, an evaluation or a
    launch of it. Launches and evaluations belong to readiness, above this layer; they are read by relation name."""
    ties = []
    if model.owner_id == person.pk:
        ties.append("owns the model")
    versions = ModelVersion.objects.filter(model_id=model.pk)
    if versions.filter(created_by_id=person.pk).exists():
        ties.append("registered a version of it")
    if versions.filter(launches__author_id=person.pk).exists():
        ties.append("wrote a launch of it")
    if versions.filter(launches__evaluations__submitted_by=person.get_username()).exists():
        ties.append("submitted an evaluation of it")
    return ties


def check_independent(model: MLModel, person: User) -> None:
    """Effective challenge needs a validator independent of development (SR 11-7 section V)."""
    ties = independence_conflicts(model, person)
    if ties:
        raise PermissionDenied(f"{person.get_username()} {' and '.join(ties)}, so cannot validate {model.slug}: "
                               "a validator is independent of the model's development.", field="validator",
                               code="validator_not_independent")


# --- Validations ----------------------------------------------------------------------------------------------

def _check_scope(scope: object) -> list[str]:
    if not isinstance(scope, list | tuple) or not scope:
        raise ValidationFailed("Choose the areas the validation covers.", field="scope")
    unknown = [s for s in scope if s not in ScopeArea.values]
    if unknown:
        raise ValidationFailed(f"Unknown scope area {unknown[0]!r}; use {', '.join(ScopeArea.values)}.",
                               field="scope")
    return [s for s in ScopeArea.values if s in scope]


def start_validation(model: MLModel, *, actor: Actor, scope: object, version: ModelVersion | None = None
                     ) -> Validation:
    """A Model Risk person independent of the model opens a validation of it, for the scope they will cover."""
    require(actor, "validation.perform", model, message="Only Model Risk validates models.")
    validator = acting_person(actor)
    areas = _check_scope(scope)
    if version is not None and version.model_id != model.pk:
        raise ValidationFailed(f"Version {version.version} belongs to another model.", field="version")
    with transaction.atomic():
        locked = _lock_model(model)
        check_independent(locked, validator)
        validation = Validation.objects.create(model=locked, version=version, validator=validator, scope=areas,
                                               started_at=clock.now())
        audit.record("validation.started", validation, actor=actor, after={
            "model": locked.slug, "version": version.version if version else None, "scope": areas})
    return validation


def _lock_validation(validation: Validation) -> Validation:
    _lock_model(validation.model)
    return Validation.objects.select_for_update().select_related("model").get(pk=validation.pk)


def _require_validator(validation: Validation, actor: Actor, what: str) -> User:
    person = acting_person(actor)
    if validation.validator_id != person.pk:
        raise PermissionDenied(f"Only the validator of this validation can {what}.", code="not_the_validator")
    return person


def _check_due(value: object, field: str = "due_date") -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValidationFailed("Give a due date.", field=field)
    if value < clock.today():
        raise ValidationFailed("The due date is in the past; choose today or a later day.", field=field)
    return value


def _check_person(value: object, field: str) -> User:
    if not isinstance(value, User) or not value.is_active:
        raise ValidationFailed("Name an active person.", field=field)
    return value


def add_finding(validation: Validation, *, actor: Actor, severity: str, title: str, description: str,
                owner: User, due_date: date) -> Finding:
    """The validator records a finding with a named owner who must remediate it by the due date."""
    require(actor, "validation.perform", validation.model)
    if severity not in FindingSeverity.values:
        raise ValidationFailed(f"Unknown severity {severity!r}; use {', '.join(FindingSeverity.values)}.",
                               field="severity")
    finding = Finding(severity=severity, title=_text(title, "title", "a title", max_length=200),
                      description=_text(description, "description", "a description"),
                      owner=_check_person(owner, "owner"), due_date=_check_due(due_date), created_at=clock.now())
    with transaction.atomic():
        validation = _lock_validation(validation)
        _require_validator(validation, actor, "record its findings")
        if validation.status != ValidationStatus.IN_PROGRESS:
            raise Conflict("This validation is signed; open a new one to record more findings.",
                           code="validation_completed")
        finding.validation, finding.model = validation, validation.model
        finding.save()
        audit.record("finding.added", finding, actor=actor, after={
            "validation": validation.pk, "severity": severity, "title": finding.title,
            "owner": owner.get_username(), "due_date": finding.due_date})
    return finding


def _report_content(report: object) -> tuple[str, bytes] | None:
    if report is None:
        return None
    name = getattr(report, "name", "") or "report.pdf"
    size = getattr(report, "size", None)
    if size is not None and size > MAX_REPORT_BYTES:
        raise ValidationFailed("The report is larger than 20 MB.", field="report")
    data = report.read() if hasattr(report, "read") else report
    if not isinstance(data, bytes) or not data:
        raise ValidationFailed("Attach the validation report.", field="report")
    return name.rsplit("/", 1)[-1], data


def complete_validation(validation: Validation, *, actor: Actor, outcome: str, summary: str, report: object,
                        password: str | None = None, sso_proof: dict[str, Any] | None = None) -> Validation:
    """The validator signs the validation: an outcome, a summary and the report (stored with its sha256). The
    scope must cover what the model's materiality asks; "approved" needs no open finding (use "approved with
    conditions"). The validation stays current until its materiality's interval runs out, and it resolves the
    revalidation needs opened before it was signed."""
    require(actor, "validation.perform", validation.model)
    person = acting_person(actor)
    if outcome not in Outcome.values:
        raise ValidationFailed(f"Unknown outcome {outcome!r}; use {', '.join(Outcome.values)}.", field="outcome")
    summary = _text(summary, "summary", "a summary of the conclusions")
    content = _report_content(report)
    if content is None:
        raise ValidationFailed("Attach the validation report.", field="report")
    confirmation = confirm_identity(person, password=password, proof=sso_proof)
    now = clock.now()
    with transaction.atomic():
        validation = _lock_validation(validation)
        _require_validator(validation, actor, "sign it")
        model = validation.model
        if validation.status != ValidationStatus.IN_PROGRESS:
            raise Conflict("This validation is already signed.", code="validation_completed")
        check_independent(model, person)  # a tie may have arisen since it was opened
        if not model.materiality:
            raise Conflict(f"Set {model.slug}'s materiality first: it decides the scope a validation must cover.",
                           code="materiality_unset")
        requirement = REQUIREMENTS[Materiality(model.materiality)]
        missing = [ScopeArea(a).label for a in requirement.scope if a not in validation.scope]
        if missing:
            raise ValidationFailed(f"A model of {Materiality(model.materiality).label.lower()} materiality needs these areas "
                                   f"validated too: {', '.join(missing)}.", field="scope", code="scope_incomplete")
        open_findings = validation.findings.exclude(status=FindingStatus.CLOSED).count()
        if outcome == Outcome.APPROVED and open_findings:
            raise ValidationFailed(f"{open_findings} finding(s) are open: approve with conditions, or close them "
                                   "first.", field="outcome", code="open_findings")
        name, data = content
        validation.report.save(name, ContentFile(data), save=False)
        validation.report_sha256 = hashlib.sha256(data).hexdigest()
        validation.status, validation.outcome, validation.summary = ValidationStatus.COMPLETED, outcome, summary
        validation.completed_at = now
        validation.valid_until = clock.today() + timedelta(days=requirement.revalidate_days)
        validation.save()
        resolved = list(RevalidationNeed.objects.filter(model=model, resolved_at=None, opened_at__lte=now)
                        .values_list("pk", flat=True))
        RevalidationNeed.objects.filter(pk__in=resolved).update(resolved_by=validation, resolved_at=now)
        audit.record("validation.completed", validation, actor=actor, after={
            "model": model.slug, "outcome": outcome, "report_sha256": validation.report_sha256,
            "valid_until": validation.valid_until, "resolved_needs": resolved,
            **(confirmation.as_audit() if confirmation else {})})
    return validation


# --- Findings: owners, delegates, remediation, re-test ----------------------------------------------------------

def _lock_finding(finding: Finding) -> Finding:
    _lock_model(finding.model)
    return Finding.objects.select_for_update().select_related("validation", "model").get(pk=finding.pk)


def may_remediate(finding: Finding, person: Any) -> bool:
    """Only the named owner, or the delegate the owner recorded, clears a finding's remediation."""
    pk = getattr(person, "pk", None)
    return pk is not None and pk in (finding.owner_id, finding.delegate_id)


def delegate_finding(finding: Finding, *, actor: Actor, delegate: User | None) -> Finding:
    """The owner records a delegate who may remediate on their behalf (or removes the delegate)."""
    require(actor, "finding.remediate", finding.model)
    person = acting_person(actor)
    if delegate is not None:
        _check_person(delegate, "delegate")
    with transaction.atomic():
        finding = _lock_finding(finding)
        if finding.owner_id != person.pk:
            raise PermissionDenied("Only the finding's owner records a delegate.", code="not_the_owner")
        if delegate is not None and delegate.pk == person.pk:
            raise ValidationFailed("The owner needs no delegation to themselves.", field="delegate")
        before = finding.delegate.get_username() if finding.delegate else None
        finding.delegate = delegate
        finding.save(update_fields=["delegate"])
        audit.record("finding.delegated", finding, actor=actor, before={"delegate": before},
                     after={"delegate": delegate.get_username() if delegate else None})
    return finding


def remediate_finding(finding: Finding, *, actor: Actor, evidence: str) -> Finding:
    """The owner (or their recorded delegate) says what remediated the finding; it then waits for the
    validator's re-test."""
    require(actor, "finding.remediate", finding.model)
    person = acting_person(actor)
    evidence = _text(evidence, "evidence", "the evidence that remediates it")
    with transaction.atomic():
        finding = _lock_finding(finding)
        if not may_remediate(finding, person):
            raise PermissionDenied(f"Only {finding.owner.get_username()}, the finding's owner, or a delegate they "
                                   "recorded can clear it.", code="not_the_owner")
        if finding.status != FindingStatus.OPEN:
            raise Conflict(f"This finding is {finding.get_status_display().lower()}.", code="finding_not_open")
        finding.status, finding.evidence = FindingStatus.REMEDIATED, evidence
        finding.remediated_by, finding.remediated_at = person, clock.now()
        finding.save(update_fields=["status", "evidence", "remediated_by", "remediated_at"])
        audit.record("finding.remediated", finding, actor=actor,
                     after={"evidence": evidence, "on_behalf_of": finding.owner.get_username()
                            if person.pk != finding.owner_id else None})
    return finding


def retest_finding(finding: Finding, *, actor: Actor, passed: bool, note: str) -> Finding:
    """The validator re-tests the remediation: a pass closes the finding, a fail sends it back to its owner."""
    require(actor, "validation.perform", finding.model)
    note = _text(note, "note", "what the re-test showed")
    with transaction.atomic():
        finding = _lock_finding(finding)
        person = _require_validator(finding.validation, actor, "re-test its findings")
        if finding.status != FindingStatus.REMEDIATED:
            raise Conflict("Only a remediated finding is re-tested.", code="finding_not_remediated")
        finding.retest_note, finding.retested_by = note, person
        if passed:
            finding.status, finding.closed_at = FindingStatus.CLOSED, clock.now()
        else:
            finding.status = FindingStatus.OPEN
        finding.save(update_fields=["status", "retest_note", "retested_by", "closed_at"])
        audit.record("finding.retested", finding, actor=actor, after={"passed": bool(passed), "note": note})
    return finding


def reopen_finding(finding: Finding, *, actor: Actor, reason: str, due_date: date,
                   source_incident_id: int | None = None) -> Finding:
    """A closed or remediated finding is opened again when evidence shows the weakness is back (an incident, a
    failed monitor), with a new due date; the incident that showed it is named as its source."""
    require(actor, "validation.perform", finding.model)
    reason = _text(reason, "reason", "the reason to re-open it")
    due = _check_due(due_date)
    with transaction.atomic():
        finding = _lock_finding(finding)
        if finding.status == FindingStatus.OPEN:
            raise Conflict("This finding is already open.", code="finding_open")
        before = {"status": finding.status, "due_date": finding.due_date}
        finding.status, finding.due_date, finding.closed_at = FindingStatus.OPEN, due, None
        finding.reopened_count += 1
        finding.reopen_reason = reason
        if source_incident_id is not None:
            finding.source_incident_id = source_incident_id
        finding.save(update_fields=["status", "due_date", "closed_at", "reopened_count", "reopen_reason",
                                    "source_incident_id"])
        audit.record("finding.reopened", finding, actor=actor, before=before,
                     after={"status": finding.status, "due_date": due, "reason": reason},
                     source_incident=source_incident_id)
    return finding


# --- Revalidation needs set off by events -----------------------------------------------------------------------

def open_revalidation_need(model: MLModel, *, actor: Actor, trigger: str, source_type: str, source_id: object,
                           source_label: str, source_incident_id: int | None = None,
                           due_date: date | None = None) -> tuple[RevalidationNeed, bool]:
    """An event on the model asks for it to be validated again. Exactly one need per source record: a repeat of the
    same trigger from the same record returns the need already open, and records nothing. Returns (need, opened).

    Called by the layers where events happen, with the acting user of the event (or Gatehouse itself)."""
    if trigger not in Trigger.values:
        raise ValidationFailed(f"Unknown trigger {trigger!r}.", field="trigger")
    key = str(source_id)
    due = due_date or clock.today() + timedelta(days=rules.TRIGGER_DUE_DAYS[trigger])
    with transaction.atomic():
        locked = _lock_model(model)  # serialises triggers on one model, so the lookup below cannot race
        need = RevalidationNeed.objects.filter(model=locked, trigger=trigger, source_type=source_type,
                                               source_id=key).first()
        if need is not None:
            return need, False
        need = RevalidationNeed.objects.create(
            model=locked, trigger=trigger, source_type=source_type, source_id=key, source_label=source_label[:300],
            source_incident_id=source_incident_id, opened_at=clock.now(), due_date=due)
        audit.record("revalidation.opened", need, actor=actor, after={
            "model": locked.slug, "trigger": trigger, "source": f"{source_type}#{key}", "label": need.source_label,
            "due_date": due}, source_incident=source_incident_id)
    return need, True


def dismiss_revalidation_need(need: RevalidationNeed, *, actor: Actor, reason: str) -> RevalidationNeed:
    """Model Risk closes a revalidation need by hand, without a validation, saying why (a trigger that does not
    touch what was validated, a duplicate of another need). Only Model Risk: the need asks for its judgement, and
    the reason is kept on the need and in the audit log."""
    require(actor, "validation.perform", need.model,
            message="Only Model Risk can dismiss a revalidation need.")
    reason = _text(reason, "reason", "the reason the revalidation need is dismissed", max_length=5_000)
    with transaction.atomic():
        _lock_model(need.model)
        need = RevalidationNeed.objects.select_for_update().get(pk=need.pk)
        if need.resolved_at is not None:
            raise Conflict("This revalidation need is already resolved." if need.dismissed_by_id is None
                           else "This revalidation need is already dismissed.", code="need_resolved")
        need.resolved_at = clock.now()
        need.dismissed_by = acting_person(actor)
        need.dismiss_reason = reason
        need.save(update_fields=["resolved_at", "dismissed_by", "dismiss_reason"])
        audit.record("revalidation.dismissed", need, actor=actor, after={
            "model": need.model.slug, "trigger": need.trigger, "source": f"{need.source_type}#{need.source_id}",
            "reason": reason}, source_incident=need.source_incident_id)
    return need


def trigger_incident(model: MLModel, *, actor: Actor, incident_id: int) -> tuple[RevalidationNeed, bool]:
    """An incident on the model. The label names the incident by number only: its title may be restricted."""
    return open_revalidation_need(model, actor=actor, trigger=Trigger.INCIDENT, source_type="postmortems.incident",
                                  source_id=incident_id, source_label=f"Incident #{incident_id}",
                                  source_incident_id=incident_id)


def trigger_guardrail_breach(model: MLModel, *, actor: Actor, guardrail_id: int, launch_id: int, metric: str
                             ) -> tuple[RevalidationNeed, bool]:
    return open_revalidation_need(model, actor=actor, trigger=Trigger.GUARDRAIL_BREACH,
                                  source_type="readiness.guardrail", source_id=guardrail_id,
                                  source_label=f"Guardrail on {metric} breached in launch #{launch_id}")


def trigger_drift(model: MLModel, *, actor: Actor, evaluation_id: int, feature: str) -> tuple[RevalidationNeed, bool]:
    return open_revalidation_need(model, actor=actor, trigger=Trigger.DRIFT, source_type="readiness.evaluation",
                                  source_id=f"{evaluation_id}:{feature}",
                                  source_label=f"Drift at the act level on {feature} (evaluation #{evaluation_id})")


# --- Holds raised by higher layers ------------------------------------------------------------------------------

def raise_hold(model: MLModel, *, actor: Actor, source_type: str, source_id: object, source_label: str,
               due_date: date, source_incident_id: int | None = None) -> Hold:
    """A higher layer's open obligation on the model (an incident's action item): the gate denies once it is past
    due and still open. Raising it again for the same record updates its due date; nothing is duplicated."""
    key = str(source_id)
    with transaction.atomic():
        locked = _lock_model(model)
        hold = Hold.objects.filter(model=locked, source_type=source_type, source_id=key).first()
        if hold is not None and hold.cleared_at is None and hold.due_date == due_date:
            return hold
        verb = "hold.raised" if hold is None else "hold.updated"
        if hold is None:
            hold = Hold(model=locked, source_type=source_type, source_id=key, raised_at=clock.now())
        hold.source_label, hold.due_date, hold.cleared_at = source_label[:300], due_date, None
        hold.source_incident_id = source_incident_id
        hold.save()
        audit.record(verb, hold, actor=actor, after={"model": locked.slug, "source": f"{source_type}#{key}",
                                                     "due_date": due_date}, source_incident=source_incident_id)
    return hold


def clear_hold(model: MLModel, *, actor: Actor, source_type: str, source_id: object) -> Hold | None:
    with transaction.atomic():
        locked = _lock_model(model)
        hold = Hold.objects.filter(model=locked, source_type=source_type, source_id=str(source_id),
                                   cleared_at=None).first()
        if hold is None:
            return None
        hold.cleared_at = clock.now()
        hold.save(update_fields=["cleared_at"])
        audit.record("hold.cleared", hold, actor=actor, after={"model": locked.slug}, source_incident=hold.source_incident_id)
    return hold


# --- Waivers of the gate's model-risk reasons ----------------------------------------------------------------

def waive_gate_reason(model: MLModel, *, actor: Actor, code: str, reason: str, expires_at: datetime | None,
                      password: str | None = None, sso_proof: dict[str, Any] | None = None) -> GateWaiver:
    """Model Risk or Compliance lets one model-risk reason pass the gate until an expiry, with a reason, after
    re-authenticating. The model's owner cannot waive its own model's reasons: separation of duties."""
    require(actor, "validation.waive", model, message="Only Model Risk or Compliance can waive a model-risk reason.")
    person = acting_person(actor)
    if code not in WAIVABLE_CODES:
        raise ValidationFailed(f"{code!r} is not a model-risk reason that can be waived.", field="code")
    reason = _text(reason, "reason", "a reason for the waiver")
    now = clock.now()
    if expires_at is None or expires_at <= now:
        raise ValidationFailed("A waiver's expiry must be in the future.", field="expires_at")
    if expires_at > now + timedelta(days=rules.MAX_WAIVER_DAYS):
        raise ValidationFailed(f"A model-risk waiver lasts at most {rules.MAX_WAIVER_DAYS} days.",
                               field="expires_at")
    confirmation = confirm_identity(person, password=password, proof=sso_proof)
    role = Role.MODEL_RISK if has_role(person, Role.MODEL_RISK) else Role.COMPLIANCE
    with transaction.atomic():
        locked = _lock_model(model)
        if independence_conflicts(locked, person):
            raise PermissionDenied("Someone who develops this model cannot waive its model-risk reasons: "
                                   "separation of duties.", code="separation_of_duties")
        waiver = GateWaiver.objects.create(model=locked, code=code, reason=reason, granted_by=person, role=role,
                                           expires_at=expires_at, created_at=now)
        audit.record("validation.reason_waived", waiver, actor=actor, after={
            "model": locked.slug, "code": code, "reason": reason, "expires_at": expires_at, "role": role,
            **(confirmation.as_audit() if confirmation else {})})
    return waiver


def revoke_gate_waiver(waiver: GateWaiver, *, actor: Actor, reason: str) -> GateWaiver:
    require(actor, "validation.waive", waiver.model)
    reason = _text(reason, "reason", "the reason the waiver is revoked")
    with transaction.atomic():
        _lock_model(waiver.model)
        waiver = GateWaiver.objects.select_for_update().get(pk=waiver.pk)
        if waiver.revoked_at is not None:
            raise Conflict("This waiver is already revoked.", code="already_revoked")
        waiver.revoked_at = clock.now()
        waiver.save(update_fields=["revoked_at"])
        audit.record("validation.waiver_revoked", waiver, actor=actor, after={"reason": reason})
    return waiver
