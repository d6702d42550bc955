"""Report rendering time for large subjects, and how much of it is WeasyPrint's layout versus our own work.

Builds a throwaway SQLite database with three large subjects — an incident with 200 timeline events and 50 action
items, a launch with 40 checklist items and 10 evaluations, a quarter with 200 launches — then renders each kind
several times and splits the time into: gathering (queries), charts and wording, template rendering (all ours) and
WeasyPrint's layout (document render plus write_pdf). Prints the median of the runs.
Run: python bench/reports.py [runs]   (BENCH_PDF_DIR=dir keeps the PDFs, to look at them)
"""

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
WORKDIR = Path(tempfile.mkdtemp(prefix="gatehouse-bench-reports-"))
# The throwaway database must be chosen before Django reads its settings.
os.environ["DATABASE_URL"] = f"sqlite:///{WORKDIR}/bench.sqlite3"
os.environ["MEDIA_ROOT"] = str(WORKDIR / "media")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.pop("CELERY_BROKER_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from governance.kernel import audit  # noqa: E402
from governance.kernel.canonical import content_hash, sha256_hex  # noqa: E402
from governance.kernel.principals import SystemActor  # noqa: E402
from governance.models import MLModel, ModelVersion, PolicyChange, RoleMembership, TierPolicy, User  # noqa: E402
from governance.policies.services import current_version, ensure_default_policies  # noqa: E402
from governance.stats import fairness_report, parse_predictions  # noqa: E402
from postmortems import services as pm  # noqa: E402
from postmortems.models import ActionItem, Incident, TimelineEvent  # noqa: E402
from readiness import services  # noqa: E402
from readiness.models import (  # noqa: E402
    ChecklistItem,
    Evaluation,
    Guardrail,
    LaunchRequest,
    Observation,
    RolloutPlan,
    RolloutStage,
    SignOff,
)
from reporting import pdf, reports  # noqa: E402
from reporting.present import present  # noqa: E402

SYSTEM = SystemActor("bench")
rng = random.Random(20260101)


def person(username, role):
    user = User.objects.create_user(username=username, password="bench-pass-123", first_name=username.title(),
                                    last_name="Bench")
    RoleMembership.objects.create(user=user, role=role)
    return user


def version_of(owner, n, tier="TIER_1"):
    model = MLModel.objects.create(slug=f"model-{n}", name=f"Model {n}", owner=owner, business_use="Scores.",
                                   risk_tier=tier)
    return ModelVersion.objects.create(model=model, version="1.0.0", artifact_sha256=sha256_hex(str(n)))


def big_launch(people):
    """40 checklist items, 10 evaluations from a predictions file, 4 sign-offs, 3 guardrails with 300 points."""
    version = version_of(people["ds"], 0)
    launch = services.create_launch(version, actor=people["ds"], title="Large launch", summary="Bench.",
                                    options_considered="Ship, hold or mitigate.", decision="SHIP", rationale="Bench.")
    extra = 40 - launch.items.count()
    ChecklistItem.objects.bulk_create([
        ChecklistItem(launch=launch, key=f"extra_{i}", title=f"Additional control {i}: evidence of review",
                      category="governance", kind="MANUAL", status="PASS", position=500 + i,
                      evidence_text="Reviewed and recorded in the control register.", attested_by=people["ds"],
                      attested_at=timezone.now()) for i in range(extra)])
    lines = ["group,y_true,y_pred"] + [f"{g},{int(rng.random() < .6)},{int(rng.random() < r)}"
                                      for g, r in (("A", .5), ("B", .48), ("C", .47), ("D", .45), ("E", .46))
                                      for _ in range(4000)]
    fairness = fairness_report(parse_predictions(("\n".join(lines) + "\n").encode()), n_boot=2000)
    for _ in range(10):
        services.submit_evaluation(launch, actor=people["ds"], kind=Evaluation.Kind.PREDICTIONS,
                                   metrics={**fairness["metrics"], "psi.max": 0.05}, report={"fairness": fairness})
    launch.refresh_from_db()
    SignOff.objects.bulk_create([SignOff(launch=launch, role=role, signer=people[key], decision="APPROVE",
                                         content_hash=launch.content_hash)
                                 for key, role in (("ds2", "DATA_SCIENCE"), ("compliance", "COMPLIANCE"),
                                                   ("legal", "LEGAL"), ("mrm", "MODEL_RISK"))])
    start = timezone.now() - timedelta(days=5)
    Observation.objects.bulk_create([
        Observation(launch=launch, metric=g.metric, value=g.threshold * (1 + rng.uniform(-.05, .05)),
                    observed_at=start + timedelta(minutes=10 * i))
        for g in launch.plan.guardrails.all() for i in range(300)])
    return launch


def big_incident(people):
    """200 timeline events, 50 action items (some overdue, some with policy changes), six factors."""
    now = timezone.now()
    incident = pm.open_incident(
        actor=people["legal"], title="Large incident", severity="SEV1", detection_source="COMPLIANCE_REVIEW",
        began_at=now - timedelta(days=30), detected_at=now - timedelta(days=16), fair_lending=True,
        summary="A vendor field changed meaning; approval rates shifted between segments.",
        impact_text="Two weeks of decisions were affected.", impact_figures={"decisions_affected": 18000},
        factors=[{"category": c, "description": f"Factor of category {c.lower()}."}
                 for c in ("DATA_VENDOR_CHANGE", "MONITORING_GAP", "PROCESS", "MODEL", "INFRASTRUCTURE",
                           "ORGANISATIONAL_PRESSURE")])
    kinds = [k for k, _ in TimelineEvent.Kind.choices]
    TimelineEvent.objects.bulk_create([
        TimelineEvent(incident=incident, at=now - timedelta(days=16) + timedelta(minutes=97 * i), kind=kinds[i % 6],
                      text=f"Entry {i}: status update to stakeholders with the latest findings and next steps.",
                      author=people["eng"], author_label="eng") for i in range(200)])
    policy = TierPolicy.objects.get(tier="TIER_1")
    changes = PolicyChange.objects.bulk_create([
        PolicyChange(policy=policy, operation="ADD_CHECKLIST_ITEM", rationale="From the incident.",
                     payload={"key": f"control_{i}", "title": f"Control {i}"}, proposed_by=people["legal"])
        for i in range(10)])
    today = timezone.localdate()
    ActionItem.objects.bulk_create([
        ActionItem(incident=incident, title=f"Action {i}: add a control and verify it in production",
                   kind=["PREVENT", "DETECT", "MITIGATE", "PROCESS"][i % 4], owner=people["compliance"],
                   due_date=today + timedelta(days=i - 15), status="DONE" if i % 5 == 0 else "OPEN",
                   policy_change=changes[i // 5] if i % 5 == 1 else None) for i in range(50)])
    return incident


def big_quarter(people, start, end):
    """200 launches across the period with sign-offs, blocking items and plans; 30 incidents; breaches."""
    owner = people["ds"]
    policy_version = current_version("TIER_2")
    statuses = ["IN_REVIEW", "APPROVED", "ROLLING_OUT", "LAUNCHED", "ROLLED_BACK", "DRAFT"]
    span = max(1, (min(end, timezone.localdate()) - start).days)
    launches = []
    for n in range(200):
        version = version_of(owner, 1000 + n, tier="TIER_2")
        submitted = timezone.make_aware(timezone.datetime.combine(start, timezone.datetime.min.time())) + timedelta(
            days=rng.randrange(span), hours=rng.randrange(24))
        status = statuses[n % len(statuses)]
        launches.append(LaunchRequest(
            version=version, policy_version=policy_version, title=f"Quarter launch {n}", author=owner, status=status,
            required_roles=["DATA_SCIENCE", "PRODUCT", "COMPLIANCE"], content_hash=sha256_hex(str(n)),
            submitted_at=submitted, approved_at=submitted + timedelta(days=2) if status != "IN_REVIEW" else None,
            rolled_back_at=submitted + timedelta(days=3) if status == "ROLLED_BACK" else None,
            rollback_reason="Guardrail breached." if status == "ROLLED_BACK" else ""))
    launches = LaunchRequest.objects.bulk_create(launches)
    SignOff.objects.bulk_create([
        SignOff(launch=lr, role=role, signer=people[key], decision="APPROVE", content_hash=lr.content_hash,
                signed_at=lr.submitted_at + timedelta(hours=rng.randrange(1, 96)))
        for lr in launches for key, role in (("ds2", "DATA_SCIENCE"), ("product", "PRODUCT"))])
    ChecklistItem.objects.bulk_create([
        ChecklistItem(launch=lr, key=f"item_{i}", title=f"Blocking item {i}", category="data", kind="MANUAL",
                      status="FAIL" if (i + lr.pk) % 9 == 0 else "PASS", position=i)
        for lr in launches for i in range(14)])
    rolling = [lr for lr in launches if lr.status == "ROLLING_OUT"]
    plans = RolloutPlan.objects.bulk_create([RolloutPlan(launch=lr) for lr in rolling])
    stages = RolloutStage.objects.bulk_create([RolloutStage(plan=p, position=0, name="canary", traffic_percent=10)
                                               for p in plans])
    for plan, stage in zip(plans, stages, strict=True):
        plan.current_stage = stage
    RolloutPlan.objects.bulk_update(plans, ["current_stage"])
    Guardrail.objects.bulk_create([Guardrail(plan=p, metric="p95_latency_ms", comparator="<=", threshold=200,
                                             action="ROLLBACK", state="BREACHED" if i % 4 == 0 else "PASSING")
                                   for i, p in enumerate(plans)])
    for lr in launches[:20]:
        audit.record("guardrail.state_changed", lr, actor=SYSTEM, before={"state": "PASSING"},
                     after={"state": "BREACHED", "detail": "p95 above 200 ms three times", "launch": lr.pk})
    for n in range(30):
        detected = launches[n].submitted_at + timedelta(days=1)
        Incident.objects.create(title=f"Quarter incident {n}", severity="SEV3", detection_source="MONITORING",
                                began_at=detected - timedelta(hours=rng.randrange(1, 200)), detected_at=detected,
                                status="RESOLVED", mitigated_at=detected + timedelta(hours=1),
                                resolved_at=detected + timedelta(hours=rng.randrange(2, 100)),
                                restricted=n % 10 == 0)


def timed(kind, **subject):
    viewer = SYSTEM
    runs, result = [], None
    for _ in range(RUNS):
        t0 = time.perf_counter()
        data = reports.gather(kind, viewer=viewer, **subject)
        t1 = time.perf_counter()
        doc = present(data, digest=content_hash(data), generated_at=timezone.now(), requested_by="bench")
        t2 = time.perf_counter()
        html = pdf.build_html(doc["template"], doc["context"], title=doc["title"],
                              classification=doc["classification"])
        t3 = time.perf_counter()
        result = pdf.layout(html)
        t4 = time.perf_counter()
        runs.append({"gather": t1 - t0, "charts": t2 - t1, "template": t3 - t2, "layout": t4 - t3,
                     "total": t4 - t0, "pages": result.page_count, "bytes": len(result.content)})
    if os.environ.get("BENCH_PDF_DIR"):
        Path(os.environ["BENCH_PDF_DIR"], f"{kind.lower()}.pdf").write_bytes(result.content)
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def main():
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    ensure_default_policies()
    people = {key: person(key, role) for key, role in (
        ("ds", "DATA_SCIENCE"), ("ds2", "DATA_SCIENCE"), ("compliance", "COMPLIANCE"), ("legal", "LEGAL"),
        ("mrm", "MODEL_RISK"), ("product", "PRODUCT"), ("eng", "ENGINEERING"))}
    today = timezone.localdate()
    period = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    params = reports.pack_params({"period": period})
    launch = big_launch(people)
    incident = big_incident(people)
    big_quarter(people, timezone.datetime.fromisoformat(params["start"]).date(),
                timezone.datetime.fromisoformat(params["end"]).date())
    print(f"built the subjects in {time.perf_counter() - started:.1f} s (SQLite at {WORKDIR}); "
          f"median of {RUNS} runs each\n")
    rows = [
        ("launch dossier (40 items, 10 evaluations)", timed("LAUNCH_DOSSIER", launch_id=launch.pk)),
        ("incident report (200 events, 50 items)", timed("INCIDENT_REPORT", incident_id=incident.pk)),
        (f"governance pack ({period}, 200 launches)", timed("GOVERNANCE_PACK", params=params)),
    ]
    print(f"{'report':44s} {'pages':>5s} {'total':>7s} {'gather':>7s} {'charts':>7s} {'template':>8s} "
          f"{'WeasyPrint':>10s} {'ours':>6s}")
    for name, r in rows:
        ours = r["gather"] + r["charts"] + r["template"]
        print(f"{name:44s} {r['pages']:5.0f} {r['total']:6.2f}s {r['gather']:6.2f}s {r['charts']:6.2f}s "
              f"{r['template']:7.2f}s {r['layout']:9.2f}s {ours / r['total']:6.0%}")
    print("\nours = gathering (queries) + charts and wording (matplotlib) + template rendering; "
          "WeasyPrint = document render + write_pdf")


if __name__ == "__main__":
    try:
        main()
    finally:
        import shutil

        shutil.rmtree(WORKDIR, ignore_errors=True)
