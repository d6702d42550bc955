"""Reports and evidence files in an S3-compatible object store: written on one host, downloaded through another.

The store is moto's S3 API server, run as a separate process on loopback (production uses MinIO, Ceph or S3);
Gatehouse talks to it through django-storages' S3 backend, exactly as it would to any of those.
"""

import hashlib
import socket
import subprocess
import sys
import time

import boto3
import pytest
from botocore.exceptions import ClientError
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse

from governance.kernel.anchor_bucket import anchor_client, write_bucket_anchor
from governance.kernel.canonical import canonical_json
from governance.policies.services import ensure_default_policies
from reporting.models import Report
from tests.factories import MLModelFactory
from tests.governance.test_reports import generated, restricted_incident, stand_in_layout

pytestmark = [pytest.mark.django_db, pytest.mark.services, pytest.mark.xdist_group("s3-server")]  # one server
KEYS = {"aws_access_key_id": "gatehouse", "aws_secret_access_key": "gatehouse-secret", "region_name": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def s3_server():
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:  # ready when it answers an S3 call, not merely when the port is open
        try:
            boto3.client("s3", endpoint_url=endpoint, **KEYS).list_buckets()
            break
        except Exception:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("the S3 API server did not start")
            time.sleep(0.2)
    yield endpoint
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def bucket(s3_server, request):
    name = f"reports-{request.node.name[-20:].lower().replace('_', '-')}-{time.monotonic_ns() % 10**6}"
    boto3.client("s3", endpoint_url=s3_server, **KEYS).create_bucket(Bucket=name)
    return name


def host(bucket: str, disk, endpoint: str) -> dict:
    """The settings of one Gatehouse host: the shared bucket, and a local disk of its own."""
    return {"MEDIA_ROOT": str(disk), "STORAGES": {
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
            "bucket_name": bucket, "endpoint_url": endpoint, "region_name": "us-east-1",
            "access_key": KEYS["aws_access_key_id"], "secret_key": KEYS["aws_secret_access_key"],
            "default_acl": None, "querystring_auth": True, "querystring_expire": 60, "file_overwrite": False}},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}}


@pytest.fixture(autouse=True)
def policies(db):
    return ensure_default_policies()


def test_a_report_rendered_on_one_host_downloads_through_another_with_its_checks(
        tmp_path, s3_server, bucket, people, client, monkeypatch, django_capture_on_commit_callbacks):
    stand_in_layout(monkeypatch)
    worker_disk, web_disk = tmp_path / "worker", tmp_path / "web"
    worker_disk.mkdir()
    web_disk.mkdir()
    incident = restricted_incident(people, overdue=0)
    with override_settings(**host(bucket, worker_disk, s3_server)):
        report = generated(people["legal"], "INCIDENT_REPORT", incident.pk, capture=django_capture_on_commit_callbacks)
    assert report.status == "DONE"
    assert not any(worker_disk.rglob("*.pdf")), "the worker kept the report on its own disk"
    stored = boto3.client("s3", endpoint_url=s3_server, **KEYS).get_object(Bucket=bucket, Key=report.file.name)
    assert hashlib.sha256(stored["Body"].read()).hexdigest() == report.sha256
    url = reverse("reporting:report_download", args=[report.pk])
    with override_settings(**host(bucket, web_disk, s3_server)):
        client.force_login(people["engineering"])
        assert client.get(url).status_code == 404  # the same visibility check as on local disk
        client.force_login(people["legal"])
        response = client.get(url)
        assert response.status_code == 200 and response["Cache-Control"].startswith("private, no-store")
        body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == report.sha256 == response["X-Content-SHA256"]
    assert "Location" not in response and bucket.encode() not in body
    assert not any(web_disk.rglob("*")), "the web host read the report from its own disk"


def test_an_evidence_file_uploaded_on_one_host_downloads_through_another_with_its_checks(
        tmp_path, s3_server, bucket, people, client, token_for):
    """A validator's report (evidence) is written to the store by the host that took the upload and streamed by
    another host after the same permission check; neither host keeps it on its own disk."""
    from tests.reporting.test_evidence_downloads import REPORT, signed_validation

    upload_disk, web_disk = tmp_path / "upload", tmp_path / "web"
    upload_disk.mkdir()
    web_disk.mkdir()
    with override_settings(**host(bucket, upload_disk, s3_server)):
        validation = signed_validation()
    assert not any(upload_disk.rglob("*")), "the host that took the upload kept it on its own disk"
    stored = boto3.client("s3", endpoint_url=s3_server, **KEYS).get_object(Bucket=bucket, Key=validation.report.name)
    assert stored["Body"].read() == REPORT
    url = reverse("reporting:validation_report_download", args=[validation.pk])
    with override_settings(**host(bucket, web_disk, s3_server)):
        _, other_model = token_for("validations:read", models=[MLModelFactory()])
        assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {other_model}").status_code == 404
        client.force_login(people["viewer"])
        response = client.get(url)
        assert response.status_code == 200 and response["Cache-Control"].startswith("private, no-store")
        body = b"".join(response.streaming_content)
    assert body == REPORT and hashlib.sha256(body).hexdigest() == response["X-Content-SHA256"]
    assert "Location" not in response and bucket.encode() not in body
    assert not any(web_disk.rglob("*")), "the web host read the evidence from its own disk"


def test_a_report_on_local_disk_is_missing_on_another_host(tmp_path, people, monkeypatch,
                                                          django_capture_on_commit_callbacks):
    """Why the object store: with the embedded default, a second host's disk does not have the file."""
    stand_in_layout(monkeypatch)
    local = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    statics = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    incident = restricted_incident(people, overdue=0)
    with override_settings(MEDIA_ROOT=str(tmp_path / "a"), STORAGES={"default": local, "staticfiles": statics}):
        report = generated(people["legal"], "INCIDENT_REPORT", incident.pk, capture=django_capture_on_commit_callbacks)
    with override_settings(MEDIA_ROOT=str(tmp_path / "b"), STORAGES={"default": local, "staticfiles": statics}):
        assert not Report.objects.get(pk=report.pk).file.storage.exists(report.file.name)


# -- write-once anchors --------------------------------------------------------------------------------------

@pytest.fixture
def locked_bucket(s3_server):
    name = f"anchors-{time.monotonic_ns() % 10**9}"
    boto3.client("s3", endpoint_url=s3_server, **KEYS).create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    with override_settings(AUDIT_ANCHOR_BUCKET=name, AUDIT_ANCHOR_S3_ENDPOINT_URL=s3_server,
                           AUDIT_ANCHOR_S3_ACCESS_KEY=KEYS["aws_access_key_id"],
                           AUDIT_ANCHOR_S3_SECRET_KEY=KEYS["aws_secret_access_key"], AUDIT_ANCHOR_DIR=""):
        yield name


def not_intact(**options):
    with pytest.raises(CommandError) as info:
        call_command("verify_audit_log", **options)
    return info.value.reasons


def test_a_locked_anchor_version_cannot_be_deleted_and_verifies(locked_bucket, people):
    restricted_incident(people, overdue=0)
    anchor = write_bucket_anchor(locked_bucket)
    client = anchor_client()
    key = anchor.source.removeprefix(f"s3://{locked_bucket}/")
    head = client.head_object(Bucket=locked_bucket, Key=key)
    assert head["ObjectLockMode"] == "COMPLIANCE" and head["ObjectLockRetainUntilDate"] > anchor.anchored_at
    with pytest.raises(ClientError) as refused:
        client.delete_object(Bucket=locked_bucket, Key=key, VersionId=head["VersionId"])
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    call_command("verify_audit_log")


def test_a_newer_version_of_an_anchor_is_reported_as_tampering(locked_bucket, people):
    restricted_incident(people, overdue=0)
    anchor = write_bucket_anchor(locked_bucket)
    key = anchor.source.removeprefix(f"s3://{locked_bucket}/")
    forged = canonical_json({"seq": 1, "hash": "0" * 64, "anchored_at": anchor.anchored_at}).encode()
    anchor_client().put_object(Bucket=locked_bucket, Key=key, Body=forged)
    assert not_intact() == ("anchor_overwritten",)


def test_a_delete_marker_over_an_anchor_is_reported_as_tampering(locked_bucket, people):
    restricted_incident(people, overdue=0)
    anchor = write_bucket_anchor(locked_bucket)
    anchor_client().delete_object(Bucket=locked_bucket, Key=anchor.source.removeprefix(f"s3://{locked_bucket}/"))
    assert not_intact() == ("anchor_deleted",)



def test_the_periodic_anchor_goes_to_the_locked_bucket_when_one_is_configured(locked_bucket, people):
    from governance.kernel.tasks import anchor_audit_log

    restricted_incident(people, overdue=0)
    source = anchor_audit_log()
    assert source.startswith(f"s3://{locked_bucket}/audit-anchors/")
    listed = anchor_client().list_object_versions(Bucket=locked_bucket)["Versions"]
    assert len(listed) == 1
    call_command("verify_audit_log")
