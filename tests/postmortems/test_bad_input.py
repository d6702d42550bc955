"""Bad input is a clear error naming the field, and changes nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.kernel.errors import ValidationFailed
from governance.models import AuditEvent
from postmortems import services
from postmortems.models import ActionItem, Incident, TimelineEvent
from tests.postmortems.helpers import ago, open_incident

pytestmark = pytest.mark.django_db


def auth(client, secret):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_resolved_before_began_is_refused_and_nothing_changes(people):
    actor = people["engineering"]
    incident = open_incident(actor, began_at=ago(hours=10), detected_at=ago(hours=9))
    incident = services.transition_incident(incident, actor=actor, to="MITIGATED", at=ago(hours=8))
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationFailed) as info:
        services.transition_incident(incident, actor=actor, to="RESOLVED", at=ago(hours=11))
    assert (info.value.code, info.value.field) == ("times_out_of_order", "at")
    incident.refresh_from_db()
    assert incident.status == "MITIGATED" and incident.resolved_at is None
    assert AuditEvent.objects.count() == events


def test_editing_began_after_resolution_is_refused(people):
    actor = people["engineering"]
    incident = open_incident(actor, detected_at=ago(hours=9))
    services.transition_incident(incident, actor=actor, to="MITIGATED", at=ago(hours=8))
    services.transition_incident(incident, actor=actor, to="RESOLVED", at=ago(hours=7))
    with pytest.raises(ValidationFailed) as info:
        services.update_incident(incident, actor=actor, began_at=ago(hours=6))
    assert info.value.field in {"detected_at", "mitigated_at", "resolved_at"}
    assert Incident.objects.get(pk=incident.pk).began_at is None


def test_detection_before_the_start_is_refused_at_opening(people):
    with pytest.raises(ValidationFailed) as info:
        open_incident(people["engineering"], began_at=ago(hours=1), detected_at=ago(hours=2))
    assert info.value.field == "detected_at"
    assert not Incident.objects.exists()


def test_times_in_the_future_are_refused(people):
    with pytest.raises(ValidationFailed) as info:
        open_incident(people["engineering"], detected_at=timezone.now() + timedelta(hours=2))
    assert info.value.field == "detected_at"


def test_unknown_severity_is_refused_by_the_service(people):
    with pytest.raises(ValidationFailed) as info:
        open_incident(people["engineering"], severity="SEV0")
    assert (info.value.code, info.value.field) == ("unknown_choice", "severity")
    assert not Incident.objects.exists()


def test_unknown_severity_is_a_400_from_the_api(api_client, token_for):
    _, secret = token_for("incidents:write")
    response = auth(api_client, secret).post("/api/v1/incidents/", {
        "title": "Latency", "severity": "CRITICAL", "detection_source": "ALERT"}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "severity"
    assert not Incident.objects.exists()


def test_past_due_date_on_creation_is_refused(people):
    incident = open_incident(people["engineering"])
    with pytest.raises(ValidationFailed) as info:
        services.add_action_item(incident, actor=people["engineering"], title="Add a drift monitor", kind="DETECT",
                                 owner=people["data_science"], due_date=timezone.localdate() - timedelta(days=1))
    assert info.value.field == "due_date"
    assert not ActionItem.objects.exists()


def test_past_due_date_through_the_page_shows_the_error_next_to_the_field(client, people):
    incident = open_incident(people["engineering"])
    client.force_login(people["engineering"])
    response = client.post(f"/incidents/{incident.pk}/actions/", {
        "title": "Add a drift monitor", "kind": "DETECT", "owner": people["data_science"].pk,
        "due_date": (timezone.localdate() - timedelta(days=3)).isoformat(), "priority": "P1"})
    assert response.status_code == 200
    assert "The due date is in the past" in response.content.decode()
    assert not ActionItem.objects.exists()


def test_timeline_event_for_a_restricted_incident_by_a_non_member_is_404_and_stores_nothing(
        api_client, people, outsider):
    incident = open_incident(people["legal"], restricted=True)
    api_client.force_authenticate(outsider)
    response = api_client.post(f"/api/v1/incidents/{incident.pk}/timeline/", {
        "at": ago(minutes=5).isoformat(), "kind": "ESCALATION", "text": "Escalated to the CCO."}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not TimelineEvent.objects.exists()


def test_timeline_event_for_a_restricted_incident_by_a_token_is_404(api_client, token_for, people):
    incident = open_incident(people["legal"], restricted=True)
    _, secret = token_for("incidents:write", "incidents:read")
    response = auth(api_client, secret).post(f"/api/v1/incidents/{incident.pk}/timeline/", {
        "at": ago(minutes=5).isoformat(), "kind": "ESCALATION", "text": "x"}, format="json")
    assert response.status_code == 404 and not TimelineEvent.objects.exists()


@pytest.mark.parametrize("body,field", [
    ({"at": "yesterday", "kind": "OTHER", "text": "x"}, "at"),
    ({"kind": "OTHER", "text": "x"}, "at"),
    ({"at": "2020-01-01T00:00:00Z", "kind": "GOSSIP", "text": "x"}, "kind"),
    ({"at": "2020-01-01T00:00:00Z", "kind": "OTHER", "text": ""}, "text"),
    ({"at": "2999-01-01T00:00:00Z", "kind": "OTHER", "text": "from the future"}, "at"),
])
def test_bad_timeline_event_is_a_400_naming_the_field(api_client, token_for, body, field):
    incident = open_incident()
    _, secret = token_for("incidents:write")
    response = auth(api_client, secret).post(f"/api/v1/incidents/{incident.pk}/timeline/", body, format="json")
    assert response.status_code == 400 and response.json()["field"] == field
    assert not TimelineEvent.objects.exists()


@pytest.mark.parametrize("figures,field", [
    ({"decisions_affected": -4}, "impact_figures.decisions_affected"),
    ({"decisions_affected": 2.5}, "impact_figures.decisions_affected"),
    ({"revenue_impact": "a lot"}, "impact_figures.revenue_impact"),
    ({"approval_rate_shift": [{"segment": "A", "shift_pct": 400}]}, "impact_figures.approval_rate_shift[0].shift_pct"),
    ({"approval_rate_shift": [{"segment": "", "shift_pct": 2}]}, "impact_figures.approval_rate_shift[0].segment"),
    ({"approval_rate_shift": {"A": 2}}, "impact_figures.approval_rate_shift"),
    ({"losses": 3}, "impact_figures.losses"),
])
def test_impact_figures_are_validated(people, figures, field):
    with pytest.raises(ValidationFailed) as info:
        open_incident(people["compliance"], impact_figures=figures)
    assert info.value.field == field
    assert not Incident.objects.exists()


def test_well_formed_impact_figures_are_kept(people):
    figures = {"decisions_affected": 18_240, "revenue_impact": -450_000.0,
               "approval_rate_shift": [{"segment": "segment A", "shift_pct": 4.1},
                                       {"segment": "segment B", "shift_pct": -3.7}]}
    incident = open_incident(people["compliance"], impact_figures=figures)
    assert Incident.objects.get(pk=incident.pk).impact_figures == figures


def test_unknown_model_slug_is_a_404_on_models(api_client, token_for):
    _, secret = token_for("incidents:write")
    response = auth(api_client, secret).post("/api/v1/incidents/", {
        "title": "Drift", "severity": "SEV3", "detection_source": "MONITORING", "models": ["nope"]}, format="json")
    assert response.status_code == 404 and response.json()["field"] == "models"
