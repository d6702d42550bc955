"""Reports through the API and the command line: 202 then poll, field-naming refusals, tokens, idempotency."""


import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from governance.policies.services import ensure_default_policies
from reporting import reports
from reporting.models import Report
from tests.governance.test_reports import (
    restricted_incident,
    rolled_back_incident,
    stand_in_layout,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def policies(db):
    return ensure_default_policies()


@pytest.fixture
def fast_layout(monkeypatch):
    stand_in_layout(monkeypatch)
URL = "/api/v1/reports/"
PACK = {"kind": "GOVERNANCE_PACK", "params": {"period": "2026-Q1"}}


def post(client, body, capture, **headers):
    with capture(execute=False):
        return client.post(URL, body, format="json", headers=headers)


def test_a_request_answers_202_and_the_detail_then_shows_the_file(
        api_client, people, fast_layout, django_capture_on_commit_callbacks):
    api_client.force_login(people["data_science"])
    response = post(api_client, PACK, django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "QUEUED" and body["download_url"] is None and body["params"]["label"] == "2026 Q1"
    assert body["url"].endswith(f"/api/v1/reports/{body['id']}/")
    reports.generate_report(body["id"])
    detail = api_client.get(body["url"]).json()
    report = Report.objects.get()
    assert {k: detail[k] for k in ("status", "sha256", "size", "page_count", "error")} == {
        "status": "DONE", "sha256": report.sha256, "size": report.size, "page_count": 1, "error": ""}
    download = api_client.get(detail["download_url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == report.file.open("rb").read()
    again = post(api_client, PACK, django_capture_on_commit_callbacks)
    assert again.status_code == 200 and again.json()["id"] == body["id"]  # unchanged content: the same file


@pytest.mark.parametrize("body,field", [
    ({"kind": "BOARD_MINUTES", "subject": 1}, "kind"),
    ({"kind": "INCIDENT_REPORT"}, "subject"),
    ({"kind": "INCIDENT_REPORT", "subject": "abc"}, "subject"),
    ({"kind": "GOVERNANCE_PACK"}, "params.period"),
    ({"kind": "GOVERNANCE_PACK", "subject": 3, "params": {"period": "2026-Q1"}}, "subject"),
    ({"kind": "GOVERNANCE_PACK", "params": {"period": "last quarter"}}, "params.period"),
    ({"kind": "GOVERNANCE_PACK", "params": {"start": "2026-02-01", "end": "2026-01-01"}}, "params.end"),
    ({"kind": "GOVERNANCE_PACK", "params": "2026-Q1"}, "params"),
    ({"kind": "LAUNCH_DOSSIER", "subject": 1, "params": {"period": "2026-Q1"}}, "params"),
])
def test_bad_input_is_a_400_naming_the_field(api_client, people, body, field, django_capture_on_commit_callbacks):
    api_client.force_login(people["data_science"])
    response = post(api_client, body, django_capture_on_commit_callbacks)
    assert response.status_code == 400, response.json()
    assert response.json()["field"] == field
    assert not Report.objects.exists()


def test_a_restricted_incident_is_not_a_valid_subject_for_those_who_cannot_see_it(
        api_client, people, fast_layout, django_capture_on_commit_callbacks):
    incident = restricted_incident(people, overdue=0)
    api_client.force_login(people["data_science"])
    response = post(api_client, {"kind": "INCIDENT_REPORT", "subject": incident.pk}, django_capture_on_commit_callbacks)
    assert response.status_code == 404 and response.json()["field"] == "subject"
    assert incident.title not in response.content.decode()
    api_client.force_login(people["legal"])
    accepted = post(api_client, {"kind": "INCIDENT_REPORT", "subject": incident.pk},
                    django_capture_on_commit_callbacks)
    assert accepted.status_code == 202
    detail = f"{URL}{accepted.json()['id']}/"
    api_client.force_login(people["viewer"])
    assert api_client.get(detail).status_code == 404
    assert api_client.get(URL).json()["count"] == 0
    api_client.force_login(people["compliance"])
    assert api_client.get(detail).status_code == 200


def test_a_viewer_may_not_request_reports(api_client, people, django_capture_on_commit_callbacks):
    api_client.force_login(people["viewer"])
    assert post(api_client, PACK, django_capture_on_commit_callbacks).status_code == 403


def test_tokens_request_and_download_but_never_see_restricted_reports(
        api_client, client, people, token_for, fast_layout, django_capture_on_commit_callbacks):
    incident = restricted_incident(people, overdue=0)
    with django_capture_on_commit_callbacks(execute=True):
        hidden = reports.request_report(actor=people["legal"], kind="INCIDENT_REPORT", subject_id=incident.pk)
    _, secret = token_for("reports:write")
    bearer = {"Authorization": f"Bearer {secret}"}
    refused = post(api_client, {"kind": "INCIDENT_REPORT", "subject": incident.pk}, django_capture_on_commit_callbacks,
                   **bearer)
    assert refused.status_code == 404 and refused.json()["field"] == "subject"
    assert api_client.get(f"{URL}{hidden.pk}/", headers=bearer).status_code == 404
    assert client.get(reverse("reporting:report_download", args=[hidden.pk]), headers=bearer).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        accepted = api_client.post(URL, PACK, format="json", headers=bearer)
    assert accepted.status_code == 202 and accepted.json()["requested_by"].startswith("token:")
    done = api_client.get(accepted.json()["url"], headers=bearer).json()
    assert done["status"] == "DONE"
    assert client.get(done["download_url"], headers=bearer).status_code == 200
    _, other = token_for("gate:read")
    assert post(api_client, PACK, django_capture_on_commit_callbacks,
                Authorization=f"Bearer {other}").status_code == 403


def test_an_idempotency_key_replays_the_first_answer(api_client, people, django_capture_on_commit_callbacks):
    api_client.force_login(people["data_science"])
    first = post(api_client, PACK, django_capture_on_commit_callbacks, **{"Idempotency-Key": "pack-q1"})
    again = post(api_client, PACK, django_capture_on_commit_callbacks, **{"Idempotency-Key": "pack-q1"})
    assert first.status_code == again.status_code == 202 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"] and Report.objects.count() == 1


def test_the_reports_page_keeps_a_constant_query_count(client, people, fast_layout, django_assert_max_num_queries,
                                                       django_capture_on_commit_callbacks):
    incidents = []
    for _ in range(4):
        incidents.append(restricted_incident(people, overdue=0))
        with django_capture_on_commit_callbacks(execute=True):
            reports.request_report(actor=people["legal"], kind="INCIDENT_REPORT", subject_id=incidents[-1].pk)
    # Each report also cites the earlier incidents with the same cause, so it is readable by whoever may read
    # all of them: a member of the first two reads the first two reports, not the later ones.
    for incident in incidents[:2]:
        incident.members.add(people["engineering"])
    client.force_login(people["engineering"])
    with django_assert_max_num_queries(12):
        page = client.get(reverse("reporting:report_list"))
    assert page.content.decode().count("Download") == 2


def test_render_report_writes_the_file_and_records_it(tmp_path, people, fast_layout):
    incident = rolled_back_incident(people, events=3)
    target = tmp_path / "out" / "incident.pdf"
    call_command("render_report", "incident-report", str(incident.pk), "-o", str(target), verbosity=0)
    report = Report.objects.get()
    assert report.status == "DONE" and target.read_bytes() == report.file.open("rb").read()
    assert report.requested_by_label == "system:render_report"
    call_command("render_report", "GOVERNANCE_PACK", "2026-W02", "-o", str(tmp_path / "pack.pdf"), verbosity=0)
    assert Report.objects.get(kind="GOVERNANCE_PACK").params == {
        "start": "2026-01-05", "end": "2026-01-11", "label": "2026 week 2"}
    with pytest.raises(CommandError) as caught:
        call_command("render_report", "LAUNCH_DOSSIER", "424242", "-o", str(tmp_path / "x.pdf"))
    assert caught.value.code == "subject_not_found"
    with pytest.raises(CommandError) as caught:
        call_command("render_report", "MINUTES", "1", "-o", str(tmp_path / "x.pdf"))
    assert caught.value.code == "unknown_kind"
