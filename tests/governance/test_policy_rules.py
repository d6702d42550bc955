"""The tier policies' rules on plain values, without a database: which roles sign, how the default checklist's
automatic items judge an evaluation's metrics, which rollout plans a tier accepts, and which policy changes
are refused (with the field named). The services apply these same functions to stored launches; the tests of
the services check only that they do."""

from types import SimpleNamespace

import pytest

from governance.kernel.errors import ValidationFailed
from governance.policies.defaults import DEFAULTS
from governance.policies.expressions import FAIL, INCONCLUSIVE, MISSING, PASS, evaluate_rule, parse_rule
from governance.policies.rules import apply_change, validate_stages
from readiness.services import required_roles_for

NEW_ITEM = {"key": "vendor_change_notice", "title": "Vendor change notice process", "category": "third_party",
            "kind": "MANUAL", "blocking": True, "guidance": "Vendors tell us before they change a field."}
TIER_1_SHADOW = DEFAULTS["TIER_1"]["rollout"]["min_shadow_minutes"]


def policy(tier):
    return SimpleNamespace(content=DEFAULTS[tier])


def version(*protected):
    return SimpleNamespace(model=SimpleNamespace(protected_attributes=list(protected)))


def rule_of(item_key, tier="TIER_1"):
    return parse_rule(next(item["rule"] for item in DEFAULTS[tier]["checklist"] if item["key"] == item_key))


# -- who signs ----------------------------------------------------------------------------------------------

def test_tier_1_needs_four_roles():
    assert required_roles_for(version(), policy("TIER_1")) == ["DATA_SCIENCE", "COMPLIANCE", "LEGAL", "MODEL_RISK"]


def test_tier_2_adds_compliance_when_a_protected_attribute_is_monitored():
    assert required_roles_for(version(), policy("TIER_2")) == ["DATA_SCIENCE", "PRODUCT"]
    assert required_roles_for(version("race"), policy("TIER_2")) == ["DATA_SCIENCE", "PRODUCT", "COMPLIANCE"]


def test_a_role_the_tier_already_requires_is_not_added_twice():
    tier_2 = policy("TIER_2")
    both = SimpleNamespace(content={**tier_2.content, "required_roles": ["DATA_SCIENCE", "COMPLIANCE"]})
    assert required_roles_for(version("race"), both) == ["DATA_SCIENCE", "COMPLIANCE"]


# -- the default checklist's automatic items ----------------------------------------------------------------

@pytest.mark.parametrize("metrics,verdict", [
    ({"psi.max": 0.12}, PASS),
    ({"psi.max": 0.2}, PASS),
    ({"psi.max": 0.31}, FAIL),
    ({"auc": 0.8}, MISSING),
])
def test_the_psi_item_judges_the_largest_drift(metrics, verdict):
    assert evaluate_rule(rule_of("dataset_diff_psi"), metrics).verdict == verdict


def test_an_interval_straddling_the_fairness_floor_is_inconclusive():
    result = evaluate_rule(rule_of("fairness_air"), {
        "fairness.air": 0.83, "fairness.air.ci_low": 0.74, "fairness.air.ci_high": 0.91,
        "fairness.air.n_required": 5200})
    assert (result.verdict, result.n_required) == (INCONCLUSIVE, 5200)


def test_every_automatic_default_item_has_a_rule_that_parses():
    for tier, content in DEFAULTS.items():
        for item in content["checklist"]:
            if item["kind"] == "AUTOMATIC":
                assert parse_rule(item["rule"]), (tier, item["key"])


# -- rollout plans ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stages,field", [
    ([{"name": "a", "traffic_percent": 150, "min_duration_minutes": 1}], "stages[0].traffic_percent"),
    ([{"name": "a", "traffic_percent": 50}, {"name": "b", "traffic_percent": 10},
      {"name": "c", "traffic_percent": 100}], "stages[1].traffic_percent"),
    ([{"name": "a", "traffic_percent": 50}], "stages[0].traffic_percent"),
    ([{"name": "a", "traffic_percent": 10}, {"name": "a", "traffic_percent": 100}], "stages[1].name"),
    ([{"name": "Canary", "traffic_percent": 100}], "stages[0].name"),
    ([{"name": "a", "traffic_percent": 100, "approval_role": "CEO"}], "stages[0].approval_role"),
    ([], "stages"),
])
def test_plan_validation_names_the_field(stages, field):
    with pytest.raises(ValidationFailed) as caught:
        validate_stages(stages, tier="TIER_2", min_shadow_minutes=0)
    assert caught.value.field == field


@pytest.mark.parametrize("stages,code,field", [
    ([{"name": "canary", "traffic_percent": 5}, {"name": "full", "traffic_percent": 100}],
     "shadow_required", "stages[0].traffic_percent"),
    ([{"name": "shadow", "traffic_percent": 0, "min_duration_minutes": TIER_1_SHADOW - 1},
      {"name": "full", "traffic_percent": 100}], "shadow_too_short", "stages[0].min_duration_minutes"),
])
def test_a_tier_1_plan_starts_with_a_shadow_as_long_as_the_policy_says(stages, code, field):
    with pytest.raises(ValidationFailed) as caught:
        validate_stages(stages, tier="TIER_1", min_shadow_minutes=TIER_1_SHADOW)
    assert (caught.value.code, caught.value.field) == (code, field)


def test_a_long_enough_shadow_is_accepted_and_other_tiers_need_none():
    shadow = [{"name": "shadow", "traffic_percent": 0, "min_duration_minutes": TIER_1_SHADOW},
              {"name": "full", "traffic_percent": 100}]
    assert validate_stages(shadow, tier="TIER_1", min_shadow_minutes=TIER_1_SHADOW)[0]["name"] == "shadow"
    straight = [{"name": "full", "traffic_percent": 100}]
    assert validate_stages(straight, tier="TIER_2", min_shadow_minutes=TIER_1_SHADOW)[0]["traffic_percent"] == 100


# -- policy changes -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("operation,payload,field", [
    ("ADD_CHECKLIST_ITEM", {**NEW_ITEM, "key": "model_card"}, "payload.key"),
    ("ADD_CHECKLIST_ITEM", {**NEW_ITEM, "kind": "AUTOMATIC", "rule": "psi.max <= lots"}, "payload.rule"),
    ("SET_REQUIRED_ROLES", {"required_roles": ["DATA_SCIENCE", "CEO"]}, "payload.required_roles"),
    ("SET_THRESHOLDS", {"air_floor": 1.5}, "payload.air_floor"),
    ("ADD_GUARDRAIL", {"metric": "approval_air", "comparator": ">=", "threshold": 0.8, "action": "EXPLODE"},
     "payload.action"),
    ("SET_ROLLOUT", {"stages": [{"name": "canary", "traffic_percent": 150}]}, "payload.stages[0].traffic_percent"),
    ("TEAR_UP", {}, "operation"),
])
def test_invalid_changes_are_refused_with_the_field_named(operation, payload, field):
    with pytest.raises(ValidationFailed) as caught:
        apply_change(DEFAULTS["TIER_1"], operation, payload, tier="TIER_1")
    assert caught.value.field == field


def test_a_tier_1_rollout_change_keeps_a_long_enough_shadow():
    payload = {"min_shadow_minutes": TIER_1_SHADOW, "stages": [
        {"name": "shadow", "traffic_percent": 0, "min_duration_minutes": 60},
        {"name": "full", "traffic_percent": 100}]}
    with pytest.raises(ValidationFailed) as caught:
        apply_change(DEFAULTS["TIER_1"], "SET_ROLLOUT", payload, tier="TIER_1")
    assert (caught.value.code, caught.value.field) == ("shadow_too_short", "payload.stages[0].min_duration_minutes")


def test_a_valid_change_returns_new_content_and_leaves_the_old_alone():
    before = [item["key"] for item in DEFAULTS["TIER_1"]["checklist"]]
    after = apply_change(DEFAULTS["TIER_1"], "ADD_CHECKLIST_ITEM", NEW_ITEM, tier="TIER_1")
    assert [item["key"] for item in after["checklist"]] == [*before, "vendor_change_notice"]
    assert [item["key"] for item in DEFAULTS["TIER_1"]["checklist"]] == before
