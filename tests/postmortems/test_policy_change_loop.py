"""The loop from incident to mechanism: an action item proposes a change to a tier's template, a second
person approves it under the policy two-person rule, and future launches carry it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.kernel.errors import Conflict, ValidationFailed
from governance.models import PolicyChange
from governance.policies import services as policies
from postmortems import services
from postmortems.models import ActionItem
from tests.factories import PASSWORD
from tests.postmortems.helpers import open_incident

pytestmark = pytest.mark.django_db

CHECKLIST_ITEM = {
    "key": "vendor_schema_sla", "title": "Vendor schema-stability SLA for every third-party feature",
    "category": "third_party", "kind": "MANUAL", "blocking": True,
    "guidance": "A vendor that changes how a field is populated must tell us first; link the signed SLA.",
}


@pytest.fixture
def item(people):
    incident = open_incident(people["compliance"], title="Fair-lending proxy", fair_lending=True)
    return services.add_action_item(incident, actor=people["compliance"], kind="PREVENT",
                                    title="Require a vendor schema SLA before launch",
                                    owner=people["data_science"], due_date=timezone.localdate() + timedelta(days=30))


def test_an_approved_proposal_changes_the_tier_1_checklist_and_the_item_shows_it(client, item, people):
    proposer, approver = people["data_science"], people["compliance"]
    before = policies.current_version("TIER_1")
    change = services.propose_policy_change_for_action_item(
        item, actor=proposer, tier="TIER_1", operation="ADD_CHECKLIST_ITEM", payload=CHECKLIST_ITEM,
        rationale="The lending incident had no vendor SLA on the device feature.")
    assert ActionItem.objects.get(pk=item.pk).policy_change == change
    assert change.status == "PENDING"
    assert "vendor_schema_sla" not in [i["key"] for i in policies.current_version("TIER_1").content["checklist"]]

    policies.approve_change(change, actor=approver, password=PASSWORD)

    after = policies.current_version("TIER_1")
    assert after.number == before.number + 1
    assert "vendor_schema_sla" in [i["key"] for i in after.content["checklist"]]
    client.force_login(people["viewer"])
    html = client.get(item.get_absolute_url()).content.decode()
    assert "Vendor schema-stability SLA for every third-party feature" in html
    assert "Approved" in html and f"Tier 1 policy version {after.number}" in html
    assert f'href="/policies/TIER_1/#change-{change.pk}"' in html
    incident_page = client.get(item.incident.get_absolute_url()).content.decode()
    assert f"{item.get_absolute_url()}#policy-change" in incident_page


def test_the_proposer_cannot_approve_their_own_change(item, people):
    compliance = people["compliance"]
    change = services.propose_policy_change_for_action_item(
        item, actor=compliance, tier="TIER_1", operation="ADD_CHECKLIST_ITEM", payload=CHECKLIST_ITEM,
        rationale="Second person rule.")
    with pytest.raises(ValidationFailed):
        policies.approve_change(change, actor=compliance, password=PASSWORD)
    assert PolicyChange.objects.get(pk=change.pk).status == "PENDING"


def test_a_guardrail_can_be_proposed_for_the_rollout_template(item, people):
    guardrail = {"metric": "fairness.air", "comparator": "<", "threshold": 0.8, "window_minutes": 60,
                 "failure_limit": 3, "action": "ROLLBACK"}
    change = services.propose_policy_change_for_action_item(
        item, actor=people["data_science"], tier="TIER_1", operation="ADD_GUARDRAIL", payload=guardrail,
        rationale="A circuit breaker would have halted scoring.")
    policies.approve_change(change, actor=people["model_risk"], password=PASSWORD)
    guardrails = policies.current_version("TIER_1").content["rollout"]["guardrails"]
    assert any(g["metric"] == "fairness.air" and g["threshold"] == 0.8 and g["action"] == "ROLLBACK"
               for g in guardrails)


def test_only_template_additions_are_proposed_from_an_action_item(item, people):
    with pytest.raises(ValidationFailed) as info:
        services.propose_policy_change_for_action_item(
            item, actor=people["data_science"], tier="TIER_1", operation="SET_THRESHOLDS",
            payload={"air_floor": 0.5}, rationale="Looser.")
    assert info.value.field == "operation"


def test_a_malformed_payload_names_its_field_and_links_nothing(item, people):
    with pytest.raises(ValidationFailed) as info:
        services.propose_policy_change_for_action_item(
            item, actor=people["data_science"], tier="TIER_1", operation="ADD_CHECKLIST_ITEM",
            payload={**CHECKLIST_ITEM, "key": "Not A Key"}, rationale="x")
    assert info.value.field == "payload.key"
    assert ActionItem.objects.get(pk=item.pk).policy_change is None
    assert not PolicyChange.objects.exists()


def test_one_live_proposal_per_item(item, people):
    services.propose_policy_change_for_action_item(
        item, actor=people["data_science"], tier="TIER_1", operation="ADD_CHECKLIST_ITEM", payload=CHECKLIST_ITEM,
        rationale="First.")
    with pytest.raises(Conflict):
        services.propose_policy_change_for_action_item(
            item, actor=people["data_science"], tier="TIER_2", operation="ADD_CHECKLIST_ITEM",
            payload=CHECKLIST_ITEM, rationale="Second.")


def test_a_rejected_proposal_can_be_replaced(item, people):
    first = services.propose_policy_change_for_action_item(
        item, actor=people["data_science"], tier="TIER_1", operation="ADD_CHECKLIST_ITEM", payload=CHECKLIST_ITEM,
        rationale="First.")
    policies.reject_change(first, actor=people["compliance"], note="Make it TIER_2 as well.")
    second = services.propose_policy_change_for_action_item(
        item, actor=people["data_science"], tier="TIER_2", operation="ADD_CHECKLIST_ITEM", payload=CHECKLIST_ITEM,
        rationale="Second.")
    assert ActionItem.objects.get(pk=item.pk).policy_change == second


def test_proposing_through_the_item_page(client, item, people):
    client.force_login(people["data_science"])
    response = client.post(item.get_absolute_url(), {
        "propose": "1", "tier": "TIER_1", "operation": "ADD_CHECKLIST_ITEM", "rationale": "From the postmortem.",
        "key": "vendor_schema_sla", "title": "Vendor SLA", "category": "third_party", "blocking": "on",
        "guidance": "Link the SLA."})
    assert response.status_code == 302
    change = ActionItem.objects.get(pk=item.pk).policy_change
    assert change.payload["key"] == "vendor_schema_sla" and change.proposed_by == people["data_science"]


def test_a_refused_proposal_shows_the_error_next_to_its_field(client, item, people):
    client.force_login(people["data_science"])
    response = client.post(item.get_absolute_url(), {
        "propose": "1", "tier": "TIER_1", "operation": "ADD_CHECKLIST_ITEM", "rationale": "x",
        "key": "BAD KEY", "title": "Vendor SLA", "category": "third_party", "guidance": "g"})
    assert response.status_code == 200
    assert "key" in response.context["policy_form"].errors
