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


def test_the_incident_page_shows_the_records_and_the_harm_totals_the_report_states(client, recorded):
    incident, cole = recorded
    obligations.add_remediation(incident, actor=cole, action="Adverse-action notices re-sent", customers=160)
    client.force_login(cole)
    response = client.get(incident.get_absolute_url())
    body = response.content.decode()
    assert response.context["harm"] == {"decisions": 1200, "customers": 800, "remediated_customers": 800}
    assert "Decision log extract DL-7" in body and "Prudential supervisor" in body
    assert "Decide on the re-review scope." in body and "Re-review declined files" in body


def test_records_are_added_from_the_page_through_the_services(client, recorded):
    from governance.models import AuditEvent
    from postmortems.models import CommitteeAsk, CustomerRemediation, RegulatoryNotification

    incident, cole = recorded
    client.force_login(cole)
    base = f"/incidents/{incident.pk}/obligations"
    response = client.post(f"{base}/remediation/", {"action": "Refund fees", "customers": "40", "status": "PLANNED"})
    assert response.status_code == 302
    assert CustomerRemediation.objects.filter(incident=incident, action="Refund fees", customers=40).exists()
    response = client.post(f"{base}/notification/", {"recipient": "Consumer regulator",
                                                      "due_at": "2026-12-20T09:00"})
    assert response.status_code == 302 and RegulatoryNotification.objects.filter(recipient="Consumer regulator").exists()
    response = client.post(f"{base}/ask/", {"kind": "NOTE", "text": "Note the refunds."})
    assert response.status_code == 302 and CommitteeAsk.objects.filter(text="Note the refunds.").exists()
    response = client.post(f"{base}/count/", {"measure": "CUSTOMERS", "count": "810", "source_detail": "CF-3"})
    assert response.status_code == 302
    verbs = set(AuditEvent.objects.filter(object_id=str(incident.pk)).values_list("verb", flat=True))
    assert {"incident.remediation_added", "incident.notification_added", "incident.ask_added",
            "incident.impact_counted"} <= verbs


def test_a_count_without_a_source_is_refused_beside_the_field_and_changes_nothing(client, recorded):
    from postmortems.models import ImpactCount

    incident, cole = recorded
    client.force_login(cole)
    response = client.post(f"/incidents/{incident.pk}/obligations/count/",
                           {"measure": "CUSTOMERS", "count": "5", "source_detail": ""})
    assert response.status_code == 400
    assert "source_detail" in response.context["count_form"].errors
    assert ImpactCount.objects.get(incident=incident, measure="CUSTOMERS").count == 800
    response = client.post(f"/incidents/{incident.pk}/obligations/count/", {"measure": "CUSTOMERS"})
    assert response.status_code == 400 and "count" in response.context["count_form"].errors


def test_a_viewer_cannot_add_records_from_the_page(client, recorded):
    incident, _ = recorded
    client.force_login(make_user("vic_viewer", Role.VIEWER))
    response = client.post(f"/incidents/{incident.pk}/obligations/ask/", {"kind": "NOTE", "text": "x"})
    assert response.status_code == 403


def test_the_incident_page_query_count_does_not_grow_with_records(client, recorded, django_assert_max_num_queries):
    incident, cole = recorded

    def queries():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get(incident.get_absolute_url()).status_code == 200
        return len(captured)

    client.force_login(cole)
    before = queries()
    for n in range(15):
        obligations.add_remediation(incident, actor=cole, action=f"Step {n}", customers=n)
        obligations.add_notification(incident, actor=cole, recipient=f"Authority {n}",
                                     due_at=timezone.now() + timedelta(days=n))
        obligations.add_incident_ask(incident, actor=cole, kind="NOTE", text=f"Note {n}")
    assert queries() == before


def test_the_committees_harm_figures_are_the_ones_on_the_incident_page(client, recorded,
                                                                       django_capture_on_commit_callbacks):
    """Every harm figure the incident report gives the committee is printed on the incident page too."""
    from reporting import reports
    from tests.governance.test_reports import pdf_text

    incident, cole = recorded
    obligations.add_remediation(incident, actor=cole, action="Adverse-action notices re-sent", customers=100)
    with django_capture_on_commit_callbacks(execute=True):
        report = reports.request_report(actor=cole, kind="INCIDENT_REPORT", subject_id=incident.pk)
    report.refresh_from_db()
    assert report.status == "DONE", report.error
    text = " ".join(pdf_text(report.file.path))
    client.force_login(cole)
    page = client.get(incident.get_absolute_url()).content.decode()
    for figure in ("1,200", "800", "740"):  # decisions and customers affected, customers covered by remediation in all
        assert figure in text and figure in page, figure
    assert "Customers covered by remediation in all: 740." in text



def test_the_board_packs_harm_figures_are_the_ones_on_each_incident_page(client, recorded,
                                                                          django_capture_on_commit_callbacks):
    """The governance pack lists each incident of the period with the customers it affected and the customers
    remediation covered: the same figures, by the same rule, as the incident page; an uncounted incident says so."""
    import re

    from reporting import reports
    from tests.governance.test_reports import pdf_text

    incident, cole = recorded
    obligations.add_remediation(incident, actor=cole, action="Adverse-action notices re-sent", customers=100)
    uncounted = pm.open_incident(actor=cole, title="Score cache served stale scores", severity="SEV3",
                                 detection_source="ALERT", detected_at=incident.detected_at + timedelta(minutes=5))
    client.force_login(cole)
    on_page = {}
    for each in (incident, uncounted):
        html = client.get(each.get_absolute_url()).content.decode()
        on_page[each.pk] = tuple(re.search(rf'data-harm="{name}">([^<]+)<', html).group(1).strip()
                                 for name in ("customers", "remediated"))
    assert on_page == {incident.pk: ("800", "740"), uncounted.pk: ("not yet counted", "—")}
    month = timezone.localtime(incident.detected_at)
    with django_capture_on_commit_callbacks(execute=True):
        report = reports.request_report(actor=cole, kind="GOVERNANCE_PACK",
                                        params={"period": f"{month.year}-{month.month:02d}"})
    report.refresh_from_db()
    assert report.status == "DONE", report.error
    text = " ".join(" ".join(pdf_text(report.file.path)).split())
    for each in (incident, uncounted):
        customers, remediated = on_page[each.pk]
        assert re.search(rf"{re.escape(each.title)}.*?{re.escape(customers)} {re.escape(remediated)}", text), \
            (each.title, on_page[each.pk])


def test_no_id_repeats_on_the_incident_page_with_every_form_on_it(client, recorded):
    """Labels point at inputs by id: with the four record forms beside the timeline form, a repeated id would send
    a label (and a screen reader) to the wrong field."""
    import re
    from collections import Counter

    incident, cole = recorded
    client.force_login(cole)
    ids = Counter(re.findall(r'\bid="([^"]+)"', client.get(incident.get_absolute_url()).content.decode()))
    assert {name: n for name, n in ids.items() if n > 1} == {}


def test_an_incident_sent_as_a_form_is_refused_since_a_form_cannot_carry_its_factors(api_client, token_for):
    _, secret = token_for("incidents:write")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = api_client.post("/api/v1/incidents/", {"title": "t", "severity": "SEV2", "detection_source": "ALERT",
                                                       "factors": "[[], []]"}, format="multipart")
    assert response.status_code == 415
    from postmortems.models import Incident

    assert not Incident.objects.exists()
