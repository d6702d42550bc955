"""Guardrails per segment: a named segment, or one rule for every segment, each segment evaluated on its own."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.kernel.errors import ValidationFailed
from governance.kernel.models import AuditEvent
from postmortems.models import Incident
from readiness import gate, rollouts
from readiness.charts import sparkline
from readiness.models import Guardrail, LaunchStatus
from readiness.rollout_views import parse_plan_text, plan_text
from tests.factories import make_launch
from tests.readiness.test_rollouts import SIMPLE, approved

pytestmark = pytest.mark.django_db
AIR = {"metric": "air", "comparator": ">=", "threshold": 0.8, "window_minutes": 60, "failure_limit": 2,
       "action": "ROLLBACK"}


def plan_with(*guardrails):
    return {"stages": SIMPLE["stages"], "guardrails": [*SIMPLE["guardrails"], *guardrails]}


def send(launch, actor, rows, start):
    """rows: (segment, [values]) — one observation a minute each, from start."""
    batch = [{"metric": "air", "value": v, "segment": segment, "observed_at": (start + timedelta(minutes=i)).isoformat()}
             for segment, values in rows for i, v in enumerate(values)]
    now = start + timedelta(minutes=max(len(values) for _, values in rows) - 1)
    return rollouts.record_observations(launch, actor=actor, batch=batch, now=now)


def rolling(people, *guardrails):
    launch = approved(people, plan=plan_with(*guardrails))
    rollouts.start_rollout(launch, actor=people["author"], now=timezone.now() - timedelta(minutes=30))
    return launch


def test_a_breach_in_a_named_segment_rolls_back_and_names_the_segment(people):
    launch = rolling(people, {**AIR, "segment": "age 62+"})
    result = send(launch, people["engineering"], [("age 62+", [0.9, 0.7, 0.6]), ("under 62", [0.95] * 3)],
                  timezone.now() - timedelta(minutes=3))
    assert result["status"] == LaunchStatus.ROLLED_BACK
    launch.refresh_from_db()
    assert "in segment age 62+" in launch.rollback_reason and "segment age 62+: air = 0.6" in launch.rollback_reason
    incident = Incident.objects.get()
    assert "age 62+" in incident.summary
    detection = incident.timeline.get(kind="DETECTION").text
    assert "in segment age 62+" in detection and "0.7" in detection and "0.95" not in detection
    state = next(g for g in result["guardrails"] if g["segment"])
    assert state["breached_segment"] == "age 62+"


def test_a_named_segment_ignores_other_segments_and_untagged_observations(people):
    launch = rolling(people, {**AIR, "segment": "age 62+", "action": "ALERT"})
    send(launch, people["engineering"], [("under 62", [0.5] * 3), ("", [0.5] * 3)],
         timezone.now() - timedelta(minutes=3))
    guardrail = Guardrail.objects.get(segment="age 62+")
    assert guardrail.state == "INSUFFICIENT_DATA"
    assert guardrail.state_detail["detail"] == "segment age 62+: no observations of air yet"


def test_one_rule_for_every_segment_breaches_on_the_worst_and_the_gate_denies(people):
    launch = rolling(people, {**AIR, "segment": "*", "action": "ALERT"})
    send(launch, people["engineering"], [("a", [0.9] * 3), ("b", [0.9] * 3)], timezone.now() - timedelta(minutes=3))
    guardrail = Guardrail.objects.get(segment="*")
    assert guardrail.state == "PASSING" and "healthy in every segment (2 segments: a, b)" in \
        guardrail.state_detail["detail"]
    slug, version = launch.version.model.slug, launch.version.version
    send(launch, people["engineering"], [("b", [0.7, 0.6])], timezone.now() - timedelta(minutes=1))
    guardrail.refresh_from_db()
    assert guardrail.state == "BREACHED" and guardrail.state_detail["segment"] == "b"
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.ROLLING_OUT  # an alert, not a rollback
    verdict = gate.evaluate(slug, version, "canary")
    assert verdict["decision"] == "deny"
    breached = [r["detail"] for r in verdict["reasons"] if r["code"] == "guardrail_breached"]
    assert len(breached) == 1 and "segment b" in breached[0]
    assert AuditEvent.objects.filter(verb="guardrail.state_changed", after__state="BREACHED").count() == 1


def test_every_segment_with_no_tagged_observation_is_insufficient(people):
    launch = rolling(people, {**AIR, "segment": "*", "action": "ALERT"})
    send(launch, people["engineering"], [("", [0.5] * 3)], timezone.now() - timedelta(minutes=3))
    guardrail = Guardrail.objects.get(segment="*")
    assert guardrail.state == "INSUFFICIENT_DATA"
    assert "tagged with a segment" in guardrail.state_detail["detail"]


def test_untagged_observations_are_evaluated_as_before(people):
    launch = rolling(people, {**AIR, "action": "ALERT"})
    send(launch, people["engineering"], [("b", [0.5] * 3), ("", [0.9, 0.9, 0.9])],
         timezone.now() - timedelta(minutes=3))
    guardrail = Guardrail.objects.get(metric="air")
    assert guardrail.state == "PASSING" and "segment" not in guardrail.state_detail
    assert gate.evaluate(launch.version.model.slug, launch.version.version, "canary")["decision"] == "allow"


def test_the_plan_form_reads_and_writes_the_segment(people):
    stages, guardrails = parse_plan_text("canary 10 60\nfull 100 60",
                                         "air >= 0.8 60 2 0 ROLLBACK segment=age 62+\n"
                                         "air >= 0.8 60 2 0 ALERT canary segment=*\n"
                                         "p95_latency_ms <= 200 15 3 0 ROLLBACK")
    assert [g["segment"] for g in guardrails] == ["age 62+", "*", ""]
    assert guardrails[1]["stage"] == "canary"
    launch = make_launch(author=people["author"], tier="TIER_2")
    rollouts.update_plan(launch, actor=people["author"], stages=stages, guardrails=guardrails)
    assert plan_text(launch.plan)[1].splitlines() == ["air >= 0.8 60 2 0 ROLLBACK segment=age 62+",
                                                      "air >= 0.8 60 2 0 ALERT canary segment=*",
                                                      "p95_latency_ms <= 200 15 3 0 ROLLBACK"]
    with pytest.raises(ValidationFailed) as caught:
        parse_plan_text("", "air >= 0.8 60 2 0 ROLLBACK segment= ")
    assert "name the segment" in caught.value.message


def test_a_blank_or_overlong_segment_is_refused_and_changes_nothing(people):
    launch = make_launch(author=people["author"], tier="TIER_2")
    before = list(launch.plan.guardrails.values_list("metric", flat=True))
    for bad in ("   ", "x" * 101, 7):
        with pytest.raises(ValidationFailed) as caught:
            rollouts.update_plan(launch, actor=people["author"], **plan_with({**AIR, "segment": bad}))
        assert caught.value.field == "guardrails[1].segment"
    assert list(launch.plan.guardrails.values_list("metric", flat=True)) == before


def test_a_segment_changes_the_content_signed_but_no_segment_keeps_old_hashes(people):
    launch = make_launch(author=people["author"], tier="TIER_2")
    rollouts.update_plan(launch, actor=people["author"], **plan_with(AIR))
    launch.refresh_from_db()
    plain = launch.content_hash
    rollouts.update_plan(launch, actor=people["author"], **plan_with({**AIR, "segment": "a"}))
    launch.refresh_from_db()
    assert launch.content_hash != plain
    rollouts.update_plan(launch, actor=people["author"], **plan_with({**AIR, "segment": ""}))
    launch.refresh_from_db()
    assert launch.content_hash == plain


def test_a_chart_of_one_observation_spans_an_hour_not_years():
    import re

    at = timezone.now()
    svg = sparkline([(at, 0.9)], threshold=0.8, comparator=">=", title="one")
    years = set(re.findall(r"\b20\d\d\b", svg)) - {"2000"}  # the SVG namespace is www.w3.org/2000/svg
    assert years <= {str(at.year)}, years
