"""The one rule for incidents Gatehouse opens itself: severity from the model's tier and the exposure at the time,
used by guardrail rollbacks and the kill switch (and by the MLflow alias guard, tested in tests/registry)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from postmortems.models import Incident
from postmortems.severity import ORDER, self_opened_severity
from readiness import rollouts
from tests.factories import attest_stage_results
from tests.readiness.test_rollouts import approved, observe

TIERS = ["TIER_1", "TIER_2", "TIER_3"]


@pytest.mark.parametrize(("tier", "exposure", "severity"), [
    ("TIER_1", 100, "SEV1"), ("TIER_1", 25, "SEV1"), ("TIER_1", 5, "SEV2"), ("TIER_1", 0, "SEV3"),
    ("TIER_2", 100, "SEV2"), ("TIER_2", 5, "SEV3"), ("TIER_2", 0, "SEV4"),
    ("TIER_3", 100, "SEV3"), ("TIER_3", 0, "SEV4"),
    ("TIER_1", None, "SEV1"), ("UNKNOWN", 100, "SEV1"),
])
def test_severity_follows_tier_and_exposure(tier, exposure, severity):
    assert self_opened_severity(tier, exposure) == severity


def test_a_shadow_stage_is_never_sev1():
    assert all(self_opened_severity(tier, 0) != "SEV1" for tier in TIERS)


@given(st.sampled_from(TIERS), st.floats(0, 100), st.floats(0, 100))
def test_more_exposure_is_never_less_severe(tier, a, b):
    low, high = sorted((a, b))
    assert ORDER.index(self_opened_severity(tier, high)) <= ORDER.index(self_opened_severity(tier, low))


@given(st.floats(0, 100))
def test_a_higher_tier_is_never_less_severe(exposure):
    ranks = [ORDER.index(self_opened_severity(tier, exposure)) for tier in TIERS]
    assert ranks == sorted(ranks)


SHADOW_FIRST = {
    "stages": [{"name": "shadow", "traffic_percent": 0, "min_duration_minutes": 60},
               {"name": "full", "traffic_percent": 100, "min_duration_minutes": 60}],
    "guardrails": [{"metric": "p95_latency_ms", "comparator": "<=", "threshold": 200, "window_minutes": 15,
                    "failure_limit": 3, "action": "ROLLBACK"}],
}


@pytest.mark.django_db
def test_a_guardrail_rollback_in_a_shadow_stage_opens_a_low_severity_incident(people):
    launch = approved(people, plan=SHADOW_FIRST)
    rollouts.start_rollout(launch, actor=people["author"], now=timezone.now() - timedelta(minutes=30))
    observe(launch, people["engineering"], "p95_latency_ms", [260, 270, 280], timezone.now() - timedelta(minutes=3))
    assert Incident.objects.get(launch=launch).severity == self_opened_severity("TIER_2", 0) == "SEV4"


@pytest.mark.django_db
def test_the_kill_switch_at_full_exposure_opens_an_incident_at_the_tier_severity(people):
    launch = approved(people, plan={**SHADOW_FIRST, "guardrails": []})
    rollouts.start_rollout(launch, actor=people["author"], now=timezone.now() - timedelta(hours=3))
    attest_stage_results(launch, attester=people["data_science"])
    rollouts.advance(launch, actor=people["author"])
    rollouts.rollback(launch, actor=people["compliance"], reason="Approval rate fell.")
    assert Incident.objects.get(launch=launch).severity == "SEV2"
