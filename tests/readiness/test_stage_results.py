"""What a launch claims about a rollout stage's result is claimed after the result, and only the stage's own
observations count for it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.kernel.errors import Conflict, ValidationFailed
from readiness import gate, rollouts, services
from readiness.models import Guardrail, LaunchStatus, Observation, SignOff
from tests.factories import attest_stage_results, make_launch
from tests.readiness.test_rollouts import approved, observe

pytestmark = pytest.mark.django_db

SHADOW_FIRST = {
    "stages": [{"name": "shadow", "traffic_percent": 0, "min_duration_minutes": 2880},
               {"name": "canary", "traffic_percent": 10, "min_duration_minutes": 60},
               {"name": "full", "traffic_percent": 100, "min_duration_minutes": 60}],
    "guardrails": [{"metric": "p95_latency_ms", "comparator": "<=", "threshold": 200, "window_minutes": 15,
                    "failure_limit": 3, "action": "ROLLBACK"}],
}


def shadow_item(launch):
    return launch.items.get(key="shadow_fairness")


def attest(item, people):
    return services.attest_item(item, actor=people["data_science"], outcome="PASS",
                                evidence_text="Per-group comparison with the champion attached.")


def test_the_shadow_comparison_is_linked_to_the_shadow_stage_and_does_not_block_approval(people):
    launch = approved(people, plan=SHADOW_FIRST)  # approved with the item still pending
    item = shadow_item(launch)
    assert item.stage == "shadow" and item.status == "PENDING" and item.blocking


def test_it_cannot_be_attested_before_the_stage_has_begun_or_run_its_minimum(people):
    launch = make_launch(author=people["author"], tier="TIER_2")
    with pytest.raises(Conflict) as caught:
        attest(shadow_item(launch), people)
    assert caught.value.code == "stage_not_ended" and "has not begun" in str(caught.value)
    launch = approved(people, plan=SHADOW_FIRST)
    rollouts.start_rollout(launch, actor=people["author"], now=timezone.now() - timedelta(hours=47))
    with pytest.raises(Conflict) as caught:
        attest(shadow_item(launch), people)
    assert caught.value.code == "stage_not_ended" and "runs at least 2 days" in str(caught.value)
    assert shadow_item(launch).status == "PENDING" and shadow_item(launch).attested_at is None


def test_it_blocks_leaving_the_stage_and_the_gate_for_later_stages_until_attested(people):
    launch = approved(people, plan=SHADOW_FIRST)
    rollouts.start_rollout(launch, actor=people["author"], now=timezone.now() - timedelta(days=3))
    slug, version = launch.version.model.slug, launch.version.version
    assert gate.evaluate(slug, version, "shadow")["decision"] == "allow"
    Guardrail.objects.filter(plan__launch=launch).update(state="PASSING")
    with pytest.raises(Conflict) as caught:
        rollouts.advance(launch, actor=people["author"])
    assert "Shadow test completed with a fairness comparison" in str(caught.value)
    signed = set(SignOff.objects.filter(launch=launch, stale=False).values_list("pk", flat=True))
    attest(shadow_item(launch), people)
    # signers vouched for what the item asks, not for its later outcome: their signatures stand
    assert set(SignOff.objects.filter(launch=launch, stale=False).values_list("pk", flat=True)) == signed
    observe(launch, people["engineering"], "p95_latency_ms", [120] * 5, timezone.now() - timedelta(minutes=4))
    assert rollouts.advance(launch, actor=people["author"])["stage"] == "canary"


def test_the_gate_names_the_unattested_result_for_every_later_stage(people):
    launch = approved(people, plan=SHADOW_FIRST)
    rollouts.start_rollout(launch, actor=people["author"], now=timezone.now() - timedelta(days=3))
    slug, version = launch.version.model.slug, launch.version.version
    for later in ("canary", "full"):
        codes = {r["code"] for r in gate.evaluate(slug, version, later)["reasons"]}
        assert "stage_result_not_attested" in codes, later
    attest_stage_results(launch, attester=people["data_science"])
    codes = {r["code"] for r in gate.evaluate(slug, version, "canary")["reasons"]}
    assert codes == {"stage_not_reached"}


def test_a_plan_without_the_stage_makes_it_an_ordinary_pre_flight_item_and_back(people):
    launch = make_launch(author=people["author"], tier="TIER_2")
    rollouts.update_plan(launch, actor=people["author"], guardrails=[], stages=[
        {"name": "canary", "traffic_percent": 10, "min_duration_minutes": 60},
        {"name": "full", "traffic_percent": 100, "min_duration_minutes": 60}])
    assert shadow_item(launch).stage == ""
    attest(shadow_item(launch), people)  # attested before approval, like any pre-flight item
    rollouts.update_plan(launch, actor=people["author"], **SHADOW_FIRST)
    assert shadow_item(launch).stage == "shadow"


def test_an_observation_from_before_the_stage_began_is_refused_and_never_counted(people):
    launch = approved(people, plan=SHADOW_FIRST)
    started = timezone.now() - timedelta(minutes=8)  # the 15-minute window reaches back before the stage
    rollouts.start_rollout(launch, actor=people["author"], now=started)
    with pytest.raises(ValidationFailed) as caught:
        observe(launch, people["engineering"], "p95_latency_ms", [900, 900, 900, 120],
                started - timedelta(minutes=39), step=timedelta(minutes=13))
    assert caught.value.code == "outside_stage_window" and caught.value.field == "observations[0].observed_at"
    assert "before stage shadow began" in str(caught.value)
    assert Observation.objects.filter(launch=launch).count() == 0
    # planted rows from before the stage (a replay written past the service) do not count either
    Observation.objects.bulk_create([Observation(launch=launch, metric="p95_latency_ms", value=900,
                                                 observed_at=started - timedelta(minutes=m), stage_name="shadow",
                                                 received_at=timezone.now()) for m in (1, 2, 3)])
    observe(launch, people["engineering"], "p95_latency_ms", [900], timezone.now() - timedelta(minutes=1))
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.ROLLING_OUT
    assert set(Guardrail.objects.filter(plan__launch=launch).values_list("state", flat=True)) != {"BREACHED"}
