"""PDF reports: what each kind shows, the frame on every page, records, deduplication, retries, visibility, API.

The builders at the top make realistic subjects through the services (a Tier 1 launch with a predictions-file
evaluation, a dissent and a condition; a rolled-back launch with its incident; a restricted fair-lending incident
with overdue action items). The other report test modules import them.
"""

import io
import os
import random
import subprocess
from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from governance.inventory import services as gov_services
from governance.kernel.canonical import sha256_hex
from governance.kernel.errors import NotFound, PermissionDenied, ValidationFailed
from governance.kernel.principals import SystemActor
from governance.models import AuditEvent
from governance.policies.services import approve_change, ensure_default_policies
from governance.stats import fairness_report, parse_predictions
from postmortems import services as pm
from postmortems.models import ActionItem
from readiness import rollouts, services
from readiness.models import Evaluation, ItemKind, LaunchStatus, Observation
from reporting import reports
from reporting.models import Report
from tests.factories import PASSWORD, make_launch, pass_everything

pytestmark = pytest.mark.django_db
SYSTEM = SystemActor("tests")
RESTRICTED = "Confidential — prepared at the direction of counsel"


# -- builders -------------------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def policies(db):
    return ensure_default_policies()


def predictions_csv(rows_per_group=1500, seed=7) -> bytes:
    """A predictions file where group D is approved a little less often than the others."""
    rng = random.Random(seed)
    rates = {"A": 0.51, "B": 0.50, "C": 0.49, "D": 0.475}
    lines = ["group,y_true,y_pred,y_pred_champion"]
    for group, rate in rates.items():
        for _ in range(rows_per_group):
            truth = 1 if rng.random() < 0.6 else 0
            pred = 1 if rng.random() < rate + (0.05 if truth else -0.05) else 0
            champion = pred if rng.random() < 0.9 else 1 - pred
            lines.append(f"{group},{truth},{pred},{champion}")
    lines.append("E,1,1,1")  # a group too small to judge: reported, not dropped
    return ("\n".join(lines) + "\n").encode()


def submit_predictions(launch, actor, *, n_boot=200, data=None):
    data = data or predictions_csv()
    report = {"fairness": fairness_report(parse_predictions(data), n_boot=n_boot)}
    metrics = {**report["fairness"]["metrics"], "psi.max": 0.07, "auc": 0.81}
    return services.submit_evaluation(launch, actor=actor, metrics=metrics, report=report,
                                      kind=Evaluation.Kind.PREDICTIONS, source_sha256=sha256_hex(data),
                                      source_rows=data.count(b"\n") - 1)


def tier1_dossier_launch(people, *, approve=True):
    """A Tier 1 credit launch with a third-party feature, a waiver, a dissent and a condition."""
    launch = make_launch(author=people["author"], tier="TIER_1", third_party=True, protected=("race", "sex"),
                         title="Credit line refresh Q3")
    feature = launch.version.features.get(name="device_score")
    gov_services.update_feature(feature, actor=people["compliance"], proxy_risk_status="ASSESSED_MITIGATED",
                                proxy_risk_ref="PRA-2026-014", vendor_sla_ref="DeviceCo SLA v3",
                                drift_monitor_ref="monitor:device_score_psi")
    submit_predictions(launch, people["data_science"])
    for item in launch.items.filter(kind=ItemKind.MANUAL, stage="").exclude(key="calibration_by_group"):
        services.attest_item(item, actor=people["data_science"], outcome="PASS", evidence_text=f"Review record for {item.key}.",
                             evidence_url="https://wiki.example.com/credit/" + item.key)
    calibration = launch.items.get(key="calibration_by_group")
    services.attest_item(calibration, actor=people["data_science"], outcome="FAIL",
                         evidence_text="Calibration slope 0.91 for group D; recalibration scheduled.")
    services.waive_item(calibration, actor=people["model_risk"], reason="Recalibration lands before the canary stage.",
                        expires_at=timezone.now() + timedelta(days=60), password=PASSWORD)
    services.submit_for_review(launch, actor=people["author"])
    if not approve:
        return launch
    signers = [("data_science", "DATA_SCIENCE", "APPROVE", "", ""),
               ("compliance", "COMPLIANCE", "APPROVE_WITH_CONDITIONS",
                "Weekly fairness review for the first 90 days", ""),
               ("legal", "LEGAL", "APPROVE", "", "I would have preferred a 60-day shadow for a lending model."),
               ("model_risk", "MODEL_RISK", "APPROVE", "", "")]
    for person, role, decision, conditions, dissent in signers:
        launch.refresh_from_db()
        services.sign_off(launch, actor=people[person], role=role, decision=decision, password=PASSWORD,
                          content_hash=launch.content_hash, conditions=conditions, dissent=dissent)
    for item in launch.items.filter(source="CONDITION"):
        services.attest_item(item, actor=people["compliance"], outcome="PASS", evidence_text="Review calendar set.")
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.APPROVED
    return launch


LATENCY_PLAN = {
    "stages": [{"name": "shadow", "traffic_percent": 0, "min_duration_minutes": 2880},
               {"name": "canary", "traffic_percent": 10, "min_duration_minutes": 60},
               {"name": "full", "traffic_percent": 100, "min_duration_minutes": 60}],
    "guardrails": [{"metric": "p95_latency_ms", "comparator": "<=", "threshold": 200, "window_minutes": 15,
                    "failure_limit": 3, "action": "ROLLBACK"},
                   {"metric": "ctr_delta_pct", "comparator": ">=", "threshold": -0.5, "window_minutes": 60,
                    "failure_limit": 1, "sustain_minutes": 30, "action": "ROLLBACK"}],
}


def rolled_back_incident(people, *, events=30):
    """A Tier 2 ranking launch rolled back by its latency guardrail; the incident it opened, filled in."""
    launch = make_launch(author=people["author"], tier="TIER_2", title="Homepage ranking v7")
    rollouts.update_plan(launch, actor=people["author"], **LATENCY_PLAN)
    pass_everything(launch, attester=people["data_science"])
    services.submit_for_review(launch, actor=people["author"])
    for person, role in (("data_science", "DATA_SCIENCE"), ("product", "PRODUCT")):
        launch.refresh_from_db()
        services.sign_off(launch, actor=people[person], role=role, decision="APPROVE", password=PASSWORD,
                          content_hash=launch.content_hash)
    start = timezone.now() - timedelta(hours=6)
    rollouts.start_rollout(launch, actor=people["author"], now=start)
    base = start + timedelta(hours=1)
    batch = [{"metric": "ctr_delta_pct", "value": round(-0.1 - 0.01 * i, 3),
              "observed_at": (base + timedelta(minutes=i)).isoformat()} for i in range(20)]
    batch += [{"metric": "p95_latency_ms", "value": 150 + (90 if i >= 16 else 0) + i,
               "observed_at": (base + timedelta(minutes=i)).isoformat()} for i in range(20)]
    rollouts.record_observations(launch, actor=people["engineering"], batch=batch, now=base + timedelta(minutes=19))
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.ROLLED_BACK
    incident = launch.incidents.get()
    kinds = ["ESCALATION", "COMMUNICATION", "DECISION", "MITIGATION", "COMMUNICATION", "OTHER"]
    for i in range(max(0, events - incident.timeline.count())):
        pm.add_timeline_event(incident, actor=people["engineering"], at=base + timedelta(minutes=20 + 7 * i),
                              kind=kinds[i % len(kinds)],
                              text=f"Update {i + 1}: stakeholders told the p95 latency is back under 200 ms on the "
                                   f"previous version; diagnosis of the feature service continues.")
    pm.update_incident(incident, actor=people["engineering"], impact_text="Slow homepage for about 20 minutes at 10 % traffic.",
                       impact_figures={"decisions_affected": 48200, "revenue_impact": -12500})
    pm.add_contributing_factor(incident, actor=people["engineering"], category="INFRASTRUCTURE",
                               description="The feature service was not sized for the new model's fan-out.")
    pm.add_contributing_factor(incident, actor=people["engineering"], category="ORGANISATIONAL_PRESSURE",
                               description="The launch date was tied to a campaign.")
    done = pm.add_action_item(incident, actor=people["engineering"], title="Load-test the feature service at 2x peak",
                              kind="PREVENT", owner=people["engineering"], due_date=timezone.localdate() + timedelta(days=10))
    pm.update_action_item(done, actor=people["engineering"], status="DONE")
    guard = pm.add_action_item(incident, actor=people["engineering"], title="Latency guardrail on every Tier 2 stage",
                               kind="DETECT", owner=people["engineering"], due_date=timezone.localdate() + timedelta(days=20))
    change = pm.propose_policy_change_for_action_item(
        guard, actor=people["engineering"], tier="TIER_2", operation="ADD_GUARDRAIL",
        payload={"metric": "p99_latency_ms", "comparator": "<=", "threshold": 400, "window_minutes": 15,
                 "failure_limit": 3, "sustain_minutes": 0, "action": "ROLLBACK", "stage": ""},
        rationale="Catch tail latency before p95 moves.")
    approve_change(change, actor=people["model_risk"], password=PASSWORD)
    pm.add_action_item(incident, actor=people["engineering"], title="Capacity review in the launch checklist",
                       kind="PROCESS", owner=people["product"], due_date=timezone.localdate() + timedelta(days=30))
    return pm.transition_incident(incident, actor=people["engineering"], to="MITIGATED", at=base + timedelta(minutes=25))


def restricted_incident(people, *, overdue=2):
    """A restricted fair-lending incident (E1) with overdue action items and a pending policy change."""
    now = timezone.now()
    incident = pm.open_incident(
        actor=people["legal"], title="Approval-rate disparity after vendor field change", severity="SEV1",
        detection_source="COMPLIANCE_REVIEW", began_at=now - timedelta(days=20), detected_at=now - timedelta(days=6),
        restricted=True, fair_lending=True, consumer_harm=True,
        summary="A third-party device field changed meaning after the vendor altered how it is populated; the "
                "feature acted as a proxy and approval rates shifted between segments.",
        impact_text="Approval rates rose for one segment and fell for another for about two weeks.",
        impact_figures={"decisions_affected": 18400, "approval_rate_shift": [
            {"segment": "segment A", "shift_pct": 3.1}, {"segment": "segment B", "shift_pct": -4.2}]},
        factors=[{"category": "DATA_VENDOR_CHANGE", "description": "The vendor changed the field without notice."},
                 {"category": "MONITORING_GAP", "description": "Drift alerts were tuned for performance, not fairness."}],
        timeline=[{"at": now - timedelta(days=6), "kind": "DETECTION",
                   "text": "A compliance analyst found the approval-rate pattern."},
                  {"at": now - timedelta(days=5), "kind": "MITIGATION",
                   "text": "Reverted to the previous model version; automated decisioning frozen."}])
    for n in range(overdue):
        item = pm.add_action_item(incident, actor=people["legal"], title=f"Fairness circuit breaker, part {n + 1}",
                                  kind="DETECT", owner=people["compliance"], due_date=timezone.localdate())
        ActionItem.objects.filter(pk=item.pk).update(due_date=timezone.localdate() - timedelta(days=5 + n))
    vendor = pm.add_action_item(incident, actor=people["legal"], title="Vendor schema-stability SLA for device data",
                                kind="PREVENT", owner=people["legal"], due_date=timezone.localdate() + timedelta(days=30))
    pm.propose_policy_change_for_action_item(
        vendor, actor=people["legal"], tier="TIER_1", operation="ADD_CHECKLIST_ITEM",
        payload={"key": "vendor_field_profile", "title": "Ingestion check pauses scoring when a vendor field's "
                 "profile shifts beyond 5 %", "category": "third_party", "kind": "MANUAL", "blocking": True,
                 "rule": "", "guidance": "A vendor can change a field's meaning without notice."},
        rationale="The lending incident: a vendor change turned a field into a proxy.")
    return incident


# -- helpers -----------------------------------------------------------------------------------------------

def stand_in_layout(monkeypatch):
    """Replace WeasyPrint's layout by a stand-in, for tests about records and rules rather than pages."""
    from reporting import pdf

    def layout(html, archival=False, attachments=None):
        return pdf.Pdf(content=b"%PDF-1.7 stand-in " + sha256_hex(html).encode(), page_count=1, layout_seconds=0.0)

    monkeypatch.setattr(pdf, "layout", layout)


@pytest.fixture
def fast_layout(monkeypatch):
    stand_in_layout(monkeypatch)

def pdf_text(path) -> list[str]:
    """The text of each page as poppler's pdftotext reads it, whitespace collapsed (table cells wrap)."""
    out = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return [" ".join(page.split()) for page in out.split("\f")[:-1]]


def generated(actor, kind, subject=None, params=None, capture=None) -> Report:
    with capture(execute=True):
        report = reports.request_report(actor=actor, kind=kind, subject_id=subject, params=params)
    report.refresh_from_db()
    return report


# -- each kind renders what it must show -----------------------------------------------------------------------

def test_launch_dossier_shows_what_the_signers_vouched_for(people, django_capture_on_commit_callbacks):
    launch = tier1_dossier_launch(people)
    report = generated(people["data_science"], "LAUNCH_DOSSIER", launch.pk, capture=django_capture_on_commit_callbacks)
    assert report.status == "DONE", report.error
    pages = pdf_text(report.file.path)
    text = "\n".join(pages)
    for heading in ("Overview and approval state", "Decision memo", "Pre-flight checklist", "Latest evaluation",
                    "Sign-offs", "Rollout plan and guardrails", "Audit trail excerpt"):
        assert heading.upper() in text, heading  # headings are set in capitals
    assert "Credit line refresh Q3" in text
    assert "I would have preferred a 60-day shadow" in text
    assert "Weekly fairness review for the first 90 days" in text
    assert "Recalibration lands before the canary stage" in text  # the waiver and its reason
    assert launch.content_hash[:16] in text  # the hash each signer signed
    assert report.content_hash in text  # the dossier's own hash
    assert "Adverse-impact ratio" in text and "selection rate" in text
    assert all(f"page {n} of {len(pages)}" in page for n, page in enumerate(pages, 1))
    assert 5 <= report.page_count == len(pages) <= 20


def test_a_report_prints_the_audit_log_head_it_was_generated_against(people, django_capture_on_commit_callbacks):
    """A printed head is an anchor outside the database: verify_audit_log --head checks the log still holds it."""
    launch = tier1_dossier_launch(people)
    report = generated(people["data_science"], "LAUNCH_DOSSIER", launch.pk, capture=django_capture_on_commit_callbacks)
    started = AuditEvent.objects.get(verb="report.started", object_id=str(report.pk))  # the newest before rendering
    cover = pdf_text(report.file.path)[0]
    assert "Audit log head" in cover and started.hash in cover.replace(" ", "")
    assert f"#{started.seq}:" in cover


def test_incident_report_opens_with_a_one_page_executive_summary(people, django_capture_on_commit_callbacks):
    incident = rolled_back_incident(people)
    report = generated(people["engineering"], "INCIDENT_REPORT", incident.pk, capture=django_capture_on_commit_callbacks)
    assert report.status == "DONE", report.error
    pages = pdf_text(report.file.path)
    summary = pages[1]  # page 1 is the cover with the contents
    for part in ("What happened", "Impact", "Status", "What we changed", "What we ask of the committee"):
        assert part.upper() in summary, part  # headings are set in capitals
    assert "48,200 decisions affected" in summary
    assert "TIMELINE" not in summary  # the summary page holds the summary only
    assert "TIMELINE" in pages[2].upper()
    text = "\n".join(pages)
    assert "Update 27:" in text  # the 30-entry timeline table
    assert "Add guardrail p99 latency ms" in text
    assert "Residual risk".upper() in text.upper()
    assert "cannot happen again" not in text.lower()
    assert "do not eliminate the risk" in text


def test_restricted_incident_report_is_classified_on_every_page(people, django_capture_on_commit_callbacks):
    incident = restricted_incident(people, overdue=3)
    report = generated(people["legal"], "INCIDENT_REPORT", incident.pk, capture=django_capture_on_commit_callbacks)
    pages = pdf_text(report.file.path)
    assert len(pages) >= 3
    for page in pages:
        assert RESTRICTED.upper() in page.upper()
    summary = pages[1]
    assert "Note 3 overdue action items" in summary
    assert "Endorse the proposed change to the Tier 1 (high risk) policy" in summary


def test_governance_pack_lists_only_incidents_the_requester_may_see(people, monkeypatch,
                                                                   django_capture_on_commit_callbacks):
    tier1_dossier_launch(people, approve=False)
    rolled = rolled_back_incident(people, events=5)
    hidden = restricted_incident(people)
    quarter = timezone.localdate()
    period = f"{quarter.year}-Q{(quarter.month - 1) // 3 + 1}"
    report = generated(people["data_science"], "GOVERNANCE_PACK", params={"period": period},
                       capture=django_capture_on_commit_callbacks)
    text = "\n".join(pdf_text(report.file.path))
    for heading in ("Launches in flight", "Sign-off latency", "Guardrail breaches", "Overdue action items",
                    "Policy changes in the period"):
        assert heading.upper() in text.upper(), heading
    assert rolled.title in text and "Credit line refresh Q3" in text
    assert hidden.title not in text and "Fairness circuit breaker" not in text
    assert hidden.pk not in report.source_incident_ids and rolled.pk in report.source_incident_ids
    stand_in_layout(monkeypatch)  # Legal's pack: what matters now is the record, not the pages
    legal = generated(people["legal"], "GOVERNANCE_PACK", params={"period": period},
                      capture=django_capture_on_commit_callbacks)
    assert legal.pk != report.pk and hidden.pk in legal.source_incident_ids
    seen = reports.gather("GOVERNANCE_PACK", viewer=people["legal"], params=legal.params)
    assert hidden.title in [i["title"] for i in seen["incidents"]]
    assert not reports.report_visible_to(people["data_science"], legal) and reports.report_visible_to(people["compliance"], legal)


# -- records ---------------------------------------------------------------------------------------------------

def test_the_record_holds_the_files_sha256_size_and_page_count(people, django_capture_on_commit_callbacks):
    incident = restricted_incident(people)
    report = generated(people["legal"], "INCIDENT_REPORT", incident.pk, capture=django_capture_on_commit_callbacks)
    content = report.file.read()
    assert report.sha256 == sha256_hex(content) and report.size == len(content)
    assert report.page_count == len(PdfReader(io.BytesIO(content)).pages)
    assert report.started_at <= report.finished_at and report.attempts == 1
    verbs = list(AuditEvent.objects.filter(object_type="reporting.report", object_id=str(report.pk))
                 .values_list("verb", flat=True))
    assert verbs == ["report.requested", "report.started", "report.generated"]


def test_an_identical_request_returns_the_existing_report(people, fast_layout, django_capture_on_commit_callbacks):
    incident = restricted_incident(people)
    first = generated(people["legal"], "INCIDENT_REPORT", incident.pk, capture=django_capture_on_commit_callbacks)
    again = generated(people["compliance"], "INCIDENT_REPORT", incident.pk, capture=django_capture_on_commit_callbacks)
    assert again.pk == first.pk and Report.objects.count() == 1
    other = rolled_back_incident(people, events=3)
    changed_subject = generated(people["legal"], "INCIDENT_REPORT", other.pk, capture=django_capture_on_commit_callbacks)
    assert changed_subject.pk != first.pk
    pm.add_timeline_event(incident, actor=people["legal"], at=timezone.now(), kind="COMMUNICATION",
                          text="Board risk committee briefed.")
    changed_content = generated(people["legal"], "INCIDENT_REPORT", incident.pk,
                                capture=django_capture_on_commit_callbacks)
    assert changed_content.pk != first.pk and changed_content.content_hash != first.content_hash


def test_a_report_whose_file_vanished_is_made_again(people, fast_layout, django_capture_on_commit_callbacks):
    incident = restricted_incident(people, overdue=0)
    first = generated(people["legal"], "INCIDENT_REPORT", incident.pk, capture=django_capture_on_commit_callbacks)
    first.file.storage.delete(first.file.name)
    again = generated(people["legal"], "INCIDENT_REPORT", incident.pk, capture=django_capture_on_commit_callbacks)
    assert again.pk != first.pk and again.status == "DONE"
    first.refresh_from_db()
    assert first.status == "FAILED"


def queued(actor, kind, subject=None, params=None, capture=None) -> Report:
    with capture(execute=False):
        return reports.request_report(actor=actor, kind=kind, subject_id=subject, params=params)


def test_a_failed_attempt_is_queued_again_and_the_retry_succeeds(people, fast_layout, django_capture_on_commit_callbacks):
    from reporting.tasks import generate_report

    incident = restricted_incident(people, overdue=0)
    report = queued(people["legal"], "INCIDENT_REPORT", incident.pk, capture=django_capture_on_commit_callbacks)
    real, seen = reports.pdf.layout, []

    def flaky(html, archival=False, attachments=None):
        seen.append(Report.objects.get(pk=report.pk).status)
        if len(seen) == 1:
            raise OSError("worker lost its connection mid-render")
        return real(html)

    with mock.patch.object(reports.pdf, "layout", side_effect=flaky):
        generate_report.apply(args=[report.pk], throw=False)  # as a worker runs it; the retry runs eagerly
    report.refresh_from_db()
    assert seen == ["RUNNING", "RUNNING"]
    assert report.status == "DONE" and report.attempts == 2 and report.error == ""
    verbs = list(AuditEvent.objects.filter(object_type="reporting.report", object_id=str(report.pk))
                 .order_by("seq").values_list("verb", flat=True))
    assert verbs == ["report.requested", "report.started", "report.attempt_failed", "report.started",
                     "report.generated"]
    failed = AuditEvent.objects.get(object_type="reporting.report", verb="report.attempt_failed")
    assert failed.after["error"] == "OSError: worker lost its connection mid-render"


def test_a_report_left_running_by_a_dead_worker_is_taken_up_again(people, fast_layout, django_capture_on_commit_callbacks):
    incident = restricted_incident(people, overdue=0)
    with django_capture_on_commit_callbacks(execute=False):
        report = reports.request_report(actor=people["legal"], kind="INCIDENT_REPORT", subject_id=incident.pk)
    # the worker marked it RUNNING, then was killed before finishing: the broker redelivers the message
    Report.objects.filter(pk=report.pk).update(status="RUNNING", started_at=timezone.now() - timedelta(hours=1),
                                               attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert reports.requeue_stale_reports() == 1
    report.refresh_from_db()
    assert report.status == "DONE" and report.attempts == 2


def test_a_render_whose_worker_died_is_requeued_within_two_minutes_and_a_live_one_is_not(
        people, fast_layout, django_capture_on_commit_callbacks):
    from django.conf import settings

    from reporting.common import HEARTBEAT_EVERY, HEARTBEAT_LOST, REQUEUE_EVERY

    schedule = settings.CELERY_BEAT_SCHEDULE["requeue-stale-reports"]["schedule"]
    assert schedule == REQUEUE_EVERY.total_seconds()
    assert HEARTBEAT_LOST + REQUEUE_EVERY < timedelta(minutes=2) and HEARTBEAT_LOST >= 3 * HEARTBEAT_EVERY
    incident = restricted_incident(people, overdue=0)
    with django_capture_on_commit_callbacks(execute=False):
        report = reports.request_report(actor=people["legal"], kind="INCIDENT_REPORT", subject_id=incident.pk)
    now = timezone.now()
    # the render began 20 minutes ago (a long one) and its worker still beats: it is left alone
    Report.objects.filter(pk=report.pk).update(status="RUNNING", started_at=now - timedelta(minutes=20),
                                               heartbeat_at=now - HEARTBEAT_EVERY * 2, attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert reports.requeue_stale_reports(now=now) == 0
    # the worker was killed: its heartbeat stops; one requeue period after it is counted lost, the render restarts
    killed_at = now - timedelta(seconds=5)
    Report.objects.filter(pk=report.pk).update(heartbeat_at=killed_at)
    with django_capture_on_commit_callbacks(execute=True):
        assert reports.requeue_stale_reports(now=killed_at + HEARTBEAT_LOST - timedelta(seconds=1)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert reports.requeue_stale_reports(now=killed_at + HEARTBEAT_LOST + REQUEUE_EVERY) == 1
    report.refresh_from_db()
    assert report.status == "DONE" and report.attempts == 2 and report.file
    assert Report.objects.filter(pk=report.pk).exclude(file="").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_rendering_worker_keeps_its_heartbeat_fresh(people):
    import threading

    incident = restricted_incident(people, overdue=0)
    report = Report.objects.create(kind="INCIDENT_REPORT", incident=incident, status="RUNNING",
                                   requested_by=people["legal"], heartbeat_at=timezone.now() - timedelta(hours=1))
    done = threading.Event()
    with reports.heartbeat(report.pk, every=timedelta(milliseconds=50)):
        done.wait(0.5)
    report.refresh_from_db()
    assert report.heartbeat_at > timezone.now() - timedelta(seconds=5)


def test_the_last_failure_marks_the_report_failed(people, django_capture_on_commit_callbacks):
    from reporting.tasks import MAX_RETRIES, generate_report

    incident = restricted_incident(people, overdue=0)
    report = queued(people["legal"], "INCIDENT_REPORT", incident.pk, capture=django_capture_on_commit_callbacks)
    with mock.patch.object(reports.pdf, "layout", side_effect=OSError("disk full")):
        with pytest.raises(OSError):
            generate_report.apply(args=[report.pk], retries=MAX_RETRIES, throw=True)
    report.refresh_from_db()
    assert report.status == "FAILED" and report.error == "OSError: disk full" and report.finished_at


# -- who may ask and who may see -----------------------------------------------------------------------------

def test_a_viewer_cannot_request_a_report(people):
    with pytest.raises(PermissionDenied):
        reports.request_report(actor=people["viewer"], kind="GOVERNANCE_PACK", params={"period": "2026-01"})


def test_a_person_who_cannot_see_a_restricted_incident_cannot_request_its_report(people):
    incident = restricted_incident(people, overdue=0)
    with pytest.raises(NotFound) as info:
        reports.request_report(actor=people["data_science"], kind="INCIDENT_REPORT", subject_id=incident.pk)
    assert info.value.field == "subject"
    missing = str(info.value.message).replace(str(incident.pk), "N")
    with pytest.raises(NotFound) as again:
        reports.request_report(actor=people["data_science"], kind="INCIDENT_REPORT", subject_id=99999)
    assert str(again.value.message).replace("99999", "N") == missing  # no hint that it exists


def test_restricted_reports_download_only_for_those_who_see_the_incident(
        client, people, fast_layout, django_capture_on_commit_callbacks):
    incident = restricted_incident(people, overdue=0)
    report = generated(people["legal"], "INCIDENT_REPORT", incident.pk, capture=django_capture_on_commit_callbacks)
    url = reverse("reporting:report_download", args=[report.pk])
    for person in ("viewer", "data_science", "engineering"):
        client.force_login(people[person])
        assert client.get(url).status_code == 404
        assert incident.title not in client.get(reverse("reporting:report_list")).content.decode()
    for person in ("legal", "compliance"):
        client.force_login(people[person])
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert b"".join(response.streaming_content) == report.file.open("rb").read()
    pm.update_incident(incident, actor=people["legal"], members=[people["engineering"]], reason="Engineering works the fix.")
    client.force_login(people["engineering"])
    assert client.get(url).status_code == 200


# -- periods ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,start,end,label", [
    ("2026-Q3", "2026-07-01", "2026-09-30", "2026 Q3"),
    ("2026-q1", "2026-01-01", "2026-03-31", "2026 Q1"),
    ("2026-W40", "2026-09-28", "2026-10-04", "2026 week 40"),
    ("2026-02", "2026-02-01", "2026-02-28", "February 2026"),
    ("2026-03-05..2026-03-20", "2026-03-05", "2026-03-20", "5 Mar 2026 – 20 Mar 2026"),
])
def test_periods(text, start, end, label):
    first, last = reports.parse_period(text)
    assert (first.isoformat(), last.isoformat(), reports.period_label(first, last)) == (start, end, label)


@pytest.mark.parametrize("params,field", [
    ({}, "params.period"), ({"period": "2026-Q5"}, "params.period"), ({"period": "2026-W54"}, "params.period"),
    ({"start": "2026-03-01", "end": "2026-02-01"}, "params.end"), ({"start": "yesterday", "end": "2026-01-01"},
                                                                 "params.start"),
    ({"period": "2026-Q1", "colour": "red"}, "params.colour"), ({"period": "2099-Q1"}, "params.start"),
])
def test_bad_pack_parameters_name_the_field(params, field):
    with pytest.raises(ValidationFailed) as info:
        reports.pack_params(params)
    assert info.value.field == field


# -- pages -----------------------------------------------------------------------------------------------------

def test_the_new_report_form_is_prefilled_from_the_query(client, people):
    client.force_login(people["data_science"])
    launch = make_launch(author=people["author"], tier="TIER_2")
    page = client.get(reverse("reporting:report_new") + f"?kind=LAUNCH_DOSSIER&subject={launch.pk}")
    body = page.content.decode()
    assert page.status_code == 200
    assert f'value="{launch.pk}"' in body and 'value="LAUNCH_DOSSIER" selected' in body


def test_requesting_from_the_page_queues_and_the_list_polls_until_done(client, people, fast_layout, django_capture_on_commit_callbacks):
    client.force_login(people["data_science"])
    launch = make_launch(author=people["author"], tier="TIER_2")
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("reporting:report_new"), {"kind": "LAUNCH_DOSSIER", "subject": launch.pk})
    assert response.status_code == 302
    rows = client.get(reverse("reporting:report_rows")).content.decode()
    assert "Queued" in rows and 'hx-trigger="every 2s"' in rows
    reports.generate_report(Report.objects.get().pk)
    rows = client.get(reverse("reporting:report_rows")).content.decode()
    assert "hx-trigger" not in rows and "Download" in rows


def test_the_page_form_shows_the_services_refusal_next_to_the_field(client, people):
    client.force_login(people["data_science"])
    response = client.post(reverse("reporting:report_new"), {"kind": "INCIDENT_REPORT", "subject": ""})
    assert response.status_code == 200
    assert "Give the number of the incident" in response.content.decode()


def test_pdf_page_size_follows_the_setting(people, settings):
    settings.PDF_PAGE_SIZE = "Letter"
    data = reports.gather("GOVERNANCE_PACK", viewer=people["data_science"], params=reports.pack_params({"period": "2026-01"}))
    result, _ = reports.render(data)
    box = PdfReader(io.BytesIO(result.content)).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)


def test_reports_fetch_nothing_from_the_network():
    from reporting import pdf

    html = ('<!doctype html><html><head><style>body{background:url("http://example.com/x.png")}</style></head>'
            '<body><img src="https://example.com/y.png"><p>text</p></body></html>')
    with mock.patch("urllib.request.OpenerDirector.open", side_effect=AssertionError("network")) as opened:
        result = pdf.layout(html)
    assert result.page_count == 1 and not opened.called


def test_observation_rows_are_not_duplicated_in_the_sparkline_data(people):
    incident = rolled_back_incident(people, events=3)
    data = reports.gather("INCIDENT_REPORT", viewer=people["engineering"], incident_id=incident.pk)
    latency = next(g for g in data["monitoring"]["guardrails"] if g["metric"] == "p95_latency_ms")
    assert len(latency["points"]) == Observation.objects.filter(launch=incident.launch,
                                                                metric="p95_latency_ms").count()


def test_the_executive_summary_stays_on_one_page_at_its_fullest(people, settings, tmp_path):
    from governance.models import PolicyChange, TierPolicy

    settings.PDF_PAGE_SIZE = "Letter"  # the shorter page
    words = "The vendor changed how the device field is populated and nobody upstream was told about it. "
    incident = pm.open_incident(
        actor=people["legal"], title="A" * 200, severity="SEV1", detection_source="CUSTOMER", summary=words * 40,
        impact_text=words * 30, began_at=timezone.now() - timedelta(days=9), detected_at=timezone.now(),
        impact_figures={"decisions_affected": 10 ** 9, "revenue_impact": -10 ** 9, "approval_rate_shift": [
            {"segment": f"segment {n} " + "x" * 80, "shift_pct": -n} for n in range(6)]})
    policy = TierPolicy.objects.get(tier="TIER_1")
    changes = PolicyChange.objects.bulk_create([
        PolicyChange(policy=policy, operation="ADD_CHECKLIST_ITEM", rationale="r", proposed_by=people["legal"],
                     payload={"key": f"k{n}", "title": words * 3}) for n in range(10)])
    today = timezone.localdate()
    ActionItem.objects.bulk_create([
        ActionItem(incident=incident, title=(words * 4)[:300], kind="PREVENT", owner=people["legal"],
                   due_date=today + timedelta(days=n - 10), status="DONE" if n < 12 else "OPEN",
                   policy_change=changes[n - 20] if n >= 20 else None) for n in range(30)])
    data = reports.gather("INCIDENT_REPORT", viewer=people["legal"], incident_id=incident.pk)
    result, _ = reports.render(data)
    path = tmp_path / "fullest.pdf"
    path.write_bytes(result.content)
    if os.environ.get("KEEP_REPORT_PDF"):
        path.rename(os.environ["KEEP_REPORT_PDF"])
        path = os.environ["KEEP_REPORT_PDF"]
    pages = pdf_text(path)
    assert "WHAT WE ASK OF THE COMMITTEE" in pages[1] and "progress will be reported" in pages[1]
    assert "2. TIMELINE" in pages[2] and "2. TIMELINE" not in pages[1]
