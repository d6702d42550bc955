"""An incident's impact and obligations are data with a source, entered through services that check, validate
and audit: counts (counted from observations or entered with their source), remediation, regulatory
notifications, and the committee's asks."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from governance.kernel.errors import PermissionDenied, ValidationFailed
from governance.kernel.roles import Role
from governance.models import AuditEvent
from postmortems import obligations
from postmortems import services as pm
from postmortems.models import CommitteeAsk, ImpactCount
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(db):
    cole = make_user("cole_compliance", Role.COMPLIANCE)
    return pm.open_incident(actor=cole, title="Approval rates diverged", severity="SEV2",
                            detection_source="COMPLIANCE_REVIEW", detected_at=timezone.now() - timedelta(days=2)), cole


def test_an_entered_count_must_name_its_source(incident):
    incident, cole = incident
    with pytest.raises(ValidationFailed) as error:
        obligations.enter_affected_count(incident, actor=cole, measure="DECISIONS", count=1200, source_detail=" ")
    assert error.value.field == "source_detail"
    row = obligations.enter_affected_count(incident, actor=cole, measure="DECISIONS", count=1200,
                                           source_detail="Decision log extract DL-7")
    assert (row.count, row.source) == (1200, "ENTERED")
    assert AuditEvent.objects.filter(verb="incident.impact_counted", object_id=str(incident.pk)).exists()


def test_entering_a_count_again_replaces_it_and_keeps_the_previous_in_the_audit_log(incident):
    incident, cole = incident
    obligations.enter_affected_count(incident, actor=cole, measure="CUSTOMERS", count=10, source_detail="first")
    obligations.enter_affected_count(incident, actor=cole, measure="CUSTOMERS", count=12, source_detail="second")
    assert ImpactCount.objects.get(incident=incident, measure="CUSTOMERS").count == 12
    last = AuditEvent.objects.filter(verb="incident.impact_counted").order_by("-seq").first()
    assert last.before["count"] == 10 and last.after["count"] == 12


@pytest.mark.parametrize("count", [-1, 1.5, "12", True])
def test_a_count_is_a_whole_number(incident, count):
    incident, cole = incident
    with pytest.raises(ValidationFailed) as error:
        obligations.enter_affected_count(incident, actor=cole, measure="DECISIONS", count=count, source_detail="x")
    assert error.value.field == "count"


def test_counting_needs_observations_gatehouse_holds(incident):
    incident, cole = incident
    with pytest.raises(ValidationFailed) as error:
        obligations.count_affected_decisions(incident, actor=cole)
    assert error.value.field == "measure"


def test_a_viewer_cannot_record_obligations(incident):
    incident, _ = incident
    viewer = make_user("vic_viewer", Role.VIEWER)
    with pytest.raises(PermissionDenied):
        obligations.add_remediation(incident, actor=viewer, action="Re-review declined applications")
    with pytest.raises(PermissionDenied):
        obligations.add_pack_ask(actor=viewer, period_start=date(2026, 1, 1), period_end=date(2026, 3, 31),
                                 kind="NOTE", text="Note")


def test_remediation_and_notifications_carry_their_status(incident):
    incident, cole = incident
    remediation = obligations.add_remediation(incident, actor=cole, action="Adverse-action notices re-sent",
                                              customers=310, due_date=date.today() + timedelta(days=10))
    assert remediation.status == "PLANNED" and remediation.completed_at is None
    remediation = obligations.update_remediation(remediation, actor=cole, status="DONE")
    assert remediation.completed_at is not None
    due = timezone.now() - timedelta(hours=1)
    notification = obligations.add_notification(incident, actor=cole, recipient="Prudential supervisor",
                                                basis="Supervisory expectation", due_at=due)
    assert notification.is_overdue(timezone.now())
    notification = obligations.mark_notification_sent(notification, actor=cole, sent_at=timezone.now(),
                                                      reference="Letter 12")
    assert not notification.is_overdue(timezone.now()) and notification.reference == "Letter 12"


def test_an_ask_is_note_approve_or_decide(incident):
    incident, cole = incident
    with pytest.raises(ValidationFailed) as error:
        obligations.add_incident_ask(incident, actor=cole, kind="DISCUSS", text="Discuss")
    assert error.value.field == "kind"
    ask = obligations.add_incident_ask(incident, actor=cole, kind="DECIDE", text="Decide whether to resume.")
    assert ask.get_kind_display() == "Decide"
    pack = obligations.add_pack_ask(actor=cole, period_start=date(2026, 7, 1), period_end=date(2026, 9, 30),
                                    kind="APPROVE", text="Approve the revised Tier 1 policy.")
    assert CommitteeAsk.objects.filter(incident__isnull=True).get() == pack


def test_monitoring_records_counts_and_asks_through_the_api(api_client, token_for, incident):
    incident, _ = incident
    _, secret = token_for("incidents:write", "incidents:read")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    base = f"/api/v1/incidents/{incident.pk}"
    response = api_client.post(f"{base}/impact-counts/", {"measure": "DECISIONS", "count": 420,
                                                          "source_detail": "Scoring log"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["source"] == "ENTERED"
    response = api_client.post(f"{base}/impact-counts/", {"measure": "CUSTOMERS"}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "count"
    response = api_client.post(f"{base}/impact-counts/", {"measure": "DECISIONS", "count_from_observations": True},
                               format="json")
    assert response.status_code == 400  # no launch, so nothing Gatehouse holds to count from
    response = api_client.post(f"{base}/notifications/", {"recipient": "Prudential supervisor",
                                                         "due_at": "2026-12-01T09:00:00Z"}, format="json")
    assert response.status_code == 201, response.json()
    response = api_client.post(f"{base}/asks/", {"kind": "APPROVE", "text": "Approve the plan."}, format="json")
    assert response.status_code == 201 and response.json()["kind"] == "APPROVE"
    response = api_client.post(f"{base}/remediations/", {"action": "Re-review", "customers": -3}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "customers"
