"""What the reports say of model risk, read from the validation records (governance.validation): the dossier's
validation section, the governance pack's validation figures and inventory column, and what moved since the
last committee's pack.

"Validated" is ``ValidationStanding.validated``: a completed, approving, unexpired validation whose conditions are
closed. Model Risk's signature on a launch is a sign-off, shown with the sign-offs; it validates nothing.

Plain data out, like the rest of gathering, in a fixed number of queries whatever the history's size.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from governance.inventory.materiality import Materiality
from governance.models import AuditEvent, MLModel
from governance.validation.models import (
    Finding,
    FindingSeverity,
    FindingStatus,
    Outcome,
    RevalidationNeed,
    Trigger,
    Validation,
    ValidationStatus,
)
from governance.validation.selectors import SEVERITIES, Standing, ValidationStanding, validation_standings
from reporting.models import Report, ReportKind, ReportStatus
from reporting.periods import audit_events_between

LISTED = 20  # findings and needs a dossier lists; the totals count the rest
CHANGES_LISTED = 30  # rows of each kind in "changed since the last committee"
PREVIOUS_PACKS_READ = 50  # recent packs looked through for the previous committee's
# A recorded decision that it is not a model, or its retirement, takes it out of the validation programme.
OUT_OF_PROGRAMME = (Standing.NOT_A_MODEL, Standing.RETIRED)


def _name(user) -> str:
    return user.display_name if user is not None else ""


def severity_counts(counts: dict[str, int]) -> list[dict[str, Any]]:
    """Every severity, highest first, with its count (zero included, so a committee sees the empty rows)."""
    return [{"severity": s, "label": FindingSeverity(s).label, "count": counts.get(s, 0)} for s in reversed(SEVERITIES)]


def standing_text(standing: ValidationStanding) -> str:
    if not standing.validated:
        return standing.reason
    when = timezone.localtime(standing.completed_at) if standing.completed_at else None
    text = f"{Outcome(standing.outcome).label} by {standing.validator}"
    if when is not None:
        text += f", {when:%-d %b %Y}"
    if standing.valid_until is not None:
        text += f"; current until {standing.valid_until:%-d %b %Y}"
    return text


def standing_row(standing: ValidationStanding) -> dict[str, Any]:
    return {"standing": standing.standing, "validated": standing.validated, "text": standing_text(standing),
            "reason": standing.reason, "in_programme": standing.standing not in OUT_OF_PROGRAMME,
            "validation": standing.validation_id,
            "outcome_label": Outcome(standing.outcome).label if standing.outcome else "",
            "validator": standing.validator, "completed_at": standing.completed_at,
            "valid_until": standing.valid_until, "report_sha256": standing.report_sha256,
            "open_findings": sum(standing.open_findings.values()),
            "overdue_findings": sum(standing.overdue_findings.values()),
            "needs_open": standing.needs_open, "needs_overdue": standing.needs_overdue,
            "next_due": standing.next_due}


# -- launch dossier --------------------------------------------------------------------------------------------

def dossier_validation(model_id: int, *, today: date | None = None) -> dict[str, Any]:
    """The dossier's validation section for the launch's model: the validation in force and why the model is or
    is not validated, its open findings (highest severity first) and open revalidation needs (soonest due first),
    with totals by severity. Five queries."""
    today = today or timezone.localdate()
    standing = validation_standings([model_id], today=today)[model_id]
    findings = list(Finding.objects.filter(model_id=model_id).exclude(status=FindingStatus.CLOSED)
                    .select_related("owner", "validation").order_by("-severity_rank", "due_date", "pk")[:LISTED])
    needs = list(RevalidationNeed.objects.filter(model_id=model_id, resolved_at=None).order_by("due_date", "pk")[:LISTED])
    return {
        **standing_row(standing),
        "findings_by_severity": [{**row, "overdue": standing.overdue_findings.get(row["severity"], 0)}
                                 for row in severity_counts(standing.open_findings)],
        "findings": [{"id": f.pk, "severity": f.severity, "severity_label": f.get_severity_display(),
                      "title": f.title, "owner": _name(f.owner), "due_date": f.due_date,
                      "status_label": f.get_status_display(), "overdue": f.due_date < today,
                      "validation": f.validation_id, "reopened": f.reopened_count} for f in findings],
        # Labels name a source by kind and number only (an incident's title may be restricted).
        "needs": [{"id": n.pk, "trigger_label": n.get_trigger_display(), "source": n.source_label,
                   "opened_at": n.opened_at, "due_date": n.due_date, "overdue": n.due_date < today} for n in needs],
    }


# -- governance pack ------------------------------------------------------------------------------------------

def pack_model_risk(models: list[MLModel], standings: dict[int, ValidationStanding]) -> dict[str, Any]:
    """The pack's validation figures over the inventory: findings open and overdue by severity, revalidations due
    (models with an open need, or whose validation runs out), and the models in the programme that are not
    validated, each with the reason."""
    open_counts: dict[str, int] = {}
    overdue_counts: dict[str, int] = {}
    due, not_validated = [], []
    for model in models:
        s = standings[model.pk]
        for severity, n in s.open_findings.items():
            open_counts[severity] = open_counts.get(severity, 0) + n
        for severity, n in s.overdue_findings.items():
            overdue_counts[severity] = overdue_counts.get(severity, 0) + n
        row = {"slug": model.slug, "name": model.name, "tier": model.risk_tier,
               "materiality": Materiality(model.materiality).label if model.materiality else "not assessed"}
        if s.standing in OUT_OF_PROGRAMME:
            continue
        if s.needs_open:
            due.append({**row, "needs": s.needs_open, "overdue": s.needs_overdue, "due_date": s.next_due})
        if not s.validated:
            not_validated.append({**row, "standing": s.standing, "reason": s.reason})
    return {
        "findings": [{**r, "overdue": overdue_counts.get(r["severity"], 0)} for r in severity_counts(open_counts)],
        "findings_open": sum(open_counts.values()), "findings_overdue": sum(overdue_counts.values()),
        "revalidations_due": sorted(due, key=lambda r: (r["due_date"], r["slug"])),
        "needs_open": sum(r["needs"] for r in due), "needs_overdue": sum(r["overdue"] for r in due),
        "not_validated": not_validated,
    }


def previous_pack(start: date) -> Report | None:
    """The last committee's pack: the newest finished governance pack of a period that ended before this one
    began."""
    for report in (Report.objects.filter(kind=ReportKind.GOVERNANCE_PACK, status=ReportStatus.DONE)
                   .order_by("-created_at", "-pk")[:PREVIOUS_PACKS_READ]):
        end = (report.params or {}).get("end")
        if end and date.fromisoformat(end) < start:
            return report
    return None


def changed_since(start: date, since_period: datetime, now: datetime) -> dict[str, Any]:
    """What moved in model risk since the last committee's pack was made (or, with none on record, since the
    period began): validations signed, findings opened and closed, revalidation needs opened and cleared, and
    changes of risk tier or materiality — each read from the record's own date, counted in full and listed (up to
    ``CHANGES_LISTED`` of each kind) oldest first. A fixed number of queries."""
    previous = previous_pack(start)
    since = (previous.finished_at or previous.created_at) if previous is not None else since_period
    validations = Validation.objects.filter(status=ValidationStatus.COMPLETED, completed_at__gte=since,
                                            completed_at__lt=now)
    opened = Finding.objects.filter(created_at__gte=since, created_at__lt=now)
    closed = Finding.objects.filter(closed_at__gte=since, closed_at__lt=now, status=FindingStatus.CLOSED)
    needs_opened = RevalidationNeed.objects.filter(opened_at__gte=since, opened_at__lt=now)
    needs_cleared = RevalidationNeed.objects.filter(resolved_at__gte=since, resolved_at__lt=now)
    classification = audit_events_between(AuditEvent.objects.filter(
        Q(verb="model.materiality_set") | Q(verb="model.updated", after__risk_tier__isnull=False),
        object_type="governance.mlmodel"), since, now)
    counts = {"validations": validations.count(), "findings_opened": opened.count(),
              "findings_closed": closed.count(), "needs_opened": needs_opened.count(),
              "needs_cleared": needs_cleared.count(), "classification": classification.count()}
    rows: list[dict[str, Any]] = []
    for v in validations.select_related("model", "validator").order_by("completed_at", "pk")[:CHANGES_LISTED]:
        rows.append({"at": v.completed_at, "model": v.model.name, "kind": "validation",
                     "text": f"Validation #{v.pk} signed: {v.get_outcome_display().lower()} by {_name(v.validator)}"})
    for f in opened.select_related("model").order_by("created_at", "pk")[:CHANGES_LISTED]:
        rows.append({"at": f.created_at, "model": f.model.name, "kind": "finding_opened",
                     "text": f"Finding opened ({f.get_severity_display().lower()}): {f.title}"})
    for f in closed.select_related("model").order_by("closed_at", "pk")[:CHANGES_LISTED]:
        rows.append({"at": f.closed_at, "model": f.model.name, "kind": "finding_closed",
                     "text": f"Finding closed ({f.get_severity_display().lower()}): {f.title}"})
    for n in needs_opened.select_related("model").order_by("opened_at", "pk")[:CHANGES_LISTED]:
        rows.append({"at": n.opened_at, "model": n.model.name, "kind": "need_opened",
                     "text": f"Revalidation need opened: {Trigger(n.trigger).label.lower()} ({n.source_label})"})
    rows += _cleared_rows(list(needs_cleared.select_related("model", "dismissed_by")
                               .order_by("resolved_at", "pk")[:CHANGES_LISTED]))
    events = list(classification.order_by("happened_at", "seq")[:CHANGES_LISTED])
    names = dict(MLModel.objects.filter(pk__in={int(e.object_id) for e in events})
                 .values_list("pk", "name")) if events else {}
    rows += [_classification_row(e, names) for e in events]
    rows.sort(key=lambda r: (r["at"], r["model"]))
    return {"since": since, "previous": None if previous is None else {
                "id": previous.pk, "title": previous.title, "label": (previous.params or {}).get("label", "")},
            "counts": counts, "rows": rows}


def _cleared_rows(needs: list[RevalidationNeed]) -> list[dict[str, Any]]:
    """Needs cleared together (by one validation, or dismissed by hand one by one) as one row each."""
    groups: dict[Any, list[RevalidationNeed]] = {}
    for need in needs:
        groups.setdefault(("validation", need.model_id, need.resolved_by_id) if need.resolved_by_id
                          else ("dismissed", need.pk), []).append(need)
    rows = []
    for key, group in groups.items():
        first = group[0]
        if key[0] == "validation":
            triggers: dict[str, int] = {}
            for need in group:
                triggers[Trigger(need.trigger).label.lower()] = triggers.get(Trigger(need.trigger).label.lower(), 0) + 1
            what = "; ".join(f"{label} (×{n})" if n > 1 else label for label, n in triggers.items())
            text = (f"{len(group)} revalidation need{'s' if len(group) > 1 else ''} cleared by validation "
                    f"#{first.resolved_by_id}: {what}")
        else:
            text = (f"Revalidation need dismissed ({Trigger(first.trigger).label.lower()}) by "
                    f"{_name(first.dismissed_by)}: {first.dismiss_reason}")
        rows.append({"at": first.resolved_at, "model": first.model.name, "kind": "need_cleared", "text": text})
    return rows


def _classification_row(event: AuditEvent, names: dict[int, str]) -> dict[str, Any]:
    before, after = event.before or {}, event.after or {}
    if event.verb == "model.materiality_set":
        what = "Materiality"
        old, new = before.get("materiality") or "", after.get("materiality") or ""
        label = {m.value: m.label.lower() for m in Materiality}
        old, new = label.get(old, "not assessed"), label.get(new, new)
    else:
        what = "Risk tier"
        old, new = (before.get("risk_tier") or "").replace("TIER_", "Tier "), (after.get("risk_tier") or "").replace(
            "TIER_", "Tier ")
    return {"at": event.occurred_at, "model": names.get(int(event.object_id), event.object_repr),
            "kind": "classification", "text": f"{what} changed: {old} → {new}"}
