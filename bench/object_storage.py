"""Gatehouse's own streaming overhead for a report and an evidence file kept in an S3-compatible store (target:
at most 1.5x each).

Starts moto's S3 API server on loopback (production uses MinIO, Ceph or S3), stores a report of SIZE_MB (default
20) and a validation report (evidence, at most its 20 MB upload limit) in a bucket, then times each, best of ROUNDS alternating rounds:
a direct GET of the object with boto3, and the same object read the way the download views serve it (the stored
file's field opened through STORAGES by django-storages' S3 backend and streamed by
``governance.kernel.storage.stored_file_response``). Prints the times and the ratios.
Run: python bench/object_storage.py [MB]
"""

import os
import socket
import subprocess
import sys
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
        os.environ.update(DJANGO_SETTINGS_MODULE="config.settings", STORAGE_S3_BUCKET=BUCKET,
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
        from reporting.models import Report

        client = boto3.client("s3", endpoint_url=ENDPOINT, region_name="us-east-1", aws_access_key_id="bench",
                              aws_secret_access_key="bench-secret")
        client.create_bucket(Bucket=BUCKET)
        files = {  # what is downloaded: (the model field it is stored through, its stored name, its size)
            "report": (Report._meta.get_field("file"), "reports/bench.pdf", SIZE_MB * 1024 * 1024),
            "evidence": (Validation._meta.get_field("report"), "validation-reports/bench.pdf",
                         min(SIZE_MB, 20) * 1024 * 1024)}
        stored = {what: default_storage.save(name, ContentFile(os.urandom(size)))
                  for what, (_, name, size) in files.items()}

        for what, (field, _, size) in files.items():
            name = stored[what]

            def direct(name=name) -> int:
                return len(client.get_object(Bucket=BUCKET, Key=name)["Body"].read())

            def through_gatehouse(field=field, name=name) -> int:
                response = stored_file_response(FieldFile(None, field, name), filename="bench.pdf",
                                                content_type="application/pdf")
                return sum(len(chunk) for chunk in response.streaming_content)

            # Alternating rounds, best of each: on a shared machine the load moves both alike.
            timings = {"direct GET": float("inf"), "through Gatehouse": float("inf")}
            for _ in range(ROUNDS):
                for label, read in (("direct GET", direct), ("through Gatehouse", through_gatehouse)):
                    start = time.perf_counter()
                    assert read() == size
                    timings[label] = min(timings[label], time.perf_counter() - start)
            for label, best in timings.items():
                print(f"{what:>8} {label:>18}: {best * 1000:8.1f} ms for {size >> 20} MB")
            ratio = timings["through Gatehouse"] / timings["direct GET"]
            print(f"{what:>8} {'ratio':>18}: {ratio:8.2f}x (target <= 1.5x) -> {'PASS' if ratio <= 1.5 else 'FAIL'}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
