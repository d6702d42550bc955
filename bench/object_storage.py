"""Gatehouse's own streaming overhead for a report kept in an S3-compatible store (target: at most 1.5x).

Starts moto's S3 API server on loopback (production uses MinIO, Ceph or S3), stores a report of SIZE_MB (default
20) in a bucket, then times, best of ROUNDS: a direct GET of the object with boto3, and the same object read the
way the download view serves it (django-storages' S3 backend opened by STORAGES, streamed through Django's
FileResponse in the view's block size). Prints both times and their ratio. Run: python bench/object_storage.py [MB]
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZE_MB = int(sys.argv[1]) if len(sys.argv) > 1 else 20
PORT, ROUNDS, BUCKET = 18371, 5, "bench-reports"
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
        from django.http import FileResponse

        from governance.kernel.storage import DOWNLOAD_BLOCK_SIZE, stream_stored

        client = boto3.client("s3", endpoint_url=ENDPOINT, region_name="us-east-1", aws_access_key_id="bench",
                              aws_secret_access_key="bench-secret")
        client.create_bucket(Bucket=BUCKET)
        name = default_storage.save("reports/bench.pdf", ContentFile(os.urandom(SIZE_MB * 1024 * 1024)))

        def direct() -> int:
            return len(client.get_object(Bucket=BUCKET, Key=name)["Body"].read())

        def through_gatehouse() -> int:
            response = FileResponse(stream_stored(default_storage, name), content_type="application/pdf")
            response.block_size = DOWNLOAD_BLOCK_SIZE
            return sum(len(chunk) for chunk in response.streaming_content)

        timings = {}
        for label, read in (("direct GET", direct), ("through Gatehouse", through_gatehouse)):
            best = float("inf")
            for _ in range(ROUNDS):
                start = time.perf_counter()
                assert read() == SIZE_MB * 1024 * 1024
                best = min(best, time.perf_counter() - start)
            timings[label] = best
            print(f"{label:>18}: {best * 1000:8.1f} ms for {SIZE_MB} MB")
        ratio = timings["through Gatehouse"] / timings["direct GET"]
        print(f"{'ratio':>18}: {ratio:8.2f}x (target <= 1.5x) -> {'PASS' if ratio <= 1.5 else 'FAIL'}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
