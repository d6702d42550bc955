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


def test_items_come_from_the_tier_template(cast):
    launch = make_launch(author=cast["author"], tier="TIER_1")
    keys = set(launch.items.values_list("key", flat=True))
    assert {"model_card", "design_review", "dataset_diff_psi", "fairness_air", "shadow_fairness",
            "rollback_plan", "on_call"} <= keys


def test_third_party_feature_without_assessment_produces_failing_blocking_items(cast):
    launch = make_launch(author=cast["author"], third_party=True)
    items = launch.items.filter(source=ItemSource.FEATURE_CONTROL)
    assert {i.key for i in items} == {"feature:device_score:proxy_risk", "feature:device_score:vendor_sla",
                                      "feature:device_score:drift_monitor"}
    assert all(i.blocking and i.status == ItemStatus.FAIL for i in items)


def test_recording_the_controls_in_the_inventory_passes_the_items(cast):
    launch = make_launch(author=cast["author"], third_party=True)
    feature = launch.version.features.get(name="device_score")
    inventory.update_feature(feature, actor=cast["compliance"], proxy_risk_status="ASSESSED_MITIGATED",
                             proxy_risk_ref="https://wiki/proxy-risk/42", vendor_sla_ref="SLA-2024-07",
                             drift_monitor_ref="monitor://device_score")
    statuses = set(launch.items.filter(source=ItemSource.FEATURE_CONTROL).values_list("status", flat=True))
    assert statuses == {ItemStatus.PASS}


def test_automatic_items_are_missing_until_an_evaluation_arrives(cast):
    launch = make_launch(author=cast["author"])
    assert launch.items.get(key="dataset_diff_psi").status == ItemStatus.MISSING


@pytest.mark.parametrize("metrics,expected", [
    ({"psi.max": 0.12}, "PASS"),
    ({"psi.max": 0.31}, "FAIL"),
    ({"auc": 0.8}, "MISSING"),
])
def test_psi_rule_is_evaluated_on_each_evaluation(cast, metrics, expected):
    launch = make_launch(author=cast["author"])
    services.submit_evaluation(launch, actor=cast["ds"], metrics=metrics)
    assert launch.items.get(key="dataset_diff_psi").status == expected


def test_interval_straddling_the_floor_is_inconclusive_and_blocks(cast):
    launch = make_launch(author=cast["author"])
    services.submit_evaluation(launch, actor=cast["ds"], metrics={
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
def test_bad_metrics_are_refused_and_nothing_is_stored(cast, metrics, field):
    launch = make_launch(author=cast["author"])
    with pytest.raises(ValidationFailed) as info:
        services.submit_evaluation(launch, actor=cast["ds"], metrics=metrics)
    assert info.value.field == field and not launch.evaluations.exists()


def test_pass_attestation_needs_evidence(cast):
    launch = make_launch(author=cast["author"])
    item = launch.items.get(key="model_card")
    with pytest.raises(ValidationFailed) as info:
        services.attest_item(item, actor=cast["ds"], outcome="PASS")
    assert info.value.field == "evidence_text"
    item.refresh_from_db()
    assert item.status == ItemStatus.PENDING and not item.responses.exists()


def test_viewer_cannot_attest(cast):
    launch = make_launch(author=cast["author"])
    with pytest.raises(PermissionDenied):
        services.attest_item(launch.items.get(key="model_card"), actor=cast["viewer"], outcome="PASS",
                             evidence_text="x")


def test_automatic_items_cannot_be_attested(cast):
    launch = make_launch(author=cast["author"])
    with pytest.raises(Conflict):
        services.attest_item(launch.items.get(key="dataset_diff_psi"), actor=cast["ds"], outcome="PASS",
                             evidence_text="trust me")


def _failing_launch_in_review(cast):
    launch = make_launch(author=cast["author"], tier="TIER_2")
    pass_everything(launch, attester=cast["ds"], metrics={"psi.max": 0.25, "fairness.air": 0.9})
    services.submit_for_review(launch, actor=cast["author"])
    for person, role in (("ds", "DATA_SCIENCE"), ("product", "PRODUCT")):
        launch.refresh_from_db()
        services.sign_off(launch, actor=cast[person], role=role, decision="APPROVE", password=PASSWORD,
                          content_hash=launch.content_hash)
    launch.refresh_from_db()
    return launch


def test_failing_blocking_item_holds_approval_until_waived(cast):
    launch = _failing_launch_in_review(cast)
    assert launch.status == LaunchStatus.IN_REVIEW
    item = launch.items.get(key="dataset_diff_psi")
    services.waive_item(item, actor=cast["mrm"], reason="Known seasonal shift; monitored daily.",
                        expires_at=timezone.now() + timedelta(days=30))
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.APPROVED


def test_waiver_needs_reason_and_future_expiry(cast):
    launch = _failing_launch_in_review(cast)
    item = launch.items.get(key="dataset_diff_psi")
    with pytest.raises(ValidationFailed) as info:
        services.waive_item(item, actor=cast["mrm"], reason=" ", expires_at=timezone.now() + timedelta(days=1))
    assert info.value.field == "reason"
    with pytest.raises(ValidationFailed) as info:
        services.waive_item(item, actor=cast["mrm"], reason="ok", expires_at=timezone.now() - timedelta(days=1))
    assert info.value.field == "expires_at"
    assert not Waiver.objects.exists()


@pytest.mark.parametrize("who", ["ds", "legal", "product", "viewer"])
def test_only_model_risk_or_compliance_may_waive(cast, who):
    launch = _failing_launch_in_review(cast)
    with pytest.raises(PermissionDenied):
        services.waive_item(launch.items.get(key="dataset_diff_psi"), actor=cast[who], reason="r",
                            expires_at=timezone.now() + timedelta(days=1))


def test_the_requester_cannot_waive_their_own_launch(cast):
    author = make_user("riskyauthor", Role.DATA_SCIENCE, Role.MODEL_RISK)
    launch = make_launch(author=author, tier="TIER_3")
    with pytest.raises(PermissionDenied) as caught:
        services.waive_item(launch.items.get(key="dataset_diff_psi"), actor=author, reason="r",
                            expires_at=timezone.now() + timedelta(days=1))
    assert caught.value.code == "separation_of_duties"


def test_expired_waiver_stops_counting(cast):
    launch = _failing_launch_in_review(cast)
    item = launch.items.get(key="dataset_diff_psi")
    waiver = services.waive_item(item, actor=cast["compliance"], reason="Seasonal",
                                 expires_at=timezone.now() + timedelta(hours=1))
    assert services.blocking_item_ok(ChecklistItem.objects.prefetch_related("waivers").get(pk=item.pk))
    Waiver.objects.filter(pk=waiver.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert not services.blocking_item_ok(ChecklistItem.objects.prefetch_related("waivers").get(pk=item.pk))


def test_attestation_after_signing_stales_the_signature(cast):
    launch = make_launch(author=cast["author"], tier="TIER_3")
    pass_everything(launch, attester=cast["ds"])
    services.submit_for_review(launch, actor=cast["author"])
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.IN_REVIEW
    services.attest_item(launch.items.get(key="rollback_plan"), actor=cast["ds"], outcome="FAIL",
                         evidence_text="Runbook link is dead")
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.IN_REVIEW
