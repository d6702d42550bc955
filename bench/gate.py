"""Gate throughput under load: the gate endpoint beside a trivial JSON view, on gunicorn with 2 workers.

Prepares a throwaway database (SQLite by default, or BENCH_DATABASE_URL) with an approved launch and a token,
serves it with gunicorn on loopback, drives both endpoints with wrk for a bounded time, and prints
requests/s, p50/p99 latency and the ratio gate/trivial. Target: the gate at ≥ 60 % of the trivial view's
throughput with zero errors. The gate is measured twice in the same run, with its receipts signed (Ed25519, as
served) and unsigned (bench/unsigned_wsgi.py): signing may cost at most 10 % of the gate's throughput. The
signature's own cost is also timed in-process. The deploy-tool contracts are measured in the same alternating
rounds, with their call recording on (a ToolCall row per call): the Argo Rollouts web metric (GET
/api/v1/gate/argo/) and a Flagger confirm-promotion webhook (POST /api/v1/gate/flagger/confirm-promotion/ with
Flagger's documented body); target: each at ≥ 0.9 × the plain gate's throughput. Run: python bench/gate.py [seconds]
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from keys import throwaway_signing_key

ROOT = Path(__file__).resolve().parent.parent
BENCH_SIGNING_KEY = throwaway_signing_key()
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
for item in launch.items.filter(kind=ItemKind.MANUAL, stage=""):  # a stage's result is attested after it runs
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


def wrk(url: str, header: str | None, script: Path | None = None) -> dict:
    command = ["wrk", "-t2", "-c16", f"-d{SECONDS}s", "--latency", url]
    if header:
        command[1:1] = ["-H", header]
    if script:
        command[1:1] = ["-s", str(script)]
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


# The gate's decision with and without the signature, in CPU time of one process (other load on the machine
# does not count), alternating rounds; an upper bound on signing's share of a whole request.
DECIDE_CPU = r"""
import time
from governance.kernel import signing
from governance.kernel.canonical import canonical_json
from readiness import gate

signed = signing.KeyRing.sign
def unsigned(self, payload, *, typ):
    header = signing.b64url(canonical_json({"alg": "none", "kid": self.signing_kid, "typ": typ}).encode())
    return f"{header}.{signing.b64url(canonical_json(payload).encode())}."
def per_call(n=300):
    start = time.process_time()
    for _ in range(n):
        gate.decide("credit-line", "1.0.0", "shadow")
    return (time.process_time() - start) / n
times = {"signed": [], "unsigned": []}
for _ in range(5):
    for name, sign in (("signed", signed), ("unsigned", unsigned)):
        signing.KeyRing.sign = sign
        times[name].append(per_call())
signing.KeyRing.sign = signed
ring, payload = signing.keyring(), {"decision": "allow", "evaluated_at": "2025-01-01T00:00:00+00:00"}
start = time.process_time()
for _ in range(2000):
    ring.sign(payload, typ="t")
alone = (time.process_time() - start) / 2000
print("CPU signed=%.1f unsigned=%.1f signature=%.1f" % (min(times["signed"]) * 1e6, min(times["unsigned"]) * 1e6,
                                                       alone * 1e6))
"""
ROUNDS = 3


def combine(runs: list[dict]) -> dict:
    """Rounds of equal length: mean throughput, median of the latency figures, total errors."""
    import statistics

    return {"rps": statistics.mean(r["rps"] for r in runs), "p50": statistics.median(r["p50"] for r in runs),
            "p99": statistics.median(r["p99"] for r in runs), "errors": sum(r["errors"] for r in runs)}


def serve(python, app, env, port):
    return subprocess.Popen([python, "-m", "gunicorn", app, "-w", "2", "-b", f"127.0.0.1:{port}",
                             "--pythonpath", str(ROOT / "bench"), "--log-level", "warning"], cwd=ROOT, env=env)


def wait_for(port):
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)


def main():
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="gatehouse-bench-"))
    env = {**os.environ, "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{workdir}/bench.sqlite3"),
           "SECRET_KEY": "bench-" + "x" * 50, "DEBUG": "false", "LOG_LEVEL": "WARNING",
           "DJANGO_SETTINGS_MODULE": "config.settings", "GATE_SIGNING_KEY": BENCH_SIGNING_KEY}
    env.pop("CELERY_BROKER_URL", None)
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    setup = subprocess.run([python, "manage.py", "shell", "-c", SETUP], cwd=ROOT, env=env, check=True,
                           capture_output=True, text=True).stdout
    secret = re.search(r"SECRET=(\S+)", setup).group(1)
    port, unsigned_port = free_port(), free_port()
    server = serve(python, "config.wsgi", env, port)
    unsigned_server = serve(python, "unsigned_wsgi", env, unsigned_port)
    try:
        wait_for(port)
        wait_for(unsigned_port)
        base = f"http://127.0.0.1:{port}"
        query = "/api/v1/gate/?model=credit-line&version=1.0.0&stage=shadow"
        gate_url, unsigned_url = base + query, f"http://127.0.0.1:{unsigned_port}" + query
        for url in (gate_url, unsigned_url):
            check = subprocess.run(["curl", "-s", "-H", f"Authorization: Bearer {secret}", url],
                                   capture_output=True, text=True).stdout
            assert '"decision":"allow"' in check.replace(" ", ""), check
        argo_url = base + query.replace("/gate/?", "/gate/argo/?")
        flagger_url = base + "/api/v1/gate/flagger/confirm-promotion/"
        flagger_body = json.dumps({"name": "credit-line", "namespace": "lending", "phase": "Progressing",
                                   "checksum": "85d557f47b", "metadata": {
                                       "model": "credit-line", "version": "1.0.0", "stage": "shadow",
                                       "token": secret}})
        flagger_script = workdir / "flagger.lua"
        flagger_script.write_text('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                                  f"wrk.body = {json.dumps(flagger_body)}\n")
        for url, extra in ((argo_url, ["-H", f"Authorization: Bearer {secret}"]),
                           (flagger_url, ["-X", "POST", "-H", "Content-Type: application/json", "-d", flagger_body])):
            check = subprocess.run(["curl", "-s", *extra, url], capture_output=True, text=True).stdout
            assert '"decision":"allow"' in check.replace(" ", ""), check
        trivial = wrk(f"{base}/healthz", None)
        # Every variant alternates in rounds, so a change in the machine's other load hits them alike.
        rounds: dict[str, list[dict]] = {"signed": [], "unsigned": [], "argo": [], "flagger": []}
        for _ in range(ROUNDS):
            rounds["signed"].append(wrk(gate_url, f"Authorization: Bearer {secret}"))
            rounds["unsigned"].append(wrk(unsigned_url, f"Authorization: Bearer {secret}"))
            rounds["argo"].append(wrk(argo_url, f"Authorization: Bearer {secret}"))
            rounds["flagger"].append(wrk(flagger_url, None, flagger_script))
        gate, unsigned, argo, flagger = (combine(rounds[name]) for name in ("signed", "unsigned", "argo", "flagger"))
        recorded = subprocess.run([python, "manage.py", "shell", "-c",
                                   "from readiness.models import ToolCall; print('CALLS=%d' % ToolCall.objects.count())"],
                                  cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
        cpu = subprocess.run([python, "manage.py", "shell", "-c", DECIDE_CPU], cwd=ROOT, env=env, check=True,
                             capture_output=True, text=True).stdout
        cpu_signed, cpu_unsigned, cpu_signature = (float(x) for x in re.search(
            r"CPU signed=([\d.]+) unsigned=([\d.]+) signature=([\d.]+)", cpu).groups())
    finally:
        for process in (server, unsigned_server):
            process.terminate()
            process.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"database: {env['DATABASE_URL'].split(':')[0]}, gunicorn 2 sync workers, wrk 2 threads 16 connections, "
          f"{SECONDS} s each ({ROUNDS} alternating rounds each for the signed and unsigned gate)")
    for name, r in (("trivial /healthz", trivial), ("gate /api/v1/gate/", gate), ("gate, receipts unsigned", unsigned),
                    ("argo /gate/argo/", argo), ("flagger confirm-promotion", flagger)):
        print(f"{name:26s} {r['rps']:9.0f} req/s   p50 {r['p50']:6.2f} ms   p99 {r['p99']:6.2f} ms   "
              f"errors {r['errors']}")
    ratio = gate["rps"] / trivial["rps"]
    print(f"gate / trivial throughput: {ratio:.2f}  (target ≥ 0.60, zero errors: "
          f"{'met' if ratio >= 0.6 and gate['errors'] == 0 else 'MISSED'})")
    cost = 1 - gate["rps"] / unsigned["rps"]
    print(f"signing's cost in gate throughput: {cost:+.1%} (signed {gate['rps']:.0f} vs unsigned {unsigned['rps']:.0f}"
          f" req/s; limit 10 %: {'met' if cost <= 0.10 else 'MISSED'})")
    for name, r in (("argo", argo), ("flagger", flagger)):
        share = r["rps"] / gate["rps"]
        print(f"{name} / plain gate throughput: {share:.2f} (target ≥ 0.90, zero errors: "
              f"{'met' if share >= 0.9 and r['errors'] == 0 else 'MISSED'})")
    calls = re.search(r"CALLS=(\d+)", recorded).group(1)
    print(f"calls recorded by the contracts: {calls}")
    print(f"gate decision CPU time per call: signed {cpu_signed:.0f} µs, unsigned {cpu_unsigned:.0f} µs: "
          f"difference {1 - cpu_unsigned / cpu_signed:+.1%}; one signature alone {cpu_signature:.0f} µs = "
          f"{cpu_signature / cpu_signed:.1%} of a signed decision")


if __name__ == "__main__":
    main()
