"""An incident's impact counts, remediation, regulatory notifications and committee asks can be read back: through
the API, a page at a time and only by those who may see the incident, and on the incident page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.kernel.roles import Role
from postmortems import obligations
from postmortems import services as pm
from tests.factories import make_user

pytestmark = pytest.mark.django_db

ROUTES = ("impact-counts", "remediations", "notifications", "asks")


@pytest.fixture
def recorded(db):
    cole = make_user("cole_compliance", Role.COMPLIANCE)
    incident = pm.open_incident(actor=cole, title="Approval rates diverged", severity="SEV2",
                                detection_source="COMPLIANCE_REVIEW", detected_at=timezone.now() - timedelta(days=2))
    obligations.enter_affected_count(incident, actor=cole, measure="DECISIONS", count=1200,
                                     source_detail="Decision log extract DL-7")
    obligations.enter_affected_count(incident, actor=cole, measure="CUSTOMERS", count=800,
                                     source_detail="Customer file CF-2")
    obligations.add_remediation(incident, actor=cole, action="Re-review declined files", customers=640)
    obligations.add_notification(incident, actor=cole, recipient="Prudential supervisor",
                                 due_at=timezone.now() + timedelta(days=3))
    obligations.add_incident_ask(incident, actor=cole, kind="DECIDE", text="Decide on the re-review scope.")
    return incident, cole


def test_every_record_kind_is_read_back_through_the_api(api_client, token_for, recorded):
    incident, _ = recorded
    _, secret = token_for("incidents:read")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    base = f"/api/v1/incidents/{incident.pk}"
    counts = api_client.get(f"{base}/impact-counts/").json()
    assert [(r["measure"], r["count"]) for r in counts["results"]] == [("CUSTOMERS", 800), ("DECISIONS", 1200)]
    assert api_client.get(f"{base}/remediations/").json()["results"][0]["customers"] == 640
    assert api_client.get(f"{base}/notifications/").json()["results"][0]["recipient"] == "Prudential supervisor"
    assert api_client.get(f"{base}/asks/").json()["results"][0]["kind"] == "DECIDE"


def test_record_lists_are_paginated(api_client, token_for, recorded):
    incident, cole = recorded
    for n in range(3):
        obligations.add_remediation(incident, actor=cole, action=f"Step {n}")
    _, secret = token_for("incidents:read")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    page = api_client.get(f"/api/v1/incidents/{incident.pk}/remediations/?limit=2").json()
    assert page["count"] == 4 and len(page["results"]) == 2 and page["next"]


@pytest.mark.parametrize("route", ROUTES)
def test_an_outsider_gets_404_for_a_restricted_incident_records(client, recorded, route):
    incident, cole = recorded
    pm.update_incident(incident, actor=cole, restricted=True)
    client.force_login(make_user("dana_ds", Role.DATA_SCIENCE))
    sealed = client.get(f"/api/v1/incidents/{incident.pk}/{route}/")
    missing = client.get(f"/api/v1/incidents/999999/{route}/")
    assert sealed.status_code == missing.status_code == 404
    assert sealed.json() == missing.json()


def test_reading_records_needs_the_read_scope(api_client, token_for, recorded):
    incident, _ = recorded
    _, secret = token_for("gate:read")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api_client.get(f"/api/v1/incidents/{incident.pk}/asks/").status_code == 403
