"""Each event that asks for a model's revalidation opens exactly one revalidation need naming its source record,
and sending the same event again opens nothing more. Overdue incident action items hold the gate."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.inventory import services as inventory
from governance.kernel import clock
from governance.models import TierPolicy
from governance.policies import services as policies
from governance.validation.models import Hold, RevalidationNeed, Trigger
from governance.validation.selectors import gate_reasons
from postmortems import services as incidents
from readiness import rollouts, services
from tests.factories import PASSWORD, MLModelFactory, ModelVersionFactory, make_launch
from tests.readiness.test_rollouts import SIMPLE, approved, observe

pytestmark = pytest.mark.django_db


def needs(model, trigger):
    return list(RevalidationNeed.objects.filter(model=model, trigger=trigger))


def test_drift_at_the_act_level_opens_one_need_per_evaluation_and_feature(people):
    launch = make_launch(author=people["author"], tier="TIER_2")
    model = launch.version.model
    evaluation = services.submit_evaluation(launch, actor=people["data_science"],
                                            metrics={"psi.max": 0.31, "psi.income": 0.31, "psi.age": 0.05})
    [need] = needs(model, Trigger.DRIFT)
    assert (need.source_type, need.source_id) == ("readiness.evaluation", f"{evaluation.pk}:income")
    services.submit_evaluation(launch, actor=people["data_science"], metrics={"psi.max": 0.05, "psi.income": 0.05})
    assert len(needs(model, Trigger.DRIFT)) == 1  # below the act level: nothing new


def test_drift_below_the_act_level_opens_nothing(people):
    launch = make_launch(author=people["author"], tier="TIER_2")
    services.submit_evaluation(launch, actor=people["data_science"], metrics={"psi.income": 0.19})
    assert needs(launch.version.model, Trigger.DRIFT) == []


def test_a_new_feature_opens_one_need_for_its_version(people):
    version = ModelVersionFactory()
    inventory.add_feature(version, actor=people["data_science"], name="device_score")
    inventory.add_feature(version, actor=people["data_science"], name="tenure")
    [need] = needs(version.model, Trigger.DATA_SOURCE)
    assert (need.source_type, need.source_id) == ("governance.modelversion", str(version.pk))


def test_a_vendor_version_opens_one_vendor_update_need(people):
    model = MLModelFactory(vendor="ScoreCo")
    version = inventory.create_version(model, actor=people["data_science"], version="9.1", artifact_sha256="a" * 64)
    [need] = needs(model, Trigger.VENDOR_UPDATE)
    assert need.source_id == str(version.pk)
    assert needs(MLModelFactory(), Trigger.VENDOR_UPDATE) == []


def test_an_incident_opens_one_need_per_model_however_often_it_is_edited(people):
    model = MLModelFactory()
    incident = incidents.open_incident(actor=people["engineering"], title="Approval rates moved", severity="SEV2",
                                       detection_source="MONITORING", models=[model])
    incidents.update_incident(incident, actor=people["engineering"], summary="More detail")
    other = MLModelFactory()
    incidents.update_incident(incident, actor=people["engineering"], models=[model, other])
    [need] = needs(model, Trigger.INCIDENT)
    assert (need.source_type, need.source_id, need.source_label) == (
        "postmortems.incident", str(incident.pk), f"Incident #{incident.pk}")
    assert len(needs(other, Trigger.INCIDENT)) == 1


def test_a_policy_change_opens_one_need_for_each_model_of_the_tier(people):
    tier1, tier3 = MLModelFactory(risk_tier="TIER_1"), MLModelFactory(risk_tier="TIER_3")
    policies.ensure_default_policies()
    change = policies.propose_change(TierPolicy.objects.get(tier="TIER_1"), actor=people["data_science"],
                                     operation="SET_THRESHOLDS", rationale="Tighter PSI",
                                     payload={"air_floor": 0.8, "eo_max_diff": 0.1, "psi_act": 0.15,
                                              "psi_watch": 0.1, "min_group_count": 30, "null_rate_tolerance": 0.05})
    policies.approve_change(change, actor=people["model_risk"], password=PASSWORD)
    [need] = needs(tier1, Trigger.POLICY_CHANGE)
    assert (need.source_type, need.source_id) == ("governance.policychange", str(change.pk))
    assert needs(tier3, Trigger.POLICY_CHANGE) == []


def test_a_breached_guardrail_opens_one_need(people):
    launch = approved(people, plan={**SIMPLE, "guardrails": [{**SIMPLE["guardrails"][0], "action": "ALERT"}]})
    start = timezone.now() - timedelta(minutes=30)
    rollouts.start_rollout(launch, actor=people["author"], now=start)
    observe(launch, people["engineering"], "p95_latency_ms", [400] * 5, timezone.now() - timedelta(minutes=10))
    observe(launch, people["engineering"], "p95_latency_ms", [410] * 5, timezone.now() - timedelta(minutes=5))
    [need] = needs(launch.version.model, Trigger.GUARDRAIL_BREACH)
    assert need.source_type == "readiness.guardrail"


def test_an_overdue_incident_action_item_holds_the_gate_until_done(people):
    model = MLModelFactory()
    incident = incidents.open_incident(actor=people["engineering"], title="Drift", severity="SEV2",
                                       detection_source="MONITORING", models=[model])
    item = incidents.add_action_item(incident, actor=people["engineering"], title="Add a drift monitor",
                                     kind="DETECT", owner=people["engineering"], due_date=clock.today())
    assert Hold.objects.filter(model=model, cleared_at=None).count() == 1
    later = clock.now() + timedelta(days=3)
    assert "action_item_overdue" in [r["code"] for r in gate_reasons(model.slug, now=later)]
    incidents.update_action_item(item, actor=people["engineering"], status="DONE")
    assert "action_item_overdue" not in [r["code"] for r in gate_reasons(model.slug, now=later)]


def test_the_launch_page_says_why_model_risk_stops_the_gate(client, people):
    launch = make_launch(author=people["author"], tier="TIER_1")
    inventory.set_materiality(launch.version.model, actor=people["model_risk"], password=PASSWORD, exposure="HIGH",
                              purpose="CUSTOMER_DECISION", reason="Credit")
    client.force_login(people["author"])
    page = client.get(launch.get_absolute_url()).content.decode()
    assert "no_current_validation" in page
