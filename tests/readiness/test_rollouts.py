"""Staged rollouts: plans, guardrails over observations, advancing, rollback and its incident."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.kernel.errors import Conflict, ValidationFailed
from governance.kernel.models import AuditEvent
from postmortems.models import Incident
from readiness import gate, rollouts, services
from readiness.models import Guardrail, LaunchStatus, Observation, SignOff
from tests.factories import PASSWORD, make_launch, pass_everything

pytestmark = pytest.mark.django_db
TIER2_SIGNERS = (("data_science", "DATA_SCIENCE"), ("product", "PRODUCT"))


def approved(people, tier="TIER_2", plan=None):
    launch = make_launch(author=people["author"], tier=tier)
    if plan:
        rollouts.update_plan(launch, actor=people["author"], **plan)
    pass_everything(launch, attester=people["data_science"])
    services.submit_for_review(launch, actor=people["author"])
    for person, role in TIER2_SIGNERS if tier == "TIER_2" else ():
        launch.refresh_from_db()
        services.sign_off(launch, actor=people[person], role=role, decision="APPROVE", password=PASSWORD,
                          content_hash=launch.content_hash)
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.APPROVED
    return launch


SIMPLE = {
    "stages": [{"name": "canary", "traffic_percent": 10, "min_duration_minutes": 60},
               {"name": "full", "traffic_percent": 100, "min_duration_minutes": 60}],
    "guardrails": [{"metric": "p95_latency_ms", "comparator": "<=", "threshold": 200, "window_minutes": 15,
                    "failure_limit": 3, "action": "ROLLBACK"}],
}


def observe(launch, actor, metric, values, start, step=timedelta(minutes=1)):
    batch = [{"metric": metric, "value": v, "observed_at": (start + i * step).isoformat()}
             for i, v in enumerate(values)]
    return rollouts.record_observations(launch, actor=actor, batch=batch, now=start + (len(values) - 1) * step)


# -- plans ---------------------------------------------------------------------------------------------------

def test_a_refused_plan_changes_nothing(people):
    """Which plans are refused, and the field named, is tested on plain values in
    tests/governance/test_policy_rules.py."""
    launch = make_launch(author=people["author"], tier="TIER_2")
    before = list(launch.plan.stages.values_list("name", flat=True))
    with pytest.raises(ValidationFailed) as info:
        rollouts.update_plan(launch, actor=people["author"], guardrails=[], stages=[
            {"name": "a", "traffic_percent": 50}, {"name": "b", "traffic_percent": 10}])
    assert info.value.field == "stages[1].traffic_percent"
    assert list(launch.plan.stages.values_list("name", flat=True)) == before


def test_tier_1_plan_starts_with_the_shadow_of_the_launch_policy(people):
    launch = make_launch(author=people["author"], tier="TIER_1")
    with pytest.raises(ValidationFailed) as caught:
        rollouts.update_plan(launch, actor=people["author"], stages=[
            {"name": "shadow", "traffic_percent": 0, "min_duration_minutes": 2880},
            {"name": "full", "traffic_percent": 100}], guardrails=[])
    assert (caught.value.code, caught.value.field) == ("shadow_too_short", "stages[0].min_duration_minutes")


def test_plan_change_stales_signatures_and_is_refused_after_approval(people):
    launch = make_launch(author=people["author"], tier="TIER_2")
    pass_everything(launch, attester=people["data_science"])
    services.submit_for_review(launch, actor=people["author"])
    launch.refresh_from_db()
    services.sign_off(launch, actor=people["product"], role="PRODUCT", decision="APPROVE", password=PASSWORD,
                      content_hash=launch.content_hash)
    rollouts.update_plan(launch, actor=people["author"], **SIMPLE)
    assert SignOff.objects.get().stale
    launch = approved(people, plan=SIMPLE)
    with pytest.raises(Conflict) as caught:
        rollouts.update_plan(launch, actor=people["author"], **SIMPLE)
    assert caught.value.code == "launch_frozen"


# -- observations -----------------------------------------------------------------------------------------

def test_observations_are_refused_before_the_rollout(people):
    launch = approved(people, plan=SIMPLE)
    with pytest.raises(Conflict) as caught:
        observe(launch, people["engineering"], "p95_latency_ms", [120], timezone.now())
    assert caught.value.code == "not_rolling_out"
    assert not Observation.objects.exists()


@pytest.mark.parametrize("entry,field", [
    ({"metric": "cpu", "value": 1}, "observations[0].metric"),
    ({"metric": "p95_latency_ms", "value": "fast"}, "observations[0].value"),
    ({"metric": "p95_latency_ms", "value": float("inf")}, "observations[0].value"),
    ({"metric": "p95_latency_ms", "value": 1, "observed_at": "2999-01-01T00:00:00Z"}, "observations[0].observed_at"),
    ({"metric": "p95_latency_ms", "value": 1, "observed_at": "yesterday"}, "observations[0].observed_at"),
    ({"metric": "p95_latency_ms", "value": 1, "observed_at": "2026-01-01T00:00:00"}, "observations[0].observed_at"),
])
def test_bad_observations_change_nothing(people, entry, field):
    launch = approved(people, plan=SIMPLE)
    rollouts.start_rollout(launch, actor=people["author"])
    entry = {"observed_at": timezone.now().isoformat(), **entry}
    with pytest.raises(ValidationFailed) as info:
        rollouts.record_observations(launch, actor=people["engineering"], batch=[entry])
    assert info.value.field == field and not Observation.objects.exists()


def test_observations_are_idempotent_per_metric_time_and_segment(people):
    launch = approved(people, plan=SIMPLE)
    rollouts.start_rollout(launch, actor=people["author"], now=timezone.now() - timedelta(minutes=10))
    now = timezone.now()
    first = observe(launch, people["engineering"], "p95_latency_ms", [120, 130], now - timedelta(minutes=1))
    again = observe(launch, people["engineering"], "p95_latency_ms", [120, 130], now - timedelta(minutes=1))
    assert (first["accepted"], again["accepted"], again["duplicates"]) == (2, 0, 2)
    assert Observation.objects.count() == 2


# -- advancing ---------------------------------------------------------------------------------------------

def test_advance_is_refused_until_the_minimum_duration(people):
    launch = approved(people, plan=SIMPLE)
    start = timezone.now() - timedelta(minutes=30)
    rollouts.start_rollout(launch, actor=people["author"], now=start)
    observe(launch, people["engineering"], "p95_latency_ms", [120] * 5, timezone.now() - timedelta(minutes=4))
    with pytest.raises(Conflict) as caught:
        rollouts.advance(launch, actor=people["author"])
    assert caught.value.code == "advance_refused"
    assert set(Guardrail.objects.values_list("state", flat=True)) == {"PASSING"}  # only the time is missing


def test_advance_is_refused_without_data(people):
    launch = approved(people, plan=SIMPLE)
    rollouts.start_rollout(launch, actor=people["author"], now=timezone.now() - timedelta(hours=2))
    with pytest.raises(Conflict) as caught:
        rollouts.advance(launch, actor=people["author"])
    assert caught.value.code == "advance_refused"
    assert set(Guardrail.objects.values_list("state", flat=True)) == {"INSUFFICIENT_DATA"}


def test_advance_is_refused_when_a_guardrail_is_breached(people):
    plan = {**SIMPLE, "guardrails": [{**SIMPLE["guardrails"][0], "action": "ALERT"}]}
    launch = approved(people, plan=plan)
    rollouts.start_rollout(launch, actor=people["author"], now=timezone.now() - timedelta(hours=2))
    observe(launch, people["engineering"], "p95_latency_ms", [250, 260, 270], timezone.now() - timedelta(minutes=2))
    with pytest.raises(Conflict) as caught:
        rollouts.advance(launch, actor=people["author"])
    assert caught.value.code == "advance_refused"
    assert set(Guardrail.objects.values_list("state", flat=True)) == {"BREACHED"}


def test_advance_needs_the_named_role_approval(people):
    plan = {**SIMPLE, "stages": [{**SIMPLE["stages"][0], "approval_role": "COMPLIANCE"}, SIMPLE["stages"][1]]}
    launch = approved(people, plan=plan)
    rollouts.start_rollout(launch, actor=people["author"], now=timezone.now() - timedelta(hours=2))
    observe(launch, people["engineering"], "p95_latency_ms", [120] * 3, timezone.now() - timedelta(minutes=2))
    with pytest.raises(Conflict) as caught:
        rollouts.advance(launch, actor=people["author"])
    assert caught.value.code == "advance_refused"
    assert set(Guardrail.objects.values_list("state", flat=True)) == {"PASSING"}  # only the approval is missing
    with pytest.raises(ValidationFailed) as refused:  # it lets the model reach more traffic: confirmed like a signature
        rollouts.approve_stage(launch, actor=people["compliance"], password="wrong horse")
    assert refused.value.field == "password"
    with pytest.raises(Conflict):
        rollouts.advance(launch, actor=people["author"])
    rollouts.approve_stage(launch, actor=people["compliance"], password=PASSWORD)
    assert AuditEvent.objects.get(verb="rollout.stage_approved").after["confirmed_by"] == "password"
    assert rollouts.advance(launch, actor=people["author"])["stage"] == "full"


def test_full_walk_reaches_launched_and_the_gate_follows(people, api_client, token_for):
    launch = approved(people, plan=SIMPLE)
    _, secret = token_for("gate:read")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    def verdict(stage):
        return gate.evaluate(launch.version.model.slug, launch.version.version, stage)

    assert verdict("canary")["decision"] == "allow"
    assert {r["code"] for r in verdict("full")["reasons"]} == {"stage_not_reached"}
    t0 = timezone.now() - timedelta(hours=3)
    rollouts.start_rollout(launch, actor=people["author"], now=t0)
    observe(launch, people["engineering"], "p95_latency_ms", [120] * 3, t0 + timedelta(minutes=58))
    rollouts.advance(launch, actor=people["author"], now=t0 + timedelta(minutes=61))
    assert verdict("full")["decision"] == "allow"
    observe(launch, people["engineering"], "p95_latency_ms", [110] * 3, t0 + timedelta(minutes=120))
    result = rollouts.advance(launch, actor=people["author"], now=t0 + timedelta(minutes=123))
    assert result["status"] == LaunchStatus.LAUNCHED


# -- rollback ----------------------------------------------------------------------------------------------

def test_rollback_breach_rolls_back_opens_one_incident_and_denies_the_gate(people, django_capture_on_commit_callbacks):
    from django.core import mail

    launch = approved(people, plan=SIMPLE)
    rollouts.start_rollout(launch, actor=people["author"], now=timezone.now() - timedelta(minutes=30))
    with django_capture_on_commit_callbacks(execute=True):
        result = observe(launch, people["engineering"], "p95_latency_ms", [150, 260, 270, 280],
                         timezone.now() - timedelta(minutes=4))
    assert result["status"] == LaunchStatus.ROLLED_BACK
    assert [a["action"] for a in result["actions"]] == ["ROLLBACK"]
    incident = Incident.objects.get()
    assert incident.launch == launch and incident.severity == "SEV2"
    texts = " ".join(e.text for e in incident.timeline.all())
    assert "260" in texts and "rolled the launch back" in texts
    assert {r["code"] for r in gate.evaluate(launch.version.model.slug, launch.version.version, "canary")
            ["reasons"]} == {"rolled_back"}
    assert any("rolled back" in m.subject for m in mail.outbox)
    # more bad data and the periodic task change nothing further
    observe_again = rollouts.evaluate_rollouts()
    assert observe_again["rolled_back"] == 0 and Incident.objects.count() == 1


def test_pause_holds_the_stage(people):
    plan = {**SIMPLE, "guardrails": [{**SIMPLE["guardrails"][0], "action": "PAUSE"}]}
    launch = approved(people, plan=plan)
    rollouts.start_rollout(launch, actor=people["author"], now=timezone.now() - timedelta(hours=2))
    observe(launch, people["engineering"], "p95_latency_ms", [250, 260, 270], timezone.now() - timedelta(minutes=2))
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.ROLLING_OUT and launch.plan.paused


def test_manual_kill_switch_through_the_api(people, api_client, token_for):
    launch = approved(people, plan=SIMPLE)
    rollouts.start_rollout(launch, actor=people["author"])
    _, secret = token_for("rollouts:write")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api_client.post(f"/api/v1/launches/{launch.pk}/rollback/", {}, format="json").status_code == 400
    response = api_client.post(f"/api/v1/launches/{launch.pk}/rollback/", {"reason": "Complaints spike"},
                               format="json")
    assert response.status_code == 200 and response.json()["incident"]
    again = api_client.post(f"/api/v1/launches/{launch.pk}/rollback/", {"reason": "again"}, format="json")
    assert again.status_code == 409 and Incident.objects.count() == 1


def test_observations_api(people, api_client, token_for):
    launch = approved(people, plan=SIMPLE)
    _, secret = token_for("observations:write", "rollouts:write")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api_client.post(f"/api/v1/launches/{launch.pk}/advance/").json()["stage"] == "canary"
    now = timezone.now()
    response = api_client.post(f"/api/v1/launches/{launch.pk}/observations/", {"observations": [
        {"metric": "p95_latency_ms", "value": 140, "observed_at": now.isoformat()}]}, format="json")
    assert response.status_code == 201
    assert response.json()["guardrails"][0]["state"] == "PASSING"
    response = api_client.post(f"/api/v1/launches/{launch.pk}/advance/")
    assert (response.status_code, response.json()["code"]) == (409, "advance_refused")


def test_periodic_evaluation_marks_stale_data_insufficient(people):
    launch = approved(people, plan=SIMPLE)
    t0 = timezone.now() - timedelta(hours=2)
    rollouts.start_rollout(launch, actor=people["author"], now=t0)
    observe(launch, people["engineering"], "p95_latency_ms", [120] * 3, t0)
    assert Guardrail.objects.get().state == "PASSING"
    rollouts.evaluate_rollouts()
    assert Guardrail.objects.get().state == "INSUFFICIENT_DATA"


def test_every_periodic_evaluation_stamps_each_guardrail_and_keeps_what_did_not_change(people):
    launch = approved(people, plan=SIMPLE)
    t0 = timezone.now() - timedelta(minutes=5)
    rollouts.start_rollout(launch, actor=people["author"], now=t0)
    observe(launch, people["engineering"], "p95_latency_ms", [120] * 3, t0)
    first = t0 + timedelta(minutes=4)
    rollouts.evaluate_rollouts(now=first)
    guardrail = Guardrail.objects.get()
    assert (guardrail.state, guardrail.evaluated_at) == ("PASSING", first)
    detail = guardrail.state_detail
    later = first + timedelta(seconds=30)
    rollouts.evaluate_rollouts(now=later)
    guardrail.refresh_from_db()
    assert (guardrail.state, guardrail.state_detail, guardrail.evaluated_at) == ("PASSING", detail, later)


def test_periodic_evaluation_completes_a_final_stage(people):
    plan = {**SIMPLE, "stages": [{"name": "full", "traffic_percent": 100, "min_duration_minutes": 30}]}
    launch = approved(people, plan=plan)
    rollouts.start_rollout(launch, actor=people["author"], now=timezone.now() - timedelta(minutes=40))
    observe(launch, people["engineering"], "p95_latency_ms", [100] * 3, timezone.now() - timedelta(minutes=3))
    assert rollouts.evaluate_rollouts()["launched"] == 1
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.LAUNCHED


# -- E2's launch day, replayed -------------------------------------------------------------------------

E2_PLAN = {"stages": [{"name": "full", "traffic_percent": 100, "min_duration_minutes": 1440}],
           "guardrails": [{"metric": "ctr_delta_pct", "comparator": ">=", "threshold": -0.5, "window_minutes": 60,
                           "failure_limit": 1, "sustain_minutes": 30, "action": "ROLLBACK"},
                          {"metric": "p95_latency_ms", "comparator": "<=", "threshold": 200, "window_minutes": 15,
                           "failure_limit": 3, "action": "ROLLBACK"}]}


def test_e2_launch_day_dip_of_0_4_for_20_minutes_does_not_roll_back(people):
    launch = approved(people, plan=E2_PLAN)
    t0 = timezone.now() - timedelta(hours=3)
    rollouts.start_rollout(launch, actor=people["author"], now=t0)
    values = [0.1] * 30 + [-0.4] * 20 + [0.3] * 60
    for minute, value in enumerate(values):
        rollouts.record_observations(launch, actor=people["engineering"], now=t0 + timedelta(minutes=minute), batch=[
            {"metric": "ctr_delta_pct", "value": value, "observed_at": t0 + timedelta(minutes=minute)}])
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.ROLLING_OUT and not Incident.objects.exists()


def test_e2_dip_of_0_6_held_31_minutes_rolls_back(people):
    launch = approved(people, plan=E2_PLAN)
    t0 = timezone.now() - timedelta(hours=3)
    rollouts.start_rollout(launch, actor=people["author"], now=t0)
    states = []
    for minute in range(40):
        value = 0.1 if minute < 5 else -0.6
        result = rollouts.record_observations(launch, actor=people["engineering"], now=t0 + timedelta(minutes=minute), batch=[
            {"metric": "ctr_delta_pct", "value": value, "observed_at": t0 + timedelta(minutes=minute)}])
        states.append(result["status"])
        if result["status"] == LaunchStatus.ROLLED_BACK:
            break
    assert states[34] == LaunchStatus.ROLLING_OUT, "held 29 minutes: not yet"
    assert states[-1] == LaunchStatus.ROLLED_BACK and len(states) == 37, "held 31 minutes: rolled back"
    assert Incident.objects.count() == 1


def test_one_failing_rollout_does_not_stop_the_periodic_evaluation_of_the_others(people, monkeypatch):
    """healthchecks' sendalerts rule: each item is isolated; the failure is logged, counted, recorded on its
    plan, retried on the next run, and reported there as recovered once it succeeds."""
    launches = []
    for _ in range(3):
        launch = approved(people, plan=SIMPLE)
        rollouts.start_rollout(launch, actor=people["author"])
        launches.append(launch)
    poisoned = launches[1]
    real = rollouts._evaluate_locked

    def evaluate(launch, plan, **kwargs):
        if launch.pk == poisoned.pk:
            raise RuntimeError("corrupt observation row")
        return real(launch, plan, **kwargs)

    monkeypatch.setattr(rollouts, "_evaluate_locked", evaluate)
    summary = rollouts.evaluate_rollouts()
    assert summary["evaluated"] == 2 and summary["failed"] == 1
    assert summary["failed_launches"] == [poisoned.pk]
    poisoned.plan.refresh_from_db()
    assert poisoned.plan.evaluation_error == "RuntimeError: corrupt observation row"

    monkeypatch.setattr(rollouts, "_evaluate_locked", real)
    summary = rollouts.evaluate_rollouts()
    assert summary["evaluated"] == 3 and summary["failed"] == 0
    assert summary["retried"] == 1 and summary["recovered"] == 1
    poisoned.plan.refresh_from_db()
    assert poisoned.plan.evaluation_error == "" and poisoned.plan.evaluation_failed_at is None
