"""Peak memory of a web worker receiving a large predictions upload (target: at most about twice the file).

Prepares a throwaway SQLite database with a launch and a token, writes a predictions CSV of SIZE_MB (default 200)
to a temporary directory, serves Gatehouse with gunicorn (one sync worker) on loopback, posts the file to the
evaluations endpoint with curl, and reads the worker's peak resident set size (VmHWM in /proc) before and after.
Prints the file size, the worker's peak RSS, their ratio and the answer. Linux only. Run: python bench/upload.py [MB]
"""

import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from keys import throwaway_signing_key

ROOT = Path(__file__).resolve().parent.parent
SIZE_MB = int(sys.argv[1]) if len(sys.argv) > 1 else 200

SETUP = r"""
from governance.policies.services import ensure_default_policies
from governance.kernel.principals import SystemActor
from governance.inventory.services import create_model, create_version
from governance.kernel.services import create_person, issue_api_token
from readiness import services

ensure_default_policies()
seeder = SystemActor("bench")
author = create_person(actor=seeder, username="author", first_name="A", last_name="B", password="bench-pass-123",
                       roles=["DATA_SCIENCE"])
model = create_model(actor=seeder, slug="credit-line", name="Credit line", owner=author, business_use="Credit",
                     risk_tier="TIER_1")
version = create_version(model, actor=seeder, version="1.0.0", artifact_sha256="a" * 64)
launch = services.create_launch(version, actor=author, title="Upload bench")
token, secret = issue_api_token(actor=seeder, name="bench", scopes=["evaluations:write"])
print(f"SECRET={secret} LAUNCH={launch.pk}")
"""


def write_predictions(path: Path, size: int) -> int:
    """Rows of id, group, y_true, y_pred, score (about 60 bytes each) until the file reaches ``size`` bytes."""
    rng = random.Random(7)
    groups = [f"segment-{i:02d}" for i in range(8)]
    written = 0
    with path.open("w") as out:
        out.write("id,group,y_true,y_pred,score\n")
        batch = []
        n = 0
        while written < size:
            n += 1
            y_true = int(rng.random() < 0.4)
            score = rng.random()
            batch.append(f"{n:012d},{groups[n % 8]},{y_true},{int(score < 0.45)},{score:.15f}\n")
            if len(batch) == 50_000:
                chunk = "".join(batch)
                out.write(chunk)
                written += len(chunk)
                batch = []
        out.write("".join(batch))
    return path.stat().st_size


def peak_rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024


def worker_of(master: int) -> int:
    for _ in range(100):
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("gunicorn started no worker")


def main():
    workdir = Path(tempfile.mkdtemp(prefix="gatehouse-upload-bench-"))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{workdir}/bench.sqlite3", "SECRET_KEY": "bench-" + "x" * 50,
           "DEBUG": "false", "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "config.settings",
           "MAX_UPLOAD_BYTES": str(max(SIZE_MB + 10, 210) * 1024 * 1024), "FAIRNESS_BOOTSTRAP_RESAMPLES": "2000",
           "TMPDIR": str(workdir), "GATE_SIGNING_KEY": throwaway_signing_key()}
    env.pop("CELERY_BROKER_URL", None)
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    setup = subprocess.run([python, "manage.py", "shell", "-c", SETUP], cwd=ROOT, env=env, check=True,
                           capture_output=True, text=True).stdout
    secret, launch = re.search(r"SECRET=(\S+) LAUNCH=(\d+)", setup).groups()
    csv_path = workdir / "predictions.csv"
    size = write_predictions(csv_path, SIZE_MB * 1024 * 1024)
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    port_number = port.getsockname()[1]
    port.close()
    server = subprocess.Popen([python, "-m", "gunicorn", "config.wsgi", "-w", "1", "-b", f"127.0.0.1:{port_number}",
                               "--timeout", "600", "--log-level", "warning"], cwd=ROOT, env=env)
    try:
        worker = worker_of(server.pid)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port_number), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        subprocess.run(["curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{port_number}/healthz"], check=True)
        before = peak_rss(worker)
        started = time.monotonic()
        answer = subprocess.run(
            ["curl", "-s", "-w", "\n%{http_code}", "-H", f"Authorization: Bearer {secret}",
             "-F", f"predictions=@{csv_path};type=text/csv",
             f"http://127.0.0.1:{port_number}/api/v1/launches/{launch}/evaluations/"],
            capture_output=True, text=True, timeout=900).stdout
        elapsed = time.monotonic() - started
        after = peak_rss(worker)
    finally:
        server.terminate()
        server.wait(timeout=30)
    body, status = answer.rsplit("\n", 1)
    print(f"upload          {size / 2**20:8.1f} MiB  ({size:,} bytes)")
    print(f"worker peak RSS {after / 2**20:8.1f} MiB  (idle peak before the upload {before / 2**20:.1f} MiB)")
    print(f"ratio           {after / size:8.2f} x the upload   (target: about 2 or less)")
    print(f"answer          HTTP {status} in {elapsed:.1f} s  {body[:160]}")
    for leftover in workdir.iterdir():
        leftover.unlink()
    workdir.rmdir()


if __name__ == "__main__":
    main()
