"""Observation ingest through the service with plain, named-segment and every-segment guardrails.

Target: every-segment guardrails keep ingest within the scale target of 10,000 rows/s (README: Scale), and cost at
most 1.5× the time of plain guardrails. Each run posts 10 batches of 1,000 rows to the one rollout in progress of a
small generated data set (``generate_scale_data``) on PostgreSQL; the rows are spread over 8 segments for the segment
cases. Every measurement is rolled back, so each sees the same state. Prints rows/s per case (median of the runs), the
ratio to plain guardrails, and the answer.

    python bench/ingest.py [--database URL] [--runs N] [--keep]

Default database: postgres://postgres@127.0.0.1:5432/gatehouse_ingest (dropped and recreated unless --keep).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from keys import throwaway_signing_key

ROOT = Path(__file__).resolve().parent.parent
PG = "postgres://postgres@127.0.0.1:5432/"
TARGET_ROWS_PER_S = 10_000
TARGET_RATIO = 1.5
SEGMENTS = [f"band-{i}" for i in range(8)]
CASES = ("plain", "named segment", "every segment")


def measure(runs: int) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from governance.kernel.roles import Role
    from readiness import rollouts
    from readiness.models import Guardrail, LaunchRequest, LaunchStatus

    class Rollback(Exception):
        pass

    launch = LaunchRequest.objects.filter(status=LaunchStatus.ROLLING_OUT).order_by("pk").first()
    if launch is None:
        sys.exit("the data set has no rollout in progress")
    engineer = get_user_model().objects.filter(memberships__role=Role.ENGINEERING).order_by("pk").first()
    template = launch.plan.guardrails.order_by("pk").first()
    metric = template.metric

    def once(case: str) -> float:
        now = timezone.now()
        try:
            with transaction.atomic():
                if case != "plain":
                    Guardrail.objects.create(plan=launch.plan, stage=template.stage, metric=metric,
                                             comparator=template.comparator, threshold=template.threshold,
                                             window_minutes=template.window_minutes,
                                             failure_limit=template.failure_limit, action=Guardrail.Action.ALERT,
                                             segment=SEGMENTS[0] if case == "named segment" else "*")
                t0 = time.perf_counter()
                for b in range(10):
                    batch = [{"metric": metric, "value": template.threshold,
                              **({"segment": SEGMENTS[i % len(SEGMENTS)]} if case != "plain" else {}),
                              "observed_at": (now - timezone.timedelta(seconds=b * 1000 + i)).isoformat()}
                             for i in range(1000)]
                    rollouts.record_observations(launch, actor=engineer, batch=batch, now=now)
                elapsed = time.perf_counter() - t0
                raise Rollback
        except Rollback:
            pass
        return 10_000 / elapsed

    once("plain")  # warm-up
    rates: dict[str, list[float]] = {case: [] for case in CASES}
    for _ in range(runs):
        for case in CASES:  # interleaved, so a change in the machine's load falls on every case alike
            rates[case].append(once(case))
    return {case: statistics.median(values) for case, values in rates.items()}


def manage(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default=PG + "gatehouse_ingest")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="reuse the database as it is")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.runs)))
        return
    os.environ.update({"GATE_SIGNING_KEY": throwaway_signing_key(), "SECRET_KEY": "bench-" + "x" * 50,
                       "DEBUG": "false"})
    if not args.keep:
        name = args.database.rsplit("/", 1)[1]
        admin = args.database.rsplit("/", 1)[0] + "/postgres"
        subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name}"], check=True)
        subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
        manage(args.database, "migrate", "-v0")
        manage(args.database, "generate_scale_data", "--models", "5", "--launches", "40", "--incidents", "2",
               "--observations", "20000", "--audit-events", "1000", "--rollouts-in-progress", "1")
    env = {**os.environ, "DATABASE_URL": args.database}
    run = subprocess.run([sys.executable, __file__, "--measure", "--runs", str(args.runs)], env=env, cwd=ROOT,
                         check=True, capture_output=True, text=True)
    rates = json.loads(run.stdout.strip().splitlines()[-1])
    plain = rates["plain"]
    print(f"observation ingest, 10 batches of 1,000 rows, median of {args.runs} runs (target ≥ {TARGET_ROWS_PER_S:,}"
          f" rows/s, segment cases ≤ {TARGET_RATIO}× the time of plain):")
    met = True
    for case in CASES:
        ratio = plain / rates[case]
        ok = rates[case] >= TARGET_ROWS_PER_S and ratio <= TARGET_RATIO
        met &= ok
        print(f"  {case:14} {rates[case]:8,.0f} rows/s   {ratio:4.2f}× the time of plain   {'met' if ok else 'MISSED'}")
    print("answer:", "met" if met else "missed")


if __name__ == "__main__":
    main()
