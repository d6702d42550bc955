"""The registry obeys the gate: a governed alias moved by hand to a version without a current allow is put back
(guard ``revert``) or only reported (guard ``report``), with an incident, audit events and alias history rows; the
version Gatehouse approves carries an approval tag naming its signed gate receipt. All against a real MLflow."""

import pytest

from governance.models import AuditEvent
from postmortems.models import Incident
from postmortems.severity import self_opened_severity
from readiness import gate, rollouts
from registry import services
from registry.models import AliasActuation, AliasMove, AliasState, ApprovalTag

from .conftest import free_port
from .helpers import alias_of, approved_launch, linked_model, roll_out_to_full

pytestmark = [pytest.mark.django_db, pytest.mark.mlflow, pytest.mark.xdist_group("mlflow")]


def version_tags(client, name, version):
    return dict(client.get_model_version(name, str(version)).tags)


@pytest.fixture
def three_versions(people, mlflow_on, registered, register_version):
    """A linked TIER_2 model (guard: the tier's default, revert) with three MLflow versions synced in."""

    def make(guard=""):
        model, link = linked_model(people, registered, guard=guard)
        for digit in "123":
            register_version(registered, digest=digit * 64)
        services.sync_link(link)
        versions = {v.mlflow.mlflow_version: v for v in model.versions.select_related("mlflow")}
        return link, versions

    return make


@pytest.fixture
def champion_at_2(people, three_versions, django_capture_on_commit_callbacks):
    def make(guard=""):
        link, versions = three_versions(guard)
        with django_capture_on_commit_callbacks(execute=True):
            launch = approved_launch(people, versions[2])
            roll_out_to_full(people, launch)
        return link, versions, launch

    return make


def guard_sync(link, capture):
    """One sync, with what it schedules after commit (the correction) run as the worker would."""
    with capture(execute=True):
        return services.sync_link(link)


# -- the approval tag ----------------------------------------------------------------------------------------

def test_entering_a_mapped_stage_tags_the_version_with_a_signed_receipt(people, champion_at_2, mlflow_client):
    link, versions, launch = champion_at_2()
    tags = version_tags(mlflow_client, link.registered_model, 2)
    approval = ApprovalTag.objects.get(launch=launch)
    assert tags["gatehouse.full"] == approval.receipt_id
    assert "gatehouse.canary" not in tags  # canary maps to no alias here, so it is not a governed position
    assert approval.status == ApprovalTag.Status.SET and approval.key == "gatehouse.full"
    check = gate.verify_receipt(approval.receipt, now=approval.issued_at,
                                expect={"model": link.model.slug, "version": "2", "stage": "full"})
    assert check.valid and check.verdict["decision"] == "allow" and check.verdict["jti"] == approval.receipt_id
    assert AliasActuation.objects.get(launch=launch, kind="STAGE").receipt_id == approval.receipt_id
    assert AuditEvent.objects.filter(verb="registry.approval_tag_set").count() == 1


def test_the_approval_tag_is_set_before_the_alias_and_retried_with_it(people, three_versions, settings,
                                                                      mlflow_client,
                                                                      django_capture_on_commit_callbacks):
    link, versions = three_versions()
    launch = approved_launch(people, versions[2])
    up = settings.MLFLOW_TRACKING_URI
    settings.MLFLOW_TRACKING_URI = f"http://127.0.0.1:{free_port()}"
    with django_capture_on_commit_callbacks(execute=True):
        roll_out_to_full(people, launch)
    assert ApprovalTag.objects.get(launch=launch).status == ApprovalTag.Status.PENDING
    assert "gatehouse.full" not in version_tags(mlflow_client, link.registered_model, 2)

    settings.MLFLOW_TRACKING_URI = up
    assert services.retry_pending()["applied"] == 1
    assert ApprovalTag.objects.get(launch=launch).status == ApprovalTag.Status.SET
    assert version_tags(mlflow_client, link.registered_model, 2)["gatehouse.full"]
    assert alias_of(mlflow_client, link.registered_model, "champion") == 2


# -- revert ----------------------------------------------------------------------------------------------------

def test_a_hand_move_is_put_back_within_one_sync_with_an_incident(champion_at_2, mlflow_client,
                                                                 django_capture_on_commit_callbacks):
    link, _, launch = champion_at_2()
    mlflow_client.set_registered_model_alias(link.registered_model, "champion", "1")  # by hand, no sign-off

    guard_sync(link, django_capture_on_commit_callbacks)

    assert alias_of(mlflow_client, link.registered_model, "champion") == 2
    [incident] = Incident.objects.filter(title__contains=f"{link.registered_model}@champion")
    assert incident.severity == self_opened_severity("TIER_2", 100) == "SEV2"
    assert list(incident.models.values_list("slug", flat=True)) == [link.model.slug]
    correction = AliasActuation.objects.get(kind="GUARD")
    assert (correction.status, correction.target_version, correction.launch_id) == ("APPLIED", 2, launch.pk)
    seen = AuditEvent.objects.get(verb="registry.alias_move_seen")
    assert (seen.after["observed"], seen.after["allowed"], seen.after["mode"]) == (1, 2, "REVERT")
    corrected = AuditEvent.objects.get(verb="registry.alias_corrected")
    assert corrected.after["version"] == 2 and corrected.actor_label == "system:mlflow-alias"
    moves = list(AliasMove.objects.filter(link=link).order_by("at", "pk").values_list("by", "version"))
    assert moves == [("GATEHOUSE", 2), ("HAND", 1), ("GATEHOUSE", 2)]
    assert AliasMove.objects.get(by="HAND").response == "Gatehouse put it back to v2."


def test_the_guard_is_idempotent_across_syncs(champion_at_2, mlflow_client, django_capture_on_commit_callbacks):
    link, _, _ = champion_at_2()
    mlflow_client.set_registered_model_alias(link.registered_model, "champion", "1")
    guard_sync(link, django_capture_on_commit_callbacks)
    counts = (Incident.objects.count(), AliasActuation.objects.count(), AliasMove.objects.count(),
              AuditEvent.objects.filter(verb__startswith="registry.alias").count())

    guard_sync(link, django_capture_on_commit_callbacks)
    guard_sync(link, django_capture_on_commit_callbacks)

    assert (Incident.objects.count(), AliasActuation.objects.count(), AliasMove.objects.count(),
            AuditEvent.objects.filter(verb__startswith="registry.alias").count()) == counts
    assert AliasState.objects.get(link=link, alias="champion").incident is None  # the move is over


def test_a_removed_alias_is_put_back(champion_at_2, mlflow_client, django_capture_on_commit_callbacks):
    link, _, _ = champion_at_2()
    mlflow_client.delete_registered_model_alias(link.registered_model, "champion")
    guard_sync(link, django_capture_on_commit_callbacks)
    assert alias_of(mlflow_client, link.registered_model, "champion") == 2
    assert AliasMove.objects.get(by="HAND").version is None


def test_an_alias_set_by_hand_with_nothing_approved_is_removed(people, three_versions, mlflow_client,
                                                               django_capture_on_commit_callbacks):
    link, _ = three_versions()
    mlflow_client.set_registered_model_alias(link.registered_model, "champion", "3")
    guard_sync(link, django_capture_on_commit_callbacks)
    assert alias_of(mlflow_client, link.registered_model, "champion") is None
    assert AliasMove.objects.get(by="HAND").response == "Gatehouse removed it."
    assert Incident.objects.count() == 1


def test_a_copied_approval_tag_does_not_approve_another_version(champion_at_2, mlflow_client,
                                                                django_capture_on_commit_callbacks):
    link, _, _ = champion_at_2()
    name = link.registered_model
    stolen = version_tags(mlflow_client, name, 2)["gatehouse.full"]
    mlflow_client.set_model_version_tag(name, "3", "gatehouse.full", stolen)  # the receipt is for v2, not v3
    mlflow_client.set_registered_model_alias(name, "champion", "3")
    guard_sync(link, django_capture_on_commit_callbacks)
    assert alias_of(mlflow_client, name, "champion") == 2

    mlflow_client.set_model_version_tag(name, "3", "gatehouse.full", "0" * 32)  # names no receipt at all
    mlflow_client.set_registered_model_alias(name, "champion", "3")
    guard_sync(link, django_capture_on_commit_callbacks)
    assert alias_of(mlflow_client, name, "champion") == 2
    assert AliasActuation.objects.filter(kind="GUARD", status="APPLIED").count() == 2


def test_a_move_to_a_version_still_approved_for_the_stage_is_accepted(people, three_versions, mlflow_client,
                                                                      django_capture_on_commit_callbacks):
    link, versions = three_versions()
    with django_capture_on_commit_callbacks(execute=True):
        roll_out_to_full(people, approved_launch(people, versions[1]))
    with django_capture_on_commit_callbacks(execute=True):
        roll_out_to_full(people, approved_launch(people, versions[2]))
    mlflow_client.set_registered_model_alias(link.registered_model, "champion", "1")  # back to a launched version

    guard_sync(link, django_capture_on_commit_callbacks)

    assert alias_of(mlflow_client, link.registered_model, "champion") == 1
    assert not AliasActuation.objects.filter(kind="GUARD").exists() and not Incident.objects.exists()
    move = AliasMove.objects.get(by="HAND")
    receipt = ApprovalTag.objects.get(mlflow_version=1).receipt_id
    assert move.response == f"Accepted: v1 holds a current approval for full (receipt {receipt})."


# -- report --------------------------------------------------------------------------------------------------

def test_report_mode_leaves_the_move_and_records_it(champion_at_2, mlflow_client,
                                                    django_capture_on_commit_callbacks):
    link, _, _ = champion_at_2(guard="REPORT")
    mlflow_client.set_registered_model_alias(link.registered_model, "champion", "1")
    guard_sync(link, django_capture_on_commit_callbacks)

    assert alias_of(mlflow_client, link.registered_model, "champion") == 1
    assert not AliasActuation.objects.filter(kind="GUARD").exists() and not Incident.objects.exists()
    assert AliasMove.objects.get(by="HAND").response == "Reported only (the model's guard is set to report)."
    assert AuditEvent.objects.get(verb="registry.alias_move_seen").after["mode"] == "REPORT"
    assert AuditEvent.objects.filter(verb="registry.alias_drift_detected").count() == 1


# -- MLflow down, quick moves --------------------------------------------------------------------------------

def test_mlflow_down_during_a_revert_is_retried_and_never_half_written(champion_at_2, mlflow_client, settings,
                                                                       django_capture_on_commit_callbacks):
    link, _, _ = champion_at_2()
    mlflow_client.set_registered_model_alias(link.registered_model, "champion", "1")
    with django_capture_on_commit_callbacks() as scheduled:
        services.sync_link(link)
    up = settings.MLFLOW_TRACKING_URI
    settings.MLFLOW_TRACKING_URI = f"http://127.0.0.1:{free_port()}"
    for callback in scheduled:  # the correction runs after the sync committed, and MLflow has gone away
        callback()

    correction = AliasActuation.objects.get(kind="GUARD")
    assert correction.status == "PENDING" and "Cannot reach MLflow" in correction.last_error
    state = AliasState.objects.get(link=link, alias="champion")
    assert (state.expected_version, state.observed_version) == (2, 1)  # as last known, not as hoped
    assert not AuditEvent.objects.filter(verb="registry.alias_corrected").exists()
    with pytest.raises(services.MlflowUnavailable):
        services.sync_link(link)  # a sync while MLflow is down changes nothing either
    assert AliasActuation.objects.count() == 2 and Incident.objects.count() == 1

    settings.MLFLOW_TRACKING_URI = up
    assert services.retry_pending()["applied"] == 1
    assert alias_of(mlflow_client, link.registered_model, "champion") == 2
    guard_sync(link, django_capture_on_commit_callbacks)
    assert AliasActuation.objects.count() == 2 and Incident.objects.count() == 1


def test_two_quick_hand_moves_end_at_the_approved_version(champion_at_2, mlflow_client,
                                                          django_capture_on_commit_callbacks):
    link, _, _ = champion_at_2()
    name = link.registered_model
    mlflow_client.set_registered_model_alias(name, "champion", "1")
    with django_capture_on_commit_callbacks() as scheduled:
        services.sync_link(link)  # the correction is decided, not applied yet
    mlflow_client.set_registered_model_alias(name, "champion", "3")  # a second move meanwhile
    with django_capture_on_commit_callbacks(execute=True):
        services.sync_link(link)  # sees v3; the waiting correction settles it
        for callback in scheduled:
            callback()

    assert alias_of(mlflow_client, name, "champion") == 2
    assert list(AliasMove.objects.filter(by="HAND").order_by("at", "pk").values_list("version", flat=True)) == [1, 3]
    assert AliasActuation.objects.filter(kind="GUARD").count() == 1 and Incident.objects.count() == 1
    guard_sync(link, django_capture_on_commit_callbacks)
    assert alias_of(mlflow_client, name, "champion") == 2


# -- rollback --------------------------------------------------------------------------------------------------

def test_rollback_with_champion_moved_by_hand_leaves_champion_alone(people, three_versions, mlflow_client,
                                                                    django_capture_on_commit_callbacks):
    from registry.services import set_alias_mapping

    set_alias_mapping(actor=people["compliance"], tier="TIER_2", stage="canary", alias="challenger")
    link, versions = three_versions()
    name = link.registered_model
    with django_capture_on_commit_callbacks(execute=True):
        first = approved_launch(people, versions[1])
        roll_out_to_full(people, first)
    assert (alias_of(mlflow_client, name, "challenger"), alias_of(mlflow_client, name, "champion")) == (1, 1)
    assert set(version_tags(mlflow_client, name, 1)) >= {"gatehouse.canary", "gatehouse.full"}
    mlflow_client.set_registered_model_alias(name, "champion", "2")  # by hand, not yet seen by a sync

    with django_capture_on_commit_callbacks(execute=True):
        rollouts.rollback(first, actor=people["compliance"], reason="Kill switch.")

    assert alias_of(mlflow_client, name, "challenger") is None  # it pointed at the rolled-back version
    assert alias_of(mlflow_client, name, "champion") == 2  # moved elsewhere: not this rollback's business
    assert not {"gatehouse.canary", "gatehouse.full"} & set(version_tags(mlflow_client, name, 1))
    assert set(ApprovalTag.objects.filter(launch=first).values_list("status", flat=True)) == {"REMOVED"}
    assert AuditEvent.objects.filter(verb="registry.alias_change_skipped").count() == 1
    assert AuditEvent.objects.filter(verb="registry.approval_tag_removed").count() == 2


def test_a_rollback_while_mlflow_is_down_removes_the_tag_later(people, champion_at_2, mlflow_client, settings,
                                                               django_capture_on_commit_callbacks):
    link, _, launch = champion_at_2()
    up = settings.MLFLOW_TRACKING_URI
    settings.MLFLOW_TRACKING_URI = f"http://127.0.0.1:{free_port()}"
    with django_capture_on_commit_callbacks(execute=True):
        rollouts.rollback(launch, actor=people["compliance"], reason="Latency.")
    assert ApprovalTag.objects.get(launch=launch).status == "REMOVING"

    settings.MLFLOW_TRACKING_URI = up
    services.retry_pending()
    assert ApprovalTag.objects.get(launch=launch).status == "REMOVED"
    assert "gatehouse.full" not in version_tags(mlflow_client, link.registered_model, 2)
    assert alias_of(mlflow_client, link.registered_model, "champion") is None
