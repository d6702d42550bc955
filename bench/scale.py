"""How costs grow with history: pages, search, the gate, rollouts, ingest, reports and the audit check on generated
data sets of two sizes (PostgreSQL), with the ratio between them.

Each data set is a PostgreSQL database filled by ``manage.py generate_scale_data`` (``--generate`` does it: full size
is 300 models, 20,000 launches, 3,000 incidents, 5M observations and 2M audit events; one tenth divides each by ten).
The gate runs under wrk on gunicorn (2 sync workers, loopback, bounded time) on the large, the small and the small
seeded database (``seed_examples``), in alternating rounds, for the ratio.

    python bench/scale.py [--large URL] [--small URL] [--seeded URL] [--generate] [--runs N] [--seconds S]
                          [--gate-rounds R]

Defaults: --large postgres://postgres@127.0.0.1:5432/gatehouse_scale, --small …/gatehouse_scale_tenth,
--seeded …/gatehouse_seeded. Writes made by the measurements (evaluate_rollouts, ingest) are rolled back.
"""

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from keys import throwaway_signing_key

ROOT = Path(__file__).resolve().parent.parent
PG = "postgres://postgres@127.0.0.1:5432/"
FULL = {"models": 300, "launches": 20_000, "incidents": 3_000, "observations": 5_000_000,
        "audit_events": 2_000_000}
TARGETS = {"page p95": 300.0, "search p95": 200.0, "gate p99 ratio": 1.2, "evaluate_rollouts": 5.0,
           "governance pack": 20.0, "verify events/s": 100_000}


# -- inside one database (a child process with DATABASE_URL set) ---------------------------------------------

def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def measure(runs: int) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import transaction
    from django.db.models import Count
    from django.db.models.functions import TruncQuarter
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from governance.kernel.canonical import content_hash
    from governance.kernel.principals import SystemActor
    from governance.kernel.roles import Role
    from governance.models import User
    from readiness import rollouts
    from readiness.models import LaunchRequest, LaunchStatus
    from reporting import pdf, reports
    from reporting.present import present

    class Rollback(Exception):
        pass

    out = {"launches": LaunchRequest.objects.count()}
    compliance = User.objects.filter(memberships__role=Role.COMPLIANCE).order_by("pk").first()
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(compliance)
    long_launch = (LaunchRequest.objects.annotate(n=Count("evaluations")).order_by("-n", "pk")
                   .values_list("pk", flat=True).first())
    pages = {
        "dashboard": reverse("dashboard"),
        "launch list, page 1": reverse("readiness:launch_list"),
        "launch list, page 40": reverse("readiness:launch_list") + "?page=40",
        "launch list, filtered": reverse("readiness:launch_list") + "?status=LAUNCHED&tier=TIER_1",
        "launch list, searched": reverse("readiness:launch_list") + "?q=card",
        "launch page, long history": reverse("readiness:launch_detail", args=[long_launch]),
        "incident list": reverse("postmortems:incident_list"),
        "incident list, searched": reverse("postmortems:incident_list") + "?q=vendor",
        "incident insights": reverse("postmortems:insights"),
        "policy history (TIER_1)": reverse("governance:policy_detail", args=["TIER_1"]),
    }
    out["pages"] = {}
    for name, url in pages.items():
        times = []
        for i in range(runs + 2):
            t0 = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - t0) * 1000
            assert response.status_code == 200, (name, response.status_code)
            if i >= 2:  # two warm-up requests
                times.append(elapsed)
        out["pages"][name] = {"p50": statistics.median(times), "p95": percentile(times, 95)}

    # the periodic rollout evaluation, on every rollout in progress (rolled back so each run sees the same state)
    rolling = LaunchRequest.objects.filter(status=LaunchStatus.ROLLING_OUT).count()
    try:
        with transaction.atomic():
            t0 = time.perf_counter()
            summary = rollouts.evaluate_rollouts()
            out["evaluate_rollouts"] = {"rollouts": rolling, "seconds": time.perf_counter() - t0,
                                        "summary": {k: v for k, v in summary.items() if k != "failed_launches"}}
            raise Rollback
    except Rollback:
        pass

    # observation ingest through the service, in batches of 1,000 rows
    launch = LaunchRequest.objects.filter(status=LaunchStatus.ROLLING_OUT).order_by("pk").first()
    engineer = User.objects.filter(memberships__role=Role.ENGINEERING).order_by("pk").first()
    metric = launch.plan.guardrails.order_by("pk").values_list("metric", flat=True).first()
    now = timezone.now()
    batches = 10
    try:
        with transaction.atomic():
            t0 = time.perf_counter()
            for b in range(batches):
                batch = [{"metric": metric, "value": 0.93, "segment": f"bench-{b}",
                          "observed_at": (now - timezone.timedelta(seconds=i)).isoformat()} for i in range(1000)]
                rollouts.record_observations(launch, actor=engineer, batch=batch, now=now)
            out["ingest"] = {"rows_per_s": batches * 1000 / (time.perf_counter() - t0)}
            raise Rollback
    except Rollback:
        pass

    # the governance pack for the busiest quarter
    busiest = (LaunchRequest.objects.annotate(q=TruncQuarter("created_at")).values("q").annotate(n=Count("pk"))
               .order_by("-n").first())
    period = f"{busiest['q'].year}-Q{(busiest['q'].month - 1) // 3 + 1}"
    params = reports.pack_params({"period": period})
    t0 = time.perf_counter()
    data = reports.gather("GOVERNANCE_PACK", viewer=SystemActor("bench"), params=params)
    t1 = time.perf_counter()
    doc = present(data, digest=content_hash(data), generated_at=timezone.now(), requested_by="bench")
    html = pdf.build_html(doc["template"], doc["context"], title=doc["title"], classification=doc["classification"])
    t2 = time.perf_counter()
    result = pdf.layout(html)
    t3 = time.perf_counter()
    out["pack"] = {"period": period, "launches": busiest["n"], "total": t3 - t0, "gather": t1 - t0,
                   "ours": t2 - t0, "weasyprint": t3 - t2, "pages": result.page_count}
    return out


# -- the parent: data sets, subprocesses, gunicorn and wrk ----------------------------------------------------

SIGNING_KEY = throwaway_signing_key()


def env_for(url):
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-" + "x" * 50, "DEBUG": "false",
           "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "config.settings", "GATE_SIGNING_KEY": SIGNING_KEY}
    env.pop("CELERY_BROKER_URL", None)
    return env


def manage(url, *args, capture=False):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env_for(url), check=True,
                          capture_output=capture, text=True)


def recreate(url):
    name = url.rsplit("/", 1)[1]
    base = url.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", base, "-qc", f'DROP DATABASE IF EXISTS "{name}"'], check=True)
    subprocess.run(["psql", base, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    manage(url, "migrate", "-v0")


def generate(url, divisor):
    recreate(url)
    sizes = [f"--{k.replace('_', '-')}={v // divisor}" for k, v in FULL.items()]
    t0 = time.perf_counter()
    manage(url, "generate_scale_data", *sizes)
    return time.perf_counter() - t0


def verify(url) -> dict:
    """verify_audit_log in its own process: events/s and the process's peak memory."""
    t0 = time.perf_counter()
    run = subprocess.run(["/usr/bin/time", "-f", "maxrss=%M", sys.executable, "manage.py", "verify_audit_log"],
                         cwd=ROOT, env=env_for(url), capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - t0
    events = int(re.search(r"(\d+) events verified", run.stdout).group(1))
    return {"events": events, "seconds": seconds, "events_per_s": events / seconds,
            "maxrss_mb": int(re.search(r"maxrss=(\d+)", run.stderr).group(1)) / 1024}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wrk(url, header, seconds) -> dict:
    out = subprocess.run(["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "-H", header, url],
                         capture_output=True, text=True, timeout=seconds + 60).stdout

    def latency(label):
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)", out, re.M).groups()
        return float(value) / 1000 if unit == "us" else float(value) * 1000 if unit == "s" else float(value)

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": latency("50%"),
            "p99": latency("99%"), "errors": int(non2xx.group(1)) if non2xx else 0}


GATE_TARGET = r"""
from readiness.models import LaunchRequest
launch = (LaunchRequest.objects.filter(status__in=["ROLLING_OUT", "APPROVED"], version__model__risk_tier="TIER_1")
          .select_related("version__model").order_by("-created_at").first())
print("TARGET=" + launch.version.model.slug + "|" + launch.version.version + "|"
      + launch.plan.stages.order_by("position").first().name)
"""


class GateServer:
    """gunicorn (2 sync workers) on one database, with a gate:read token and a Tier 1 launch to ask about."""

    def __init__(self, url):
        secret = manage(url, "create_api_token", f"bench-scale-{time.time_ns()}", "--scopes", "gate:read",
                        capture=True).stdout.strip()
        target = manage(url, "shell", "-c", GATE_TARGET, capture=True).stdout
        slug, version, stage = re.search(r"TARGET=(\S+)", target).group(1).split("|")
        port = free_port()
        self.header = f"Authorization: Bearer {secret}"
        self.url = f"http://127.0.0.1:{port}/api/v1/gate/?model={slug}&version={version}&stage={stage}"
        self.process = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi", "-w", "2", "-b",
                                         f"127.0.0.1:{port}", "--log-level", "warning"], cwd=ROOT, env=env_for(url))
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        answer = subprocess.run(["curl", "-s", "-H", self.header, self.url], capture_output=True, text=True).stdout
        self.decision = json.loads(answer)["decision"]

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


def combine(runs: list[dict]) -> dict:
    """Rounds of equal length: mean throughput, median of the latency figures, total errors."""
    return {"rps": statistics.mean(r["rps"] for r in runs), "p50": statistics.median(r["p50"] for r in runs),
            "p99": statistics.median(r["p99"] for r in runs), "errors": sum(r["errors"] for r in runs),
            "rounds": len(runs)}


def gates(urls: dict[str, str], seconds: int, rounds: int) -> dict[str, dict]:
    """The gate on every database in alternating rounds, so a change in the machine's other load (and PostgreSQL's
    caches warming) hits each alike; a single run per database swung the large/seeded ratio from 0.62 to 1.55."""
    servers = {}
    try:
        for name, url in urls.items():
            servers[name] = GateServer(url)
        measured: dict[str, list[dict]] = {name: [] for name in servers}
        each = max(1, round(seconds / rounds))
        for _ in range(rounds):
            for name, server in servers.items():
                measured[name].append(wrk(server.url, server.header, each))
        return {name: combine(runs) | {"decision": servers[name].decision} for name, runs in measured.items()}
    finally:
        for server in servers.values():
            server.stop()


def child(url, runs) -> dict:
    run = subprocess.run([sys.executable, __file__, "--measure", "--runs", str(runs)], cwd=ROOT, env=env_for(url),
                         capture_output=True, text=True, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--large", default=PG + "gatehouse_scale")
    parser.add_argument("--small", default=PG + "gatehouse_scale_tenth")
    parser.add_argument("--seeded", default=PG + "gatehouse_seeded")
    parser.add_argument("--large-divisor", type=int, default=1, help="with --generate: 1 is full size")
    parser.add_argument("--small-divisor", type=int, default=10)
    parser.add_argument("--generate", action="store_true", help="recreate and fill the databases first")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=30, help="gate: wrk seconds per database, in all rounds")
    parser.add_argument("--gate-rounds", type=int, default=6, help="gate: alternating rounds across the databases")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.runs), default=str))
        return
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    if args.generate:
        for url, divisor in ((args.small, args.small_divisor), (args.large, args.large_divisor)):
            print(f"generated 1/{divisor} in {generate(url, divisor):.0f} s")
        recreate(args.seeded)
        manage(args.seeded, "seed_examples", "-v0")
    sets = {"large": args.large, "small": args.small}
    results = {name: child(url, args.runs) for name, url in sets.items()}
    for name, url in sets.items():
        results[name]["verify"] = verify(url)
    measured = gates(sets | {"seeded": args.seeded}, args.seconds, args.gate_rounds)
    for name in sets:
        results[name]["gate"] = measured[name]
    seeded_gate = measured["seeded"]
    report(results, seeded_gate)


def report(results, seeded_gate):
    large, small = results["large"], results["small"]
    print(f"\nlarge: {large['launches']} launches, small: {small['launches']} launches (PostgreSQL)\n")
    print(f"{'':38s} {'large p50':>10s} {'large p95':>10s} {'small p95':>10s} {'ratio':>6s}")
    for name in large["pages"]:
        lg, sm = large["pages"][name], small["pages"][name]
        print(f"{name:38s} {lg['p50']:8.1f}ms {lg['p95']:8.1f}ms {sm['p95']:8.1f}ms {lg['p95'] / sm['p95']:6.2f}")
    worst_page = max(v["p95"] for k, v in large["pages"].items())
    worst_search = max(v["p95"] for k, v in large["pages"].items() if "searched" in k)
    print(f"worst page p95 {worst_page:.0f} ms (target ≤ {TARGETS['page p95']:.0f}), "
          f"search p95 {worst_search:.0f} ms (target ≤ {TARGETS['search p95']:.0f})\n")
    for name, r in (("large", large), ("small", small)):
        g = r["gate"]
        print(f"gate on {name:6s} {g['rps']:7.0f} req/s  p50 {g['p50']:6.1f} ms  p99 {g['p99']:6.1f} ms  "
              f"errors {g['errors']}  ({g['decision']})")
    print(f"gate on seeded {seeded_gate['rps']:7.0f} req/s  p50 {seeded_gate['p50']:6.1f} ms  "
          f"p99 {seeded_gate['p99']:6.1f} ms  errors {seeded_gate['errors']}  ({seeded_gate['decision']})")
    print(f"gate in {large['gate']['rounds']} alternating rounds per database; large/seeded: p50 {large['gate']['p50'] / seeded_gate['p50']:.2f}, "
          f"p99 {large['gate']['p99'] / seeded_gate['p99']:.2f} (target ≤ {TARGETS['gate p99 ratio']})\n")
    for name, r in (("large", large), ("small", small)):
        e, i, p, v = r["evaluate_rollouts"], r["ingest"], r["pack"], r["verify"]
        print(f"[{name}] evaluate_rollouts: {e['rollouts']} rollouts in {e['seconds']:.2f} s "
              f"(target ≤ {TARGETS['evaluate_rollouts']} s at 500)")
        print(f"[{name}] observation ingest, batches of 1,000: {i['rows_per_s']:.0f} rows/s")
        print(f"[{name}] governance pack {p['period']} ({p['launches']} launches, {p['pages']} pages): "
              f"{p['total']:.1f} s, ours {p['ours']:.1f} s ({p['ours'] / p['total']:.0%}), "
              f"WeasyPrint {p['weasyprint']:.1f} s")
        print(f"[{name}] verify_audit_log: {v['events']} events in {v['seconds']:.1f} s = "
              f"{v['events_per_s']:.0f} events/s, peak RSS {v['maxrss_mb']:.0f} MB")
    print("\n" + json.dumps(results | {"seeded_gate": seeded_gate}, default=str))


if __name__ == "__main__":
    main()
