"""Stored evidence bundles: asked for, built by a worker, kept in STORAGES and streamed only to readers whose view of
restricted matters is the requester's; a redelivered build changes nothing; identical pending requests share one."""

import hashlib
import io
import re
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from governance.kernel.models import AuditEvent
from governance.kernel.roles import Role
from governance.validation.models import Validation, ValidationStatus
from reporting.bundle import records
from reporting.bundle.verify import verify_bundle
from reporting.models import BundleStatus, EvidenceBundle
from reporting.regimes import services
from reporting.tasks import build_evidence_bundle
from tests.factories import MLModelFactory
from tests.postmortems.helpers import open_incident

CANARY = "Privileged canary 51c9"


def small_file(people):
    """A model with a declared regime, a validation report (an evidence file), an open incident and a restricted
    one: every part of a bundle that depends on the reader, without launches to render."""
    model = MLModelFactory()
    services.declare_regimes(model, actor=people["compliance"], regimes=["eu-ai-act"])
    validation = Validation.objects.create(model=model, validator=people["model_risk"],
                                           status=ValidationStatus.COMPLETED, outcome="APPROVED",
                                           completed_at=timezone.now())
    validation.report.save("report.txt", ContentFile(b"Validation report: approved.\n"))
    open_incident(title="Latency spike on scoring", models=[model], severity="SEV3")
    open_incident(title=CANARY, models=[model], restricted=True, severity="SEV1")
    return model


@pytest.fixture
def model(people, settings, tmp_path):
    settings.AUDIT_ANCHOR_DIR = str(tmp_path / "anchors")
    (tmp_path / "anchors").mkdir()
    return small_file(people)


def members(content: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(content))
    return {name: archive.read(name) for name in archive.namelist()}


def download(client, bundle_id: int) -> bytes:
    response = client.get(reverse("reporting:bundle_download", args=[bundle_id]))
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "application/zip" and response["Cache-Control"].startswith("private")
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == response["X-Content-SHA256"]
    return body


@pytest.mark.django_db
def test_the_api_answers_201_with_the_record_and_the_worker_builds_a_file_that_verifies(
        model, people, api_client, client, django_capture_on_commit_callbacks):
    api_client.force_login(people["legal"])
    url = reverse("api-model-evidence-bundle", args=[model.slug])
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(url, {"regime": "eu-ai-act"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert response["Location"] == body["url"] and body["status"] == "QUEUED" and body["download_url"] is None
    record = api_client.get(body["url"]).json()
    assert record["status"] == "READY" and record["regime"] == "eu-ai-act" and record["size"] > 0
    client.force_login(people["legal"])
    content = download(client, body["id"])
    assert hashlib.sha256(content).hexdigest() == record["sha256"]
    assert CANARY.encode() in b"".join(members(content).values())
    assert verify_bundle(content).model == model.slug  # BundleInvalid, naming the file, on any fault
    bundle = EvidenceBundle.objects.get(pk=body["id"])
    assert AuditEvent.objects.filter(object_type="reporting.evidencebundle", object_id=str(bundle.pk),
                                     verb="evidence_bundle.built").count() == 1


@pytest.mark.django_db
def test_bad_input_is_refused_naming_it_and_nothing_is_kept(model, people, api_client):
    url = reverse("api-model-evidence-bundle", args=[model.slug])
    api_client.force_login(people["compliance"])
    response = api_client.post(url, {"regime": "gdpr"}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "regime"
    assert api_client.post(url, {"regime": "eu-ai-act", "extra": 1}, format="json").status_code == 400
    api_client.force_login(people["viewer"])
    assert api_client.post(url, {}, format="json").json()["code"] == "permission_denied"
    assert not EvidenceBundle.objects.exists()


@pytest.mark.django_db
def test_a_redelivered_build_of_a_ready_bundle_changes_nothing(model, people):
    asked = records.request_bundle(model, actor=people["legal"], enqueue=False)
    build_evidence_bundle.apply(args=(asked.bundle.pk,))
    ready = EvidenceBundle.objects.get(pk=asked.bundle.pk)
    events = AuditEvent.objects.count()
    result = build_evidence_bundle.apply(args=(asked.bundle.pk,)).get()
    again = EvidenceBundle.objects.get(pk=asked.bundle.pk)
    assert result["status"] == "READY" and AuditEvent.objects.count() == events
    assert (again.file.name, again.sha256, again.finished_at, again.attempts) == \
        (ready.file.name, ready.sha256, ready.finished_at, 1)


@pytest.mark.django_db
def test_identical_pending_requests_share_one_bundle_and_a_new_one_follows_a_ready_one(model, people):
    first = records.request_bundle(model, actor=people["legal"], enqueue=False)
    second = records.request_bundle(model, actor=people["compliance"], enqueue=False)  # the same view: both see all
    other_view = records.request_bundle(model, actor=people["model_risk"], enqueue=False)
    other_regime = records.request_bundle(model, actor=people["legal"], regime="eu-ai-act", enqueue=False)
    assert first.created and not second.created and second.bundle.pk == first.bundle.pk
    assert other_view.created and other_regime.created
    assert len({first.bundle.pk, other_view.bundle.pk, other_regime.bundle.pk}) == 3
    records.build_stored_bundle(first.bundle.pk)
    assert records.request_bundle(model, actor=people["legal"], enqueue=False).created


@pytest.mark.django_db
def test_a_bundle_goes_only_to_readers_who_share_its_requesters_view(model, people, api_client, client):
    insider = records.request_bundle(model, actor=people["legal"], enqueue=False).bundle
    records.build_stored_bundle(insider.pk)
    detail = reverse("api-evidence-bundle-detail", args=[insider.pk])
    url = reverse("reporting:bundle_download", args=[insider.pk])
    # An exporter who may not see the restricted incident: refused by code, on the record and the download.
    api_client.force_login(people["model_risk"])
    response = api_client.get(detail)
    assert response.status_code == 403 and response.json()["code"] == "bundle_view_differs"
    client.force_login(people["model_risk"])
    response = client.get(url, HTTP_ACCEPT="application/json")
    assert response.status_code == 403 and response.json()["code"] == "bundle_view_differs"
    assert client.get(url).status_code == 403 and CANARY not in client.get(url).content.decode()
    # Someone who may not export evidence at all is told nothing about it.
    for person in ("viewer", "data_science"):
        api_client.force_login(people[person])
        assert api_client.get(detail).status_code == 404
        client.force_login(people[person])
        assert client.get(url).status_code == 404
    # Compliance sees every restricted matter, as Legal does: the same view, the same file.
    client.force_login(people["compliance"])
    verify_bundle(download(client, insider.pk))
    client.logout()
    assert client.get(url).status_code == 302  # to the sign-in page


@pytest.mark.django_db
def test_a_restricted_incident_stays_out_of_an_outsiders_bundle_and_the_insider_is_not_handed_it(
        model, people, client):
    outsider = records.request_bundle(model, actor=people["model_risk"], enqueue=False).bundle
    records.build_stored_bundle(outsider.pk)
    client.force_login(people["model_risk"])
    content = download(client, outsider.pk)
    files = members(content)
    assert not any(CANARY.encode() in data for name, data in files.items() if not name.endswith(".pdf"))
    assert verify_bundle(content).withheld["incident"] == 1
    # Legal sees the restricted incident: the outsider's file is not Legal's view either.
    client.force_login(people["legal"])
    assert client.get(reverse("reporting:bundle_download", args=[outsider.pk])).status_code == 403
    # Once the outsider is named on the incident, their view is Legal's; their old bundle is no longer theirs.
    from postmortems.models import Incident

    Incident.objects.get(title=CANARY).members.add(people["model_risk"])
    client.force_login(people["model_risk"])
    assert client.get(reverse("reporting:bundle_download", args=[outsider.pk])).status_code == 403


@pytest.mark.django_db
def test_a_requester_who_lost_the_right_to_export_gets_a_failed_bundle_not_a_file(model, people):
    asked = records.request_bundle(model, actor=people["model_risk"], enqueue=False).bundle
    people["model_risk"].memberships.filter(role=Role.MODEL_RISK).delete()
    result = build_evidence_bundle.apply(args=(asked.pk,)).get()
    failed = EvidenceBundle.objects.get(pk=asked.pk)
    assert result["status"] == "FAILED" and failed.status == BundleStatus.FAILED and not failed.file
    assert "export" in failed.error


@pytest.mark.django_db
def test_the_file_page_asks_for_lists_and_links_bundles_in_constant_queries(
        model, people, client, django_assert_max_num_queries, django_capture_on_commit_callbacks):
    client.force_login(people["legal"])
    page = reverse("reporting:examiner_file", args=[model.slug])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reporting:evidence_bundle", args=[model.slug]), {"regime": ""})
    assert response.status_code == 302 and response["Location"].endswith("#fb-bundle")
    bundle = EvidenceBundle.objects.get()
    assert bundle.status == BundleStatus.READY and bundle.requested_by == people["legal"]
    with django_assert_max_num_queries(60) as one:
        body = client.get(page).content.decode()
    assert reverse("reporting:bundle_download", args=[bundle.pk]) in body
    for _ in range(3):
        records.request_bundle(model, actor=people["legal"], regime="eu-ai-act", enqueue=False)
        EvidenceBundle.objects.filter(status=BundleStatus.QUEUED).update(status=BundleStatus.FAILED)
    with django_assert_max_num_queries(len(one.captured_queries)):
        body = client.get(page).content.decode()
    assert len(re.findall(r'id="bundle-\d+"', body)) == 4
    # The outsider's page lists none of Legal's bundles.
    client.force_login(people["model_risk"])
    assert not re.findall(r'id="bundle-\d+"', client.get(page).content.decode())


@pytest.mark.django_db
def test_a_bundle_whose_message_was_lost_is_built_by_the_periodic_requeue(
        model, people, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from reporting.tasks import requeue_stale_reports

    lost = records.request_bundle(model, actor=people["legal"], enqueue=False).bundle
    fresh = records.request_bundle(model, actor=people["model_risk"], enqueue=False).bundle
    EvidenceBundle.objects.filter(pk=lost.pk).update(requested_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert requeue_stale_reports.apply().get() == 1
    assert EvidenceBundle.objects.get(pk=lost.pk).status == BundleStatus.READY
    assert EvidenceBundle.objects.get(pk=fresh.pk).status == BundleStatus.QUEUED
    # Until then it answered identical requests; now a new request makes a new bundle.
    assert records.request_bundle(model, actor=people["legal"], enqueue=False).created
