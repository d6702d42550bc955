"""Checklist items: templates, third-party feature controls, automatic rules, attestation and waivers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.inventory import services as inventory
from governance.kernel.errors import Conflict, PermissionDenied, ValidationFailed
from governance.kernel.roles import Role
from readiness import services
from readiness.models import ChecklistItem, ItemSource, ItemStatus, LaunchStatus, Waiver
from tests.factories import PASSWORD, make_launch, make_user, pass_everything

pytestmark = pytest.mark.django_db


def test_items_come_from_the_tier_template(people):
    launch = make_launch(author=people["author"], tier="TIER_1")
    keys = set(launch.items.values_list("key", flat=True))
    assert {"model_card", "design_review", "dataset_diff_psi", "fairness_air", "shadow_fairness",
            "rollback_plan", "on_call"} <= keys


def test_third_party_feature_without_assessment_produces_failing_blocking_items(people):
    launch = make_launch(author=people["author"], third_party=True)
    items = launch.items.filter(source=ItemSource.FEATURE_CONTROL)
    assert {i.key for i in items} == {"feature:device_score:proxy_risk", "feature:device_score:vendor_sla",
                                      "feature:device_score:drift_monitor"}
    assert all(i.blocking and i.status == ItemStatus.FAIL for i in items)


def test_recording_the_controls_in_the_inventory_passes_the_items(people):
    launch = make_launch(author=people["author"], third_party=True)
    feature = launch.version.features.get(name="device_score")
    inventory.update_feature(feature, actor=people["compliance"], proxy_risk_status="ASSESSED_MITIGATED",
                             proxy_risk_ref="https://wiki/proxy-risk/42", vendor_sla_ref="SLA-2024-07",
                             drift_monitor_ref="monitor://device_score")
    statuses = set(launch.items.filter(source=ItemSource.FEATURE_CONTROL).values_list("status", flat=True))
    assert statuses == {ItemStatus.PASS}


def test_automatic_items_are_missing_until_an_evaluation_arrives(people):
    launch = make_launch(author=people["author"])
    assert launch.items.get(key="dataset_diff_psi").status == ItemStatus.MISSING


def test_each_evaluation_re_evaluates_the_automatic_items(people):
    """The rules' verdicts are tested on plain values in tests/governance/test_policy_rules.py."""
    launch = make_launch(author=people["author"])
    services.submit_evaluation(launch, actor=people["data_science"], metrics={"psi.max": 0.12})
    assert launch.items.get(key="dataset_diff_psi").status == "PASS"
    services.submit_evaluation(launch, actor=people["data_science"], metrics={"psi.max": 0.31})
    assert launch.items.get(key="dataset_diff_psi").status == "FAIL"


def test_interval_straddling_the_floor_is_inconclusive_and_blocks(people):
    launch = make_launch(author=people["author"])
    services.submit_evaluation(launch, actor=people["data_science"], metrics={
        "fairness.air": 0.83, "fairness.air.ci_low": 0.74, "fairness.air.ci_high": 0.91,
        "fairness.air.n_required": 5200})
    item = launch.items.get(key="fairness_air")
    assert item.status == "INCONCLUSIVE" and item.result["n_required"] == 5200


@pytest.mark.parametrize("metrics,field", [
    ({"auc": "high"}, "metrics.auc"),
    ({"auc": float("nan")}, "metrics.auc"),
    ({"auc": float("inf")}, "metrics.auc"),
    ({"AUC": 0.8}, "metrics.AUC"),
    ({"auc": True}, "metrics.auc"),
    ({}, "metrics"),
])
def test_bad_metrics_are_refused_and_nothing_is_stored(people, metrics, field):
    launch = make_launch(author=people["author"])
    with pytest.raises(ValidationFailed) as info:
        services.submit_evaluation(launch, actor=people["data_science"], metrics=metrics)
    assert info.value.field == field and not launch.evaluations.exists()


def test_pass_attestation_needs_evidence(people):
    launch = make_launch(author=people["author"])
    item = launch.items.get(key="model_card")
    with pytest.raises(ValidationFailed) as info:
        services.attest_item(item, actor=people["data_science"], outcome="PASS")
    assert info.value.field == "evidence_text"
    item.refresh_from_db()
    assert item.status == ItemStatus.PENDING and not item.responses.exists()


def test_viewer_cannot_attest(people):
    launch = make_launch(author=people["author"])
    with pytest.raises(PermissionDenied):
        services.attest_item(launch.items.get(key="model_card"), actor=people["viewer"], outcome="PASS",
                             evidence_text="x")


def test_automatic_items_cannot_be_attested(people):
    launch = make_launch(author=people["author"])
    with pytest.raises(Conflict):
        services.attest_item(launch.items.get(key="dataset_diff_psi"), actor=people["data_science"], outcome="PASS",
                             evidence_text="trust me")


def _failing_launch_in_review(people):
    launch = make_launch(author=people["author"], tier="TIER_2")
    pass_everything(launch, attester=people["data_science"], metrics={"psi.max": 0.25, "fairness.air": 0.9})
    services.submit_for_review(launch, actor=people["author"])
    for person, role in (("data_science", "DATA_SCIENCE"), ("product", "PRODUCT")):
        launch.refresh_from_db()
        services.sign_off(launch, actor=people[person], role=role, decision="APPROVE", password=PASSWORD,
                          content_hash=launch.content_hash)
    launch.refresh_from_db()
    return launch


def test_failing_blocking_item_holds_approval_until_waived(people):
    launch = _failing_launch_in_review(people)
    assert launch.status == LaunchStatus.IN_REVIEW
    item = launch.items.get(key="dataset_diff_psi")
    services.waive_item(item, actor=people["model_risk"], reason="Known seasonal shift; monitored daily.",
                        expires_at=timezone.now() + timedelta(days=30), password=PASSWORD)
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.APPROVED


def test_waiver_needs_reason_and_future_expiry(people):
    launch = _failing_launch_in_review(people)
    item = launch.items.get(key="dataset_diff_psi")
    with pytest.raises(ValidationFailed) as info:
        services.waive_item(item, actor=people["model_risk"], reason=" ", expires_at=timezone.now() + timedelta(days=1),
                            password=PASSWORD)
    assert info.value.field == "reason"
    with pytest.raises(ValidationFailed) as info:
        services.waive_item(item, actor=people["model_risk"], reason="ok", expires_at=timezone.now() - timedelta(days=1),
                            password=PASSWORD)
    assert info.value.field == "expires_at"
    assert not Waiver.objects.exists()


@pytest.mark.parametrize("who", ["data_science", "legal", "product", "viewer"])
def test_only_model_risk_or_compliance_may_waive(people, who):
    launch = _failing_launch_in_review(people)
    with pytest.raises(PermissionDenied):
        services.waive_item(launch.items.get(key="dataset_diff_psi"), actor=people[who], reason="r",
                            expires_at=timezone.now() + timedelta(days=1), password=PASSWORD)


def test_the_requester_cannot_waive_their_own_launch(people):
    author = make_user("riskyauthor", Role.DATA_SCIENCE, Role.MODEL_RISK)
    launch = make_launch(author=author, tier="TIER_3")
    with pytest.raises(PermissionDenied) as caught:
        services.waive_item(launch.items.get(key="dataset_diff_psi"), actor=author, reason="r",
                            expires_at=timezone.now() + timedelta(days=1), password=PASSWORD)
    assert caught.value.code == "separation_of_duties"


def test_expired_waiver_stops_counting(people):
    launch = _failing_launch_in_review(people)
    item = launch.items.get(key="dataset_diff_psi")
    waiver = services.waive_item(item, actor=people["compliance"], reason="Seasonal",
                                 expires_at=timezone.now() + timedelta(hours=1), password=PASSWORD)
    assert services.blocking_item_ok(ChecklistItem.objects.prefetch_related("waivers").get(pk=item.pk))
    Waiver.objects.filter(pk=waiver.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert not services.blocking_item_ok(ChecklistItem.objects.prefetch_related("waivers").get(pk=item.pk))


def test_attestation_after_signing_stales_the_signature(people):
    launch = make_launch(author=people["author"], tier="TIER_3")
    pass_everything(launch, attester=people["data_science"])
    services.submit_for_review(launch, actor=people["author"])
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.IN_REVIEW
    services.attest_item(launch.items.get(key="rollback_plan"), actor=people["data_science"], outcome="FAIL",
                         evidence_text="Runbook link is dead")
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.IN_REVIEW


def test_a_waiver_asks_for_the_waiver_password_and_grants_nothing_without_it(people, client):
    """A waiver can let a launch ship, so it is confirmed like a signature: a missing or wrong password leaves
    the item failing and the launch in review."""
    launch = _failing_launch_in_review(people)
    item = launch.items.get(key="dataset_diff_psi")
    until = timezone.now() + timedelta(days=30)
    for password, code in ((None, "password_required"), ("wrong horse", "invalid")):
        with pytest.raises(ValidationFailed) as refused:
            services.waive_item(item, actor=people["model_risk"], reason="Seasonal", expires_at=until,
                                password=password)
        assert refused.value.field == "password" and refused.value.code == code
    client.force_login(people["model_risk"])
    url = f"/launches/{launch.pk}/items/{item.pk}/waive/"
    soon = timezone.localtime(until).strftime("%Y-%m-%dT%H:%M")
    assert 'type="password"' in client.get(url).content.decode()
    response = client.post(url, {"reason": "Seasonal", "expires_at": soon})
    assert response.status_code == 200 and response.context["form"].errors["password"]
    assert not Waiver.objects.exists()
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.IN_REVIEW
    response = client.post(url, {"reason": "Seasonal", "expires_at": soon, "password": PASSWORD})
    assert response.status_code == 302 and Waiver.objects.count() == 1
    from governance.kernel.models import AuditEvent

    assert AuditEvent.objects.get(verb="checklist.waived").after["confirmed_by"] == "password"


def test_revoking_a_waiver_needs_no_password(people):
    """Revoking only ever stops a launch: a brake is not slowed by a password prompt."""
    launch = _failing_launch_in_review(people)
    waiver = services.waive_item(launch.items.get(key="dataset_diff_psi"), actor=people["model_risk"],
                                 reason="Seasonal", expires_at=timezone.now() + timedelta(days=3), password=PASSWORD)
    assert services.revoke_waiver(waiver, actor=people["compliance"], reason="The shift is not seasonal").revoked_at
