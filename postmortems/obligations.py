"""An incident's impact and obligations as data: decisions and customers affected, customer remediation,
regulatory notifications, and what the board risk committee is asked to note, approve or decide.

Every function is a service: permission (``incident.edit`` on the incident, ``incident.create`` for a pack's ask),
validation, lock, write, audit. A count is either counted by Gatehouse from observations it holds, with the
window and rows it summed, or entered by a person who must name the source: a figure without a source is not
accepted, because a committee cannot weigh it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from governance.kernel import audit, clock
from governance.kernel.errors import ValidationFailed
from governance.kernel.permissions import require
from governance.kernel.principals import actor_label
from readiness.models import Observation
from readiness.rollouts import DECISIONS_METRIC

from .models import (
    AffectedMeasure,
    AskKind,
    CommitteeAsk,
    CountSource,
    CustomerRemediation,
    ImpactCount,
    Incident,
    RegulatoryNotification,
    RemediationStatus,
)

if TYPE_CHECKING:
    from governance.kernel.principals import Actor


def _locked(incident: Incident) -> Incident:
    return Incident.objects.select_for_update().get(pk=incident.pk)


def _text(value: object, field: str, limit: int, *, required: bool = True) -> str:
    value = (value or "").strip() if isinstance(value, str) or value is None else None
    if value is None:
        raise ValidationFailed("Give text.", field=field)
    if required and not value:
        raise ValidationFailed("This cannot be empty.", field=field)
    if len(value) > limit:
        raise ValidationFailed(f"At most {limit} characters.", field=field)
    return value


def _count(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationFailed("Give a whole number, zero or more.", field=field)
    return value


def _save_count(incident: Incident, *, actor: Actor, measure: str, count: int, source: str,
                detail: str) -> ImpactCount:
    with transaction.atomic():
        locked = _locked(incident)
        row, created = ImpactCount.objects.select_for_update().get_or_create(
            incident=locked, measure=measure,
            defaults={"count": count, "source": source, "source_detail": detail,
                      "recorded_by": actor_label(actor)[:200], "recorded_at": clock.now()})
        before = None if created else {"count": row.count, "source": row.source, "source_detail": row.source_detail}
        if not created:
            row.count, row.source, row.source_detail = count, source, detail
            row.recorded_by, row.recorded_at = actor_label(actor)[:200], clock.now()
            row.save()
        audit.record("incident.impact_counted", locked, actor=actor, before=before,
                     after={"measure": measure, "count": count, "source": source, "source_detail": detail})
    return row


def enter_affected_count(incident: Incident, *, actor: Actor, measure: str, count: int, source_detail: str) -> ImpactCount:
    """Enter how many decisions or customers were affected, naming where the number comes from."""
    require(actor, "incident.edit", incident)
    if measure not in AffectedMeasure.values:
        raise ValidationFailed(f"Measure is one of {', '.join(AffectedMeasure.values)}.", field="measure")
    count = _count(count, "count")
    detail = _text(source_detail, "source_detail", 400)
    return _save_count(incident, actor=actor, measure=measure, count=count, source=CountSource.ENTERED,
                       detail=detail)


def count_affected_decisions(incident: Incident, *, actor: Actor, metric: str = DECISIONS_METRIC) -> ImpactCount:
    """Count the decisions the incident's launch made while the harm lasted (from when it began, or was detected,
    until it was contained) by summing the launch's ``decisions`` observations in that window."""
    require(actor, "incident.edit", incident)
    if incident.launch_id is None:
        raise ValidationFailed("No launch is linked to this incident, so Gatehouse holds no observations to count "
                               "from; enter the number with its source instead.", field="measure")
    start = incident.began_at or incident.detected_at
    end = incident.mitigated_at or timezone.now()
    totals = Observation.objects.filter(launch_id=incident.launch_id, metric=metric, segment="",
                                        observed_at__gte=start, observed_at__lte=end).aggregate(
        total=Sum("value"), rows=Count("pk"))
    if not totals["rows"]:
        raise ValidationFailed(f"Launch #{incident.launch_id} has no “{metric}” observations between the start "
                               "of the incident and its containment; enter the number with its source instead.",
                               field="measure")
    detail = (f"Sum of {totals['rows']} “{metric}” observations of launch #{incident.launch_id} from "
              f"{timezone.localtime(start):%Y-%m-%d %H:%M %Z} to {timezone.localtime(end):%Y-%m-%d %H:%M %Z}")
    return _save_count(incident, actor=actor, measure=AffectedMeasure.DECISIONS, count=round(totals["total"]),
                       source=CountSource.COUNTED, detail=detail)


def add_remediation(incident: Incident, *, actor: Actor, action: str, customers: int | None = None,
                    status: str = RemediationStatus.PLANNED, due_date: date | None = None) -> CustomerRemediation:
    """Record what is done for affected customers (a re-review, notices re-sent) and its status."""
    require(actor, "incident.edit", incident)
    action = _text(action, "action", 300)
    if customers is not None:
        customers = _count(customers, "customers")
    if status not in RemediationStatus.values:
        raise ValidationFailed(f"Status is one of {', '.join(RemediationStatus.values)}.", field="status")
    with transaction.atomic():
        locked = _locked(incident)
        row = CustomerRemediation.objects.create(
            incident=locked, action=action, customers=customers, status=status, due_date=due_date,
            created_at=clock.now(), completed_at=clock.now() if status == RemediationStatus.DONE else None)
        audit.record("incident.remediation_added", locked, actor=actor, after={
            "remediation": row.pk, "action": action, "customers": customers, "status": status,
            "due_date": due_date.isoformat() if due_date else None})
    return row


def update_remediation(remediation: CustomerRemediation, *, actor: Actor, status: str) -> CustomerRemediation:
    require(actor, "incident.edit", remediation.incident)
    if status not in RemediationStatus.values:
        raise ValidationFailed(f"Status is one of {', '.join(RemediationStatus.values)}.", field="status")
    with transaction.atomic():
        locked = _locked(remediation.incident)
        row = CustomerRemediation.objects.select_for_update().get(pk=remediation.pk)
        before = row.status
        row.status = status
        row.completed_at = clock.now() if status == RemediationStatus.DONE else None
        row.save(update_fields=["status", "completed_at"])
        audit.record("incident.remediation_updated", locked, actor=actor, before={"status": before},
                     after={"remediation": row.pk, "status": status})
    return row


def add_notification(incident: Incident, *, actor: Actor, recipient: str, due_at: datetime, basis: str = "",
                     sent_at: datetime | None = None, reference: str = "") -> RegulatoryNotification:
    """Record a notification owed to a regulator: to whom, on what basis, due when, and when it was sent."""
    require(actor, "incident.edit", incident)
    recipient = _text(recipient, "recipient", 200)
    basis = _text(basis, "basis", 300, required=False)
    reference = _text(reference, "reference", 200, required=False)
    if not isinstance(due_at, datetime):
        raise ValidationFailed("Give the date and time the notification is due.", field="due_at")
    with transaction.atomic():
        locked = _locked(incident)
        row = RegulatoryNotification.objects.create(incident=locked, recipient=recipient, basis=basis, due_at=due_at,
                                                    sent_at=sent_at, reference=reference, created_at=clock.now())
        audit.record("incident.notification_added", locked, actor=actor, after={
            "notification": row.pk, "recipient": recipient, "basis": basis, "due_at": due_at.isoformat(),
            "sent_at": sent_at.isoformat() if sent_at else None, "reference": reference})
    return row


def mark_notification_sent(notification: RegulatoryNotification, *, actor: Actor, sent_at: datetime,
                           reference: str = "") -> RegulatoryNotification:
    require(actor, "incident.edit", notification.incident)
    with transaction.atomic():
        locked = _locked(notification.incident)
        row = RegulatoryNotification.objects.select_for_update().get(pk=notification.pk)
        row.sent_at, row.reference = sent_at, _text(reference, "reference", 200, required=False) or row.reference
        row.save(update_fields=["sent_at", "reference"])
        audit.record("incident.notification_sent", locked, actor=actor,
                     after={"notification": row.pk, "sent_at": sent_at.isoformat(), "reference": row.reference})
    return row


def _ask_values(kind: str, text: str) -> tuple[str, str]:
    if kind not in AskKind.values:
        raise ValidationFailed(f"An ask is one of {', '.join(AskKind.values)}.", field="kind")
    return kind, _text(text, "text", 2000)


def add_incident_ask(incident: Incident, *, actor: Actor, kind: str, text: str) -> CommitteeAsk:
    """Put an explicit ask to the committee on an incident's report: note, approve or decide."""
    require(actor, "incident.edit", incident)
    kind, text = _ask_values(kind, text)
    with transaction.atomic():
        locked = _locked(incident)
        ask = CommitteeAsk.objects.create(incident=locked, kind=kind, text=text, created_by=actor_label(actor)[:200],
                                          created_at=clock.now())
        audit.record("incident.ask_added", locked, actor=actor, after={"ask": ask.pk, "kind": kind, "text": text})
    return ask


def add_pack_ask(*, actor: Actor, period_start: date, period_end: date, kind: str, text: str) -> CommitteeAsk:
    """Put an explicit ask to the committee on the governance pack of a period."""
    require(actor, "incident.create")
    kind, text = _ask_values(kind, text)
    if not isinstance(period_start, date) or not isinstance(period_end, date) or period_end < period_start:
        raise ValidationFailed("Give the period the pack covers, its end not before its start.", field="period_end")
    with transaction.atomic():
        ask = CommitteeAsk.objects.create(period_start=period_start, period_end=period_end, kind=kind, text=text,
                                          created_by=actor_label(actor)[:200], created_at=clock.now())
        audit.record("committee.ask_added", ask, actor=actor, after={
            "kind": kind, "text": text, "period_start": period_start.isoformat(),
            "period_end": period_end.isoformat()})
    return ask


def harm_totals(counts: Iterable[Any], remediations: Iterable[Any]) -> dict[str, int | None]:
    """The harm figures the committee's incident report states, from rows already fetched: decisions and
    customers affected (the recorded counts, None while uncounted) and customers covered by remediation."""
    by_measure = {c.measure: c.count for c in counts}
    covered = [r.customers for r in remediations if r.customers is not None]
    return {"decisions": by_measure.get(AffectedMeasure.DECISIONS), "customers": by_measure.get(AffectedMeasure.CUSTOMERS),
            "remediated_customers": sum(covered) if covered else None}
