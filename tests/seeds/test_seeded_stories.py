"""The seeded stories: their figures are the software's own, and seeding twice changes nothing."""

from datetime import timedelta

import pytest
from django.core.management import call_command

from examples.seeding.lending import e4_predictions
from governance.kernel.audit import verify_chain
from governance.models import AuditEvent, MLModel, PolicyChange
from governance.policies.services import current_version
from governance.stats import fairness_report, parse_predictions
from postmortems.models import ActionItem, Incident, PostmortemStatus
from readiness import gate
from readiness.models import LaunchRequest, LaunchStatus, Observation

pytestmark = pytest.mark.django_db


def counts():
    return {"models": MLModel.objects.count(), "launches": LaunchRequest.objects.count(),
            "incidents": Incident.objects.count(), "events": AuditEvent.objects.count(),
            "observations": Observation.objects.count(), "changes": PolicyChange.objects.count()}


def launch_of(slug, version):
    return LaunchRequest.objects.get(version__model__slug=slug, version__version=version)


def test_seeded_stories_hold_their_documented_figures():
    call_command("seed_examples", verbosity=0)
    first = counts()
    call_command("seed_examples", verbosity=0)
    assert counts() == first, "seeding twice changes nothing"
    assert verify_chain()[1] is None

    # E1: one signature, rolled back; the incident's real shape; policy rebuilt; relaunch with four sign-offs.
    original = launch_of("credit-line-decisioning", "4.2.0")
    assert original.status == LaunchStatus.ROLLED_BACK
    assert [(s.role, s.signer.username) for s in original.signoffs.all()] == [("DATA_SCIENCE", "dana")]
    assert original.items.get(key="feature:device_trust_score:proxy_risk").status == "FAIL"
    incident = Incident.objects.get(launch=original)
    assert incident.restricted and incident.fair_lending
    assert incident.detection_source == "COMPLIANCE_REVIEW"
    assert incident.time_to_detect == timedelta(days=14)
    assert incident.mitigated_at - incident.detected_at == timedelta(hours=48)
    assert incident.postmortem.status == PostmortemStatus.PUBLISHED
    assert {f.category for f in incident.factors.all()} >= {"DATA_VENDOR_CHANGE", "MONITORING_GAP", "PROCESS"}
    linked = ActionItem.objects.filter(incident=incident, policy_change__status="APPROVED")
    assert linked.count() == 7
    policy = current_version("TIER_1")
    assert policy.required_roles == ["DATA_SCIENCE", "COMPLIANCE", "LEGAL", "MODEL_RISK"]
    assert {"third_party_controls", "vendor_schema_sla", "shadow_fairness"} <= {
        i["key"] for i in policy.content["checklist"]}
    assert {"approval_air", "null_rate_delta_max"} <= {g["metric"] for g in policy.content["rollout"]["guardrails"]}
    assert policy.content["rollout"]["min_shadow_minutes"] == 30 * 24 * 60
    relaunch = launch_of("credit-line-decisioning", "5.0.0")
    assert relaunch.status == LaunchStatus.ROLLING_OUT and relaunch.policy_version == policy
    current = relaunch.signoffs.filter(stale=False)
    assert sorted(s.role for s in current) == ["COMPLIANCE", "DATA_SCIENCE", "LEGAL", "MODEL_RISK"]
    assert all(s.content_hash == relaunch.content_hash for s in current)
    shadow = gate.evaluate("credit-line-decisioning", "5.0.0", "shadow")
    assert shadow["decision"] == "allow", shadow["reasons"]
    # The shadow stage began on 27 Nov and runs 30 days: its fairness comparison cannot be attested yet, and it
    # holds back every later stage, not the approval.
    item = relaunch.items.get(key="shadow_fairness")
    assert item.stage == "shadow" and item.status == "PENDING" and item.attested_at is None
    assert {r["code"] for r in gate.evaluate("credit-line-decisioning", "5.0.0", "pilot")["reasons"]} == {
        "stage_not_reached", "stage_result_not_attested"}
    assert {r["code"] for r in gate.evaluate("credit-line-decisioning", "4.2.0", "full")["reasons"]} == {
        "rolled_back"}
    # Its evaluation speaks of the protected attributes the model declares, each assessed, and their intersections.
    fairness = relaunch.evaluations.order_by("-created_at").first().report["fairness"]
    assert [(a["attribute"], a["evaluated"]) for a in fairness["declared_attributes"]] == [
        ("race", True), ("sex", True), ("age_band", True)]
    assert [g["group"] for g in fairness["groups"]] == ["Asian", "Black", "Hispanic", "White"]
    assert [a["attribute"] for a in fairness["by_attribute"]] == [
        "race", "sex", "age_band", "race × sex", "race × age_band", "sex × age_band", "race × sex × age_band"]
    assert min(g["air"]["estimate"] for g in fairness["groups"] if g["air"]) > 0.9  # the decision memo's figure
    assert {c["key"]: c["verdict"] for c in fairness["checks"]} == {
        "fairness.air": "PASS", "fairness.eod": "PASS", "fairness.eqodds": "PASS"}
    assert fairness["calibration"]["assessed"] and fairness["calibration"]["ci_high"] < 0.05

    # E2: dissent recorded, guardrails held through the −0.4 % dip, launched.
    e2 = launch_of("homepage-ranking", "3.0.0")
    assert e2.status == LaunchStatus.LAUNCHED
    assert "12 %" in e2.signoffs.get(role="DATA_SCIENCE").dissent
    dip = Observation.objects.filter(launch=e2, metric="ctr_delta_pct", value=-0.4)
    assert dip.count() == 20 and not Incident.objects.filter(launch=e2).exists()
    assert e2.plan.guardrails.get(metric="ctr_delta_pct").sustain_minutes == 30

    # E3: the guardrail rolled back and opened the incident; 9 minutes to detect, 12 to recover.
    e3 = launch_of("propensity-model", "2.0.0")
    assert e3.status == LaunchStatus.ROLLED_BACK and e3.rolled_back_by == "eli"
    e3_incident = Incident.objects.get(launch=e3)
    assert e3_incident.time_to_detect == timedelta(minutes=9)
    assert e3_incident.time_to_mitigate == timedelta(minutes=12)
    assert e3_incident.timeline.filter(kind="DETECTION", text__contains="-1.2").exists()

    # E4: in review, INCONCLUSIVE exactly as the statistics engine computes it from the seeded sample.
    e4 = launch_of("content-recommender", "7.0.0")
    assert e4.status == LaunchStatus.IN_REVIEW and e4.decision == "MITIGATE"
    item = e4.items.get(key="fairness_air")
    expected = fairness_report(parse_predictions(e4_predictions()), n_boot=10_000)
    check = next(c for c in expected["checks"] if c["key"] == "fairness.air")
    assert item.status == check["verdict"] == "INCONCLUSIVE"
    assert item.result["n_required"] == check["n_required"] and check["n_required"] > 1000
    assert "segment_c" in expected["insufficient_groups"]

    # E6–E10: the smaller mechanisms.
    assert "data_contracts" in {i["key"] for i in current_version("TIER_3").content["checklist"]}
    assert launch_of("search-ltr", "1.0.0").status == LaunchStatus.LAUNCHED
    assert launch_of("recommendation-widget", "1.0.0").status == LaunchStatus.LAUNCHED
    assert Incident.objects.filter(models__slug="fraud-detection").exists()
    assert Incident.objects.filter(models__slug="churn-propensity").get().time_to_detect == timedelta(days=8)
