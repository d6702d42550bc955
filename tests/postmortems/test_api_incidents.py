"""The incidents API: monitoring opens incidents and adds timeline events with scoped tokens."""

import pytest

from governance.models import AuditEvent
from postmortems.models import Incident, TimelineEvent
from tests.factories import MLModelFactory
from tests.postmortems.helpers import ago, open_incident

pytestmark = pytest.mark.django_db


def auth(client, secret):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_monitoring_opens_an_incident_with_its_first_events(api_client, token_for):
    MLModelFactory(slug="credit")
    _, secret = token_for("incidents:write", "incidents:read")
    response = auth(api_client, secret).post("/api/v1/incidents/", {
        "title": "Approval-rate AIR below 0.8", "severity": "SEV1", "detection_source": "ALERT",
        "detected_at": ago(minutes=10).isoformat(), "models": ["credit"], "fair_lending": True,
        "impact_figures": {"decisions_affected": 420},
        "timeline": [{"at": ago(minutes=12).isoformat(), "kind": "DETECTION", "text": "AIR 0.74 on segment B."}],
    }, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["models"] == ["credit"] and body["status"] == "INVESTIGATING"
    assert body["timeline"][0]["author_label"].startswith("token:")
    assert body["impact_figures"] == {"decisions_affected": 420}
    assert AuditEvent.objects.get(verb="incident.opened").actor_label.startswith("token:")


def test_listing_needs_the_read_scope(api_client, token_for):
    open_incident()
    _, secret = token_for("gate:read")
    assert auth(api_client, secret).get("/api/v1/incidents/").status_code == 403
    _, secret = token_for("incidents:read")
    assert auth(api_client, secret).get("/api/v1/incidents/").json()["count"] == 1


def test_opening_needs_the_write_scope(api_client, token_for):
    _, secret = token_for("incidents:read")
    response = auth(api_client, secret).post("/api/v1/incidents/", {
        "title": "x", "severity": "SEV3", "detection_source": "ALERT"}, format="json")
    assert response.status_code == 403 and not Incident.objects.exists()


def test_a_token_limited_to_other_models_cannot_open_an_incident_for_this_one(api_client, token_for):
    mine, other = MLModelFactory(slug="mine"), MLModelFactory(slug="other")
    _, secret = token_for("incidents:write", models=[mine])
    response = auth(api_client, secret).post("/api/v1/incidents/", {
        "title": "x", "severity": "SEV3", "detection_source": "ALERT", "models": [other.slug]}, format="json")
    assert response.status_code == 403 and not Incident.objects.exists()


def test_a_token_cannot_open_a_restricted_incident(api_client, token_for):
    _, secret = token_for("incidents:write")
    response = auth(api_client, secret).post("/api/v1/incidents/", {
        "title": "x", "severity": "SEV3", "detection_source": "ALERT", "restricted": True}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "restricted"


def test_the_list_filters_by_status_and_severity(api_client, token_for):
    open_incident(severity="SEV1")
    open_incident(severity="SEV4")
    _, secret = token_for("incidents:read")
    body = auth(api_client, secret).get("/api/v1/incidents/", {"severity": "SEV4"}).json()
    assert [i["severity"] for i in body["results"]] == ["SEV4"]


def test_adding_a_timeline_event(api_client, token_for):
    incident = open_incident()
    _, secret = token_for("incidents:write")
    response = auth(api_client, secret).post(f"/api/v1/incidents/{incident.pk}/timeline/", {
        "at": ago(minutes=2).isoformat(), "kind": "MITIGATION", "text": "Traffic shifted to the champion."},
        format="json")
    assert response.status_code == 201 and response.json()["kind"] == "MITIGATION"
    assert TimelineEvent.objects.get().incident == incident


def test_a_retried_post_with_the_same_idempotency_key_stores_one_event(api_client, token_for):
    incident = open_incident()
    _, secret = token_for("incidents:write")
    client = auth(api_client, secret)
    body = {"at": ago(minutes=2).isoformat(), "kind": "COMMUNICATION", "text": "Status page updated."}
    first = client.post(f"/api/v1/incidents/{incident.pk}/timeline/", body, format="json",
                        HTTP_IDEMPOTENCY_KEY="evt-1")
    second = client.post(f"/api/v1/incidents/{incident.pk}/timeline/", body, format="json",
                         HTTP_IDEMPOTENCY_KEY="evt-1")
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true" and first.json() == second.json()
    assert TimelineEvent.objects.count() == 1


def test_a_retried_incident_post_opens_one_incident(api_client, token_for):
    _, secret = token_for("incidents:write")
    client = auth(api_client, secret)
    body = {"title": "Latency p95 over 200 ms", "severity": "SEV2", "detection_source": "ALERT"}
    ids = {client.post("/api/v1/incidents/", body, format="json", HTTP_IDEMPOTENCY_KEY="inc-1").json()["id"]
           for _ in range(2)}
    assert len(ids) == 1 and Incident.objects.count() == 1


def test_the_detail_lists_the_timeline_in_time_order(api_client, token_for):
    incident = open_incident(timeline=[{"at": ago(minutes=1), "kind": "MITIGATION", "text": "second"},
                                       {"at": ago(minutes=9), "kind": "DETECTION", "text": "first"}])
    _, secret = token_for("incidents:read")
    body = auth(api_client, secret).get(f"/api/v1/incidents/{incident.pk}/").json()
    assert [e["text"] for e in body["timeline"]] == ["first", "second"]


def test_the_schema_documents_the_incident_endpoints(api_client, people):
    api_client.force_authenticate(people["viewer"])
    schema = api_client.get("/api/v1/schema/", {"format": "json"}).json()
    assert {"/api/v1/incidents/", "/api/v1/incidents/{id}/", "/api/v1/incidents/{id}/timeline/"} <= set(
        schema["paths"])
    assert "IncidentInRequest" in schema["components"]["schemas"]
