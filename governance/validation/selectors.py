"""Reads of model risk: what the gate denies for, and what the validator's pages list.

``gate_reasons`` is the one function the launch gate asks; it reads one row (the model, with its model-risk facts
as subqueries), so the gate's query count does not grow with a model's history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Count, Exists, IntegerField, Min, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from governance.inventory.models import MLModel
from governance.kernel.prepared import Prepared
from governance.validation import rules
from governance.validation.models import (
    SEVERITY_RANK,
    Finding,
    FindingSeverity,
    FindingStatus,
    GateWaiver,
    Hold,
    Outcome,
    RevalidationNeed,
    Validation,
    ValidationStatus,
)

APPROVING = (Outcome.APPROVED, Outcome.APPROVED_WITH_CONDITIONS)


@dataclass(frozen=True)
class GateReason:
    code: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.detail}


def _latest_completed(model: OuterRef) -> QuerySet[Validation]:
    """A model's completed validations, newest first: the first is the one in force."""
    return Validation.objects.filter(model=model, status=ValidationStatus.COMPLETED).order_by("-completed_at", "-pk")


def _count(queryset: QuerySet[Any]) -> Coalesce:
    return Coalesce(Subquery(queryset.order_by().values("model_id").annotate(n=Count("pk")).values("n")[:1],
                             output_field=IntegerField()), 0)


_GATE_FIELDS = ("risk_tier", "materiality", "is_model", "retired_at", "latest_outcome", "latest_valid_until",
                "needs_overdue", "findings_overdue", "holds_overdue", "waived_revalidation", "waived_finding",
                "waived_action_item", "waived_validation")


def _gate_row(slug: str, now: datetime, today: date, rank: int) -> QuerySet[Any, Any]:
    model = OuterRef("pk")
    latest = _latest_completed(model)
    waived = GateWaiver.objects.filter(model=model, revoked_at=None, expires_at__gt=now)
    return (MLModel.objects.filter(slug=slug).annotate(
        latest_outcome=Subquery(latest.values("outcome")[:1]),
        latest_valid_until=Subquery(latest.values("valid_until")[:1]),
        needs_overdue=_count(RevalidationNeed.objects.filter(model=model, resolved_at=None, due_date__lt=today)),
        findings_overdue=_count(Finding.objects.filter(model=model, severity_rank__gte=rank, due_date__lt=today)
                                .exclude(status=FindingStatus.CLOSED)),
        holds_overdue=_count(Hold.objects.filter(model=model, cleared_at=None, due_date__lt=today)),
        waived_revalidation=Exists(waived.filter(code="revalidation_overdue")),
        waived_finding=Exists(waived.filter(code="finding_overdue")),
        waived_action_item=Exists(waived.filter(code="action_item_overdue")),
        waived_validation=Exists(waived.filter(code="no_current_validation")),
    ).values_list(*_GATE_FIELDS)[:1])


# Compiled once per thread: building this statement cost the gate far more than running it (kernel.prepared).
_gate_statement = Prepared(_gate_row, slug="text", now="datetime", today="date", rank="int")


def gate_reasons(model_slug: str, *, now: datetime | None = None) -> list[dict[str, str]]:
    """The model-risk reasons the gate denies ``model_slug`` for, each with its code: ``model_retired``,
    ``revalidation_overdue`` (a need past its due date, or the last validation's interval run out, for a model
    whose materiality is assessed),
    ``finding_overdue`` (an open finding at or above ``VALIDATION_GATE_SEVERITY`` past its due date),
    ``action_item_overdue`` (a hold raised by an incident's action item past due) and ``no_current_validation``
    (a tier that needs a validation, once materiality is assessed, has no approving one). A reason that has a
    valid waiver is left out. One query."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    rank = SEVERITY_RANK[FindingSeverity(rules.gate_severity())]
    rows = _gate_statement.rows(slug=model_slug, now=now, today=today, rank=rank)
    if not rows:
        return []  # the gate explains an unknown model itself
    return [r.as_dict() for r in _reasons(dict(zip(_GATE_FIELDS, rows[0], strict=True)), today)]


def _reasons(row: Mapping[str, Any], today: date) -> list[GateReason]:
    reasons = []
    if row["retired_at"] is not None:
        reasons.append(GateReason("model_retired", "The model is retired from the inventory."))
    # Revalidation renews a validation that materiality asks for: a model not yet assessed (or decided not to be
    # a model) has its needs listed for Model Risk, and the gate asks for them once it is in the programme.
    in_programme = bool(row["materiality"]) and row["is_model"] is not False
    expired = row["latest_valid_until"] is not None and row["latest_valid_until"] < today
    if in_programme and (row["needs_overdue"] or expired) and not row["waived_revalidation"]:
        parts = []
        if row["needs_overdue"]:
            parts.append(f"{row['needs_overdue']} revalidation need(s) past their due date")
        if expired:
            parts.append(f"the last validation was current until {row['latest_valid_until'].isoformat()}")
        reasons.append(GateReason("revalidation_overdue", "Revalidation is overdue: " + "; ".join(parts) + "."))
    if row["findings_overdue"] and not row["waived_finding"]:
        reasons.append(GateReason("finding_overdue", f"{row['findings_overdue']} open validation finding(s) of "
                                  f"{rules.gate_severity().lower()} severity or above are past their due date."))
    if row["holds_overdue"] and not row["waived_action_item"]:
        reasons.append(GateReason("action_item_overdue", f"{row['holds_overdue']} action item(s) from incidents on "
                                  "this model are past their due date."))
    needs_validation = (row["materiality"] and row["is_model"] is not False
                        and row["risk_tier"] in rules.VALIDATION_REQUIRED_TIERS)
    if needs_validation and row["latest_outcome"] not in APPROVING and not row["waived_validation"]:
        why = ("the latest validation did not approve it" if row["latest_outcome"] == Outcome.NOT_APPROVED
               else "it has never been validated")
        reasons.append(GateReason("no_current_validation", f"A {row['risk_tier']} model needs a current approving "
                                  f"validation; {why}."))
    return reasons


# --- The validator's pages -----------------------------------------------------------------------------------

def validation_detail(pk: int) -> Validation:
    return (Validation.objects.select_related("model", "model__owner", "validator", "version")
            .prefetch_related("findings__owner", "findings__delegate", "resolved_needs").get(pk=pk))


def finding_detail(pk: int) -> Finding:
    return Finding.objects.select_related("validation__validator", "model", "owner", "delegate",
                                          "remediated_by", "retested_by").get(pk=pk)



@dataclass(frozen=True)
class ModelRiskSummary:
    """What the model page shows of a model's validation, in one query."""

    latest_outcome: str | None
    latest_completed_at: datetime | None
    latest_valid_until: date | None
    open_findings: int
    open_needs: int
    in_progress: int

    @property
    def latest_outcome_label(self) -> str:
        return Outcome(self.latest_outcome).label if self.latest_outcome else ""


def model_risk_summary(model: MLModel) -> ModelRiskSummary:
    ref = OuterRef("pk")
    latest = _latest_completed(ref)
    row = MLModel.objects.filter(pk=model.pk).annotate(
        latest_outcome=Subquery(latest.values("outcome")[:1]),
        latest_completed_at=Subquery(latest.values("completed_at")[:1]),
        latest_valid_until=Subquery(latest.values("valid_until")[:1]),
        open_findings=_count(Finding.objects.filter(model=ref).exclude(status=FindingStatus.CLOSED)),
        open_needs=_count(RevalidationNeed.objects.filter(model=ref, resolved_at=None)),
        in_progress=_count(Validation.objects.filter(model=ref, status=ValidationStatus.IN_PROGRESS)),
    ).values("latest_outcome", "latest_completed_at", "latest_valid_until", "open_findings", "open_needs",
             "in_progress").get()
    return ModelRiskSummary(**row)


def model_validations(model: MLModel) -> QuerySet[Validation]:
    return (Validation.objects.filter(model=model).select_related("validator", "version")
            .annotate(open_findings=Count("findings", filter=~Q(findings__status=FindingStatus.CLOSED)))
            .order_by("-started_at", "-pk"))


def model_open_needs(model: MLModel) -> QuerySet[RevalidationNeed]:
    return RevalidationNeed.objects.filter(model=model, resolved_at=None)


def model_open_findings(model: MLModel) -> QuerySet[Finding]:
    return (Finding.objects.filter(model=model).exclude(status=FindingStatus.CLOSED)
            .select_related("owner", "delegate", "validation"))


def model_waivers(model: MLModel, *, now: datetime | None = None) -> QuerySet[GateWaiver]:
    return (GateWaiver.objects.filter(model=model, revoked_at=None, expires_at__gt=now or timezone.now())
            .select_related("granted_by"))


def validations_queue() -> QuerySet[Validation]:
    """The validations still open, oldest first: a validator's work in hand."""
    return (Validation.objects.filter(status=ValidationStatus.IN_PROGRESS).select_related("model", "validator", "version")
            .annotate(open_findings=Count("findings", filter=~Q(findings__status=FindingStatus.CLOSED)))
            .order_by("started_at", "pk"))


def recent_validations() -> QuerySet[Validation]:
    return (Validation.objects.filter(status=ValidationStatus.COMPLETED).select_related("model", "validator", "version")
            .order_by("-completed_at", "-pk"))


def open_needs_queue() -> QuerySet[RevalidationNeed]:
    return RevalidationNeed.objects.filter(resolved_at=None).select_related("model").order_by("due_date", "pk")


def open_findings_queue() -> QuerySet[Finding]:
    return (Finding.objects.exclude(status=FindingStatus.CLOSED).select_related("model", "owner", "delegate")
            .order_by("due_date", "-severity_rank", "pk"))


# --- What the reports say of validation ---------------------------------------------------------------------------

class Standing:
    """Why a model is, or is not, validated: the codes the reports print and count."""

    VALIDATED = "VALIDATED"
    NOT_A_MODEL = "NOT_A_MODEL"
    RETIRED = "RETIRED"
    NO_VALIDATION = "NO_VALIDATION"
    IN_PROGRESS = "IN_PROGRESS"
    NOT_APPROVED = "NOT_APPROVED"
    EXPIRED = "EXPIRED"
    CONDITIONS_OPEN = "CONDITIONS_OPEN"


SEVERITIES = tuple(FindingSeverity.values)  # LOW … CRITICAL, as the reports list them


@dataclass(frozen=True)
class ValidationStanding:
    """One model's validation as the records say: the validation in force (``_latest_completed``), whether it
    counts as validated and why not, its findings open and overdue by severity, and its revalidation needs.
    "Validated" means a completed, approving, unexpired validation whose conditions (the findings of an "approved
    with conditions" validation) are closed — not that Model Risk signed a launch."""

    model_id: int
    standing: str
    reason: str
    validation_id: int | None
    outcome: str
    validator: str
    completed_at: datetime | None
    valid_until: date | None
    report_sha256: str
    open_findings: dict[str, int]
    overdue_findings: dict[str, int]
    needs_open: int
    needs_overdue: int
    next_due: date | None
    in_progress: int

    @property
    def validated(self) -> bool:
        return self.standing == Standing.VALIDATED


def _standing(row: Mapping[str, Any], today: date) -> tuple[str, str]:
    outcome, until = row["latest_outcome"], row["latest_valid_until"]
    if row["retired_at"] is not None:
        return Standing.RETIRED, "Retired from the inventory."
    if row["is_model"] is False:
        return Standing.NOT_A_MODEL, "Recorded as not a model in the guidance's sense."
    if outcome is None:
        if row["in_progress"]:
            return Standing.IN_PROGRESS, "Never validated; a validation is in progress."
        return Standing.NO_VALIDATION, "Never validated."
    if outcome == Outcome.NOT_APPROVED:
        return Standing.NOT_APPROVED, "The latest validation did not approve it."
    if until is not None and until < today:
        return Standing.EXPIRED, f"The latest validation was current until {until.isoformat()}."
    if outcome == Outcome.APPROVED_WITH_CONDITIONS and row["conditions_open"]:
        return (Standing.CONDITIONS_OPEN, f"Approved with conditions; {row['conditions_open']} condition(s) "
                "of that validation still open.")
    return Standing.VALIDATED, "Validated."


def _person(row: Mapping[str, Any]) -> str:
    """The validator's name as ``User.display_name`` gives it, from the row's columns."""
    full = f"{row['validator_first'] or ''} {row['validator_last'] or ''}".strip()
    return full or row["validator_username"] or ""


def validation_standings(model_ids: list[int] | None = None, *, today: date | None = None
                         ) -> dict[int, ValidationStanding]:
    """The validation standing of every model (or of ``model_ids``), in three queries whatever their number: the
    models with the validation in force as subqueries, the open findings grouped by model and severity, and the
    open needs grouped by model."""
    today = today or timezone.localdate()
    ref = OuterRef("pk")
    latest = _latest_completed(ref)
    models = MLModel.objects.all() if model_ids is None else MLModel.objects.filter(pk__in=model_ids)
    rows = models.annotate(
        latest_id=Subquery(latest.values("pk")[:1]),
        latest_outcome=Subquery(latest.values("outcome")[:1]),
        latest_completed_at=Subquery(latest.values("completed_at")[:1]),
        latest_valid_until=Subquery(latest.values("valid_until")[:1]),
        latest_sha256=Subquery(latest.values("report_sha256")[:1]),
        validator_first=Subquery(latest.values("validator__first_name")[:1]),
        validator_last=Subquery(latest.values("validator__last_name")[:1]),
        validator_username=Subquery(latest.values("validator__username")[:1]),
        # the findings of the validation in force: its conditions, when it approved with conditions
        conditions_open=_count(Finding.objects.filter(
            model=ref, validation_id=Subquery(_latest_completed(OuterRef(OuterRef("pk"))).values("pk")[:1]))
            .exclude(status=FindingStatus.CLOSED)),
        in_progress=_count(Validation.objects.filter(model=ref, status=ValidationStatus.IN_PROGRESS)),
    ).values("pk", "retired_at", "is_model", "latest_id", "latest_outcome", "latest_completed_at",
             "latest_valid_until", "latest_sha256", "validator_first", "validator_last", "validator_username",
             "conditions_open", "in_progress")
    findings = (Finding.objects.exclude(status=FindingStatus.CLOSED)
                .filter(**({} if model_ids is None else {"model_id__in": model_ids}))
                .values("model_id", "severity").annotate(n=Count("pk"), late=Count("pk", filter=Q(due_date__lt=today)))
                .order_by())
    needs = (RevalidationNeed.objects.filter(resolved_at=None)
             .filter(**({} if model_ids is None else {"model_id__in": model_ids}))
             .values("model_id").annotate(n=Count("pk"), late=Count("pk", filter=Q(due_date__lt=today)),
                                          first=Min("due_date")).order_by())
    by_model: dict[int, dict[str, dict[str, int]]] = {}
    for f in findings:
        counts = by_model.setdefault(f["model_id"], {"open": {}, "late": {}})
        counts["open"][f["severity"]] = f["n"]
        if f["late"]:
            counts["late"][f["severity"]] = f["late"]
    need_counts: dict[int, dict[str, Any]] = {n["model_id"]: dict(n) for n in needs}
    out = {}
    for row in rows:
        standing, reason = _standing(row, today)
        counts = by_model.get(row["pk"], {"open": {}, "late": {}})
        need = need_counts.get(row["pk"], {})
        out[row["pk"]] = ValidationStanding(
            model_id=row["pk"], standing=standing, reason=reason, validation_id=row["latest_id"],
            outcome=row["latest_outcome"] or "", validator=_person(row),
            completed_at=row["latest_completed_at"], valid_until=row["latest_valid_until"],
            report_sha256=row["latest_sha256"] or "",
            open_findings={s: counts["open"][s] for s in SEVERITIES if s in counts["open"]},
            overdue_findings={s: counts["late"][s] for s in SEVERITIES if s in counts["late"]},
            needs_open=need.get("n", 0), needs_overdue=need.get("late", 0), next_due=need.get("first"),
            in_progress=row["in_progress"])
    return out
