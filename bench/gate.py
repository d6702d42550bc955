"""Gate throughput under load: the gate endpoint beside a trivial JSON view, on gunicorn with 2 workers.

Prepares a throwaway database (SQLite by default, or BENCH_DATABASE_URL) with an approved launch and a token,
serves it with gunicorn on loopback, drives both endpoints with wrk for a bounded time, and prints
requests/s, p50/p99 latency and the ratio gate/trivial. Target: the gate at ≥ 60 % of the trivial view's
throughput with zero errors. Run: python bench/gate.py [seconds]
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECONDS = int(sys.argv[1]) if len(sys.argv) > 1 else 10

SETUP = r"""
from governance.policies.services import ensure_default_policies
from governance.kernel.principals import SystemActor
from governance.kernel.roles import Role
from governance.inventory.services import create_model, create_version
from governance.kernel.services import create_person, issue_api_token
from readiness import services
from readiness.models import ItemKind

ensure_default_policies()
seeder = SystemActor("bench")
people = {r: create_person(actor=seeder, username=r.lower(), first_name=r.title(), last_name="Bench",
                           password="bench-pass-123", roles=[r])
          for r in ["DATA_SCIENCE", "COMPLIANCE", "LEGAL", "MODEL_RISK"]}
author = create_person(actor=seeder, username="author", first_name="A", last_name="B", password="bench-pass-123",
                       roles=["DATA_SCIENCE"])
model = create_model(actor=seeder, slug="credit-line", name="Credit line", owner=author, business_use="Credit",
                     risk_tier="TIER_1")
version = create_version(model, actor=seeder, version="1.0.0", artifact_sha256="a" * 64,
                         features=[{"name": f"f{i}"} for i in range(30)])
launch = services.create_launch(version, actor=author, title="Bench launch", summary="s", options_considered="o",
                                decision="SHIP", rationale="r")
for _ in range(10):
    services.submit_evaluation(launch, actor=author, metrics={"psi.max": 0.05, "fairness.air": 0.9,
                               "fairness.eod": 0.02, "auc": 0.8})
for item in launch.items.filter(kind=ItemKind.MANUAL):
    services.attest_item(item, actor=people["DATA_SCIENCE"], outcome="PASS", evidence_text="ok")
launch.refresh_from_db()
services.submit_for_review(launch, actor=author)
for role, person in people.items():
    launch.refresh_from_db()
    services.sign_off(launch, actor=person, role=role, decision="APPROVE", password="bench-pass-123",
                      content_hash=launch.content_hash)
launch.refresh_from_db()
assert launch.status == "APPROVED", launch.status
token, secret = issue_api_token(actor=seeder, name="bench", scopes=["gate:read"])
print("SECRET=" + secret)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wrk(url: str, header: str | None) -> dict:
    command = ["wrk", "-t2", "-c16", f"-d{SECONDS}s", "--latency", url]
    if header:
        command[1:1] = ["-H", header]
    out = subprocess.run(command, capture_output=True, text=True, timeout=SECONDS + 60).stdout

    def latency(label):
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    error_count = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, errors.groups())) if errors else 0)
    return {"rps": rps, "p50": latency("50%"), "p99": latency("99%"), "errors": error_count}


def main():
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="gatehouse-bench-"))
    env = {**os.environ, "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{workdir}/bench.sqlite3"),
           "SECRET_KEY": "bench-" + "x" * 50, "DEBUG": "false", "LOG_LEVEL": "WARNING",
           "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("CELERY_BROKER_URL", None)
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    setup = subprocess.run([python, "manage.py", "shell", "-c", SETUP], cwd=ROOT, env=env, check=True,
                           capture_output=True, text=True).stdout
    secret = re.search(r"SECRET=(\S+)", setup).group(1)
    port = free_port()
    server = subprocess.Popen([python, "-m", "gunicorn", "config.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}",
                               "--log-level", "warning"], cwd=ROOT, env=env)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        gate_url = f"{base}/api/v1/gate/?model=credit-line&version=1.0.0&stage=shadow"
        check = subprocess.run(["curl", "-s", "-H", f"Authorization: Bearer {secret}", gate_url],
                               capture_output=True, text=True).stdout
        assert '"decision":"allow"' in check.replace(" ", ""), check
        trivial = wrk(f"{base}/healthz", None)
        gate = wrk(gate_url, f"Authorization: Bearer {secret}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"database: {env['DATABASE_URL'].split(':')[0]}, gunicorn 2 sync workers, wrk 2 threads 16 connections, "
          f"{SECONDS} s each")
    for name, r in (("trivial /healthz", trivial), ("gate /api/v1/gate/", gate)):
        print(f"{name:22s} {r['rps']:9.0f} req/s   p50 {r['p50']:6.2f} ms   p99 {r['p99']:6.2f} ms   "
              f"errors {r['errors']}")
    ratio = gate["rps"] / trivial["rps"]
    print(f"gate / trivial throughput: {ratio:.2f}  (target ≥ 0.60, zero errors: "
          f"{'met' if ratio >= 0.6 and gate['errors'] == 0 else 'MISSED'})")


if __name__ == "__main__":
    main()
