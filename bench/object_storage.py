"""Gatehouse's own streaming overhead for a report, an evidence file and an evidence bundle kept in an S3-compatible
store (target: at most 1.5x each).

Starts moto's S3 API server on loopback (production uses MinIO, Ceph or S3), stores a report of SIZE_MB (default
20), a validation report (evidence, at most its 20 MB upload limit) and an evidence bundle (a zip of SIZE_MB) in a
bucket, then times each, best of ROUNDS alternating rounds:
a direct GET of the object with boto3, and the same object read the way the download views serve it (the stored
file's field opened through STORAGES by django-storages' S3 backend and streamed by
``governance.kernel.storage.stored_file_response``). The bundle is also timed through the whole download view
(``/evidence/bundles/<id>/download/`` by Django's test client for a signed-in Legal reader, in a throwaway SQLite
database), so its session, permission and view checks (five queries) are part of what is timed. Prints the times
and the ratios.
Run: python bench/object_storage.py [MB]
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZE_MB = int(sys.argv[1]) if len(sys.argv) > 1 else 20
PORT, ROUNDS, BUCKET = 18371, 15, "bench-reports"
ENDPOINT = f"http://127.0.0.1:{PORT}"


def main() -> None:
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(PORT)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", PORT), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        workdir = tempfile.mkdtemp(prefix="gatehouse-bench-storage-")
        os.environ.update(DJANGO_SETTINGS_MODULE="config.settings", STORAGE_S3_BUCKET=BUCKET,
                          DATABASE_URL=f"sqlite:///{workdir}/bench.sqlite3",
                          STORAGE_S3_ENDPOINT_URL=ENDPOINT, STORAGE_S3_ACCESS_KEY="bench",
                          STORAGE_S3_SECRET_KEY="bench-secret")
        sys.path.insert(0, str(ROOT))
        import boto3
        import django

        django.setup()
        from django.core.files.base import ContentFile
        from django.core.files.storage import default_storage
        from django.db.models.fields.files import FieldFile

        from governance.kernel.storage import stored_file_response
        from governance.validation.models import Validation
        from reporting.models import EvidenceBundle, Report

        client = boto3.client("s3", endpoint_url=ENDPOINT, region_name="us-east-1", aws_access_key_id="bench",
                              aws_secret_access_key="bench-secret")
        client.create_bucket(Bucket=BUCKET)
        files = {  # what is downloaded: (the model field it is stored through, its stored name, its size)
            "report": (Report._meta.get_field("file"), "reports/bench.pdf", SIZE_MB * 1024 * 1024),
            "evidence": (Validation._meta.get_field("report"), "validation-reports/bench.pdf",
                         min(SIZE_MB, 20) * 1024 * 1024),
            "bundle": (EvidenceBundle._meta.get_field("file"), "bundles/bench.zip", SIZE_MB * 1024 * 1024)}
        stored = {what: default_storage.save(name, ContentFile(os.urandom(size)))
                  for what, (_, name, size) in files.items()}

        bundle_url = _bundle_download(stored["bundle"], files["bundle"][2])

        for what, (field, _, size) in files.items():
            name = stored[what]

            def direct(name=name) -> int:
                return len(client.get_object(Bucket=BUCKET, Key=name)["Body"].read())

            def through_gatehouse(field=field, name=name) -> int:
                response = stored_file_response(FieldFile(None, field, name), filename="bench",
                                                content_type="application/octet-stream")
                return sum(len(chunk) for chunk in response.streaming_content)

            def through_the_view() -> int:
                response = bundle_url[0].get(bundle_url[1])
                assert response.status_code == 200, response.status_code
                return sum(len(chunk) for chunk in response.streaming_content)

            ways = {"direct GET": direct, "through Gatehouse": through_gatehouse}
            if what == "bundle":
                ways["through the view"] = through_the_view
            # Alternating rounds, best of each: on a shared machine the load moves all alike.
            timings = dict.fromkeys(ways, float("inf"))
            for _ in range(ROUNDS):
                for label, read in ways.items():
                    start = time.perf_counter()
                    assert read() == size
                    timings[label] = min(timings[label], time.perf_counter() - start)
            for label, best in timings.items():
                print(f"{what:>8} {label:>18}: {best * 1000:8.1f} ms for {size >> 20} MB")
            for label in list(ways)[1:]:
                ratio = timings[label] / timings["direct GET"]
                print(f"{what:>8} {'ratio ' + label.split()[-1]:>18}: {ratio:8.2f}x (target <= 1.5x) -> "
                      f"{'PASS' if ratio <= 1.5 else 'FAIL'}")
    finally:
        server.terminate()
        server.wait(timeout=10)


def _bundle_download(name: str, size: int):
    """A ready bundle stored under ``name`` and a Legal reader signed in to download it: (client, url)."""
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from governance.inventory.models import MLModel
    from governance.kernel.models import RoleMembership, User
    from reporting.bundle.records import view_fingerprint
    from reporting.models import BundleStatus, EvidenceBundle

    call_command("migrate", verbosity=0)
    reader = User.objects.create_user(username="bench_legal", first_name="Bench", last_name="Legal")
    RoleMembership.objects.create(user=reader, role="LEGAL")
    model = MLModel.objects.create(slug="bench-model", name="Bench model", owner=reader, business_use="Benchmark",
                                   risk_tier="TIER_1")
    bundle = EvidenceBundle.objects.create(model=model, requested_by=reader, status=BundleStatus.READY, file=name,
                                           filename="bench.zip", size=size, sha256="0" * 64, dedupe_key="bench",
                                           view_fingerprint=view_fingerprint(model.pk, []), view_incident_ids=[])
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(reader)
    return client, reverse("reporting:bundle_download", args=[bundle.pk])


if __name__ == "__main__":
    main()
