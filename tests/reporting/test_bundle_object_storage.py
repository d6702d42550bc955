"""An evidence bundle built by a worker on one host is kept in the S3-compatible store and downloaded through another
host, with the same checks as on local disk; neither host keeps it on its own disk.

The store is moto's S3 API server on loopback (production uses MinIO, Ceph or S3), started by the fixture the
report and evidence-file tests use."""

import hashlib

import boto3
import pytest
from django.test import override_settings
from django.urls import reverse

from reporting.bundle import records
from reporting.bundle.verify import verify_bundle
from reporting.models import BundleStatus
from tests.governance.test_object_storage import KEYS, bucket, host, s3_server  # noqa: F401 - fixtures
from tests.reporting.test_stored_bundles import CANARY, members, small_file

pytestmark = [pytest.mark.django_db, pytest.mark.services, pytest.mark.xdist_group("s3-server")]


def test_a_bundle_built_on_one_host_downloads_through_another_and_verifies(
        tmp_path, s3_server, bucket, people, client, settings, django_capture_on_commit_callbacks):  # noqa: F811
    settings.AUDIT_ANCHOR_DIR = str(tmp_path / "anchors")
    (tmp_path / "anchors").mkdir()
    worker_disk, web_disk = tmp_path / "worker", tmp_path / "web"
    worker_disk.mkdir()
    web_disk.mkdir()
    with override_settings(**host(bucket, worker_disk, s3_server)):
        model = small_file(people)
        with django_capture_on_commit_callbacks(execute=True):
            insider = records.request_bundle(model, actor=people["legal"]).bundle
            outsider = records.request_bundle(model, actor=people["model_risk"]).bundle
    insider.refresh_from_db()
    outsider.refresh_from_db()
    assert insider.status == outsider.status == BundleStatus.READY
    assert not any(worker_disk.rglob("*")), "the worker kept a file on its own disk"
    stored = boto3.client("s3", endpoint_url=s3_server, **KEYS).get_object(Bucket=bucket, Key=insider.file.name)
    assert hashlib.sha256(stored["Body"].read()).hexdigest() == insider.sha256
    with override_settings(**host(bucket, web_disk, s3_server)):
        url = reverse("reporting:bundle_download", args=[insider.pk])
        client.force_login(people["model_risk"])  # may export, may not see the restricted incident
        response = client.get(url, HTTP_ACCEPT="application/json")
        assert response.status_code == 403 and response.json()["code"] == "bundle_view_differs"
        own = b"".join(client.get(reverse("reporting:bundle_download", args=[outsider.pk])).streaming_content)
        client.force_login(people["legal"])
        response = client.get(url)
        assert response.status_code == 200 and response["Cache-Control"].startswith("private, no-store")
        body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == insider.sha256 == response["X-Content-SHA256"]
    assert "Location" not in response
    assert verify_bundle(body).model == model.slug and "incident" not in verify_bundle(body).withheld
    assert verify_bundle(own).withheld["incident"] == 1
    assert not any(CANARY.encode() in data for name, data in members(own).items() if not name.endswith(".pdf"))
    assert not any(web_disk.rglob("*")), "the web host read the bundle from its own disk"
