"""The gate actuates the registry: a mapped stage sets the alias, a rollback moves it back, every change is
audited, and MLflow being down never holds up the rollout."""

import pytest

from governance.models import AuditEvent
from readiness import rollouts
from readiness.models import LaunchStatus
from registry import services
from registry.models import AliasActuation, AliasState

from .conftest import free_port
from .helpers import alias_of, approved_launch, linked_model, roll_out_to_full

pytestmark = [pytest.mark.django_db, pytest.mark.mlflow, pytest.mark.xdist_group("mlflow")]


@pytest.fixture
def synced(people, mlflow_on, registered, register_version):
    """A linked TIER_2 model whose two MLflow versions are synced into Gatehouse."""
    model, link = linked_model(people, registered)
    register_version(registered, digest="1" * 64)
    register_version(registered, digest="2" * 64)
    services.sync_link(link)
    versions = {v.mlflow.mlflow_version: v for v in model.versions.select_related("mlflow")}
    return link, versions


def test_reaching_the_mapped_stage_sets_the_alias(people, synced, mlflow_client, django_capture_on_commit_callbacks):
    link, versions = synced
    launch = approved_launch(people, versions[1])
    with django_capture_on_commit_callbacks(execute=True):
        rollouts.start_rollout(launch, actor=people["author"])
    assert alias_of(mlflow_client, link.registered_model, "champion") is None  # canary is not mapped

    with django_capture_on_commit_callbacks(execute=True):
        rollouts.advance(launch, actor=people["author"])

    assert alias_of(mlflow_client, link.registered_model, "champion") == 1
    change = AliasActuation.objects.get(launch=launch)
    assert (change.status, change.target_version, change.previous_version) == (AliasActuation.Status.APPLIED, 1, None)
    state = AliasState.objects.get(link=link, alias="champion")
    assert state.expected_version == state.observed_version == 1
    assert AuditEvent.objects.filter(verb="registry.alias_change_requested",
                                     actor_label=people["author"].username).exists()
    event = AuditEvent.objects.get(verb="registry.alias_set")
    assert event.after["version"] == 1 and event.after["launch"] == launch.pk and event.before == {"version": None}


def test_rollback_moves_the_alias_back_to_the_previous_approved_version(
        people, synced, mlflow_client, django_capture_on_commit_callbacks):
    link, versions = synced
    with django_capture_on_commit_callbacks(execute=True):
        roll_out_to_full(people, approved_launch(people, versions[1]))
    with django_capture_on_commit_callbacks(execute=True):
        second = approved_launch(people, versions[2])
        roll_out_to_full(people, second)
    assert alias_of(mlflow_client, link.registered_model, "champion") == 2

    with django_capture_on_commit_callbacks(execute=True):
        rollouts.rollback(second, actor=people["compliance"], reason="Approval rate fell for one segment.")

    second.refresh_from_db()
    assert second.status == LaunchStatus.ROLLED_BACK
    assert alias_of(mlflow_client, link.registered_model, "champion") == 1
    back = AliasActuation.objects.get(launch=second, kind="ROLLBACK")
    assert (back.status, back.previous_version, back.target_version) == (AliasActuation.Status.APPLIED, 2, 1)
    assert AuditEvent.objects.filter(verb="registry.alias_set").count() == 3


def test_rollback_with_no_earlier_approved_version_removes_the_alias(
        people, synced, mlflow_client, django_capture_on_commit_callbacks):
    link, versions = synced
    with django_capture_on_commit_callbacks(execute=True):
        launch = approved_launch(people, versions[2])
        roll_out_to_full(people, launch)
        rollouts.rollback(launch, actor=people["compliance"], reason="Latency.")
    assert alias_of(mlflow_client, link.registered_model, "champion") is None
    assert AuditEvent.objects.filter(verb="registry.alias_removed").count() == 1


def test_rollback_of_an_older_launch_leaves_an_alias_that_moved_on(
        people, synced, mlflow_client, django_capture_on_commit_callbacks):
    link, versions = synced
    with django_capture_on_commit_callbacks(execute=True):
        first = approved_launch(people, versions[1])
        roll_out_to_full(people, first)
    with django_capture_on_commit_callbacks(execute=True):
        roll_out_to_full(people, approved_launch(people, versions[2]))
    with django_capture_on_commit_callbacks(execute=True):
        rollouts.rollback(first, actor=people["compliance"], reason="Found a leak in the old version.")
    assert alias_of(mlflow_client, link.registered_model, "champion") == 2
    assert not AliasActuation.objects.filter(kind="ROLLBACK").exists()


def test_mlflow_down_does_not_hold_up_the_rollout_and_the_change_is_retried(
        people, synced, mlflow_client, settings, django_capture_on_commit_callbacks):
    link, versions = synced
    launch = approved_launch(people, versions[1])
    up = settings.MLFLOW_TRACKING_URI
    settings.MLFLOW_TRACKING_URI = f"http://127.0.0.1:{free_port()}"
    with django_capture_on_commit_callbacks(execute=True):
        result = roll_out_to_full(people, launch)

    assert result["stage"] == "full"  # the rollout moved on
    change = AliasActuation.objects.get(launch=launch)
    assert change.status == AliasActuation.Status.PENDING and change.attempts == 1 and "Cannot reach MLflow" in change.last_error
    assert alias_of(mlflow_client, link.registered_model, "champion") is None

    assert services.retry_pending() == {"applied": 0, "pending": 1, "failed": 0}
    settings.MLFLOW_TRACKING_URI = up
    assert services.retry_pending() == {"applied": 1, "pending": 0, "failed": 0}
    assert alias_of(mlflow_client, link.registered_model, "champion") == 1


def test_a_rollback_while_mlflow_is_down_supersedes_the_waiting_change(
        people, synced, mlflow_client, settings, django_capture_on_commit_callbacks):
    link, versions = synced
    with django_capture_on_commit_callbacks(execute=True):
        roll_out_to_full(people, approved_launch(people, versions[1]))
    up = settings.MLFLOW_TRACKING_URI
    settings.MLFLOW_TRACKING_URI = f"http://127.0.0.1:{free_port()}"
    second = approved_launch(people, versions[2])
    with django_capture_on_commit_callbacks(execute=True):
        roll_out_to_full(people, second)
        rollouts.rollback(second, actor=people["compliance"], reason="Guardrail looked wrong.")

    statuses = dict(AliasActuation.objects.filter(launch=second).values_list("kind", "status"))
    assert statuses == {"STAGE": AliasActuation.Status.SUPERSEDED, "ROLLBACK": AliasActuation.Status.PENDING}
    settings.MLFLOW_TRACKING_URI = up
    services.retry_pending()
    assert alias_of(mlflow_client, link.registered_model, "champion") == 1


def test_mlflow_refusing_the_change_marks_it_failed_and_shows_it(
        people, synced, mlflow_client, client, django_capture_on_commit_callbacks):
    link, versions = synced
    launch = approved_launch(people, versions[1])
    mlflow_client.delete_model_version(link.registered_model, "1")
    with django_capture_on_commit_callbacks(execute=True):
        roll_out_to_full(people, launch)

    change = AliasActuation.objects.get(launch=launch)
    assert change.status == AliasActuation.Status.FAILED and "refused" in change.last_error
    assert AuditEvent.objects.filter(verb="registry.alias_change_failed").count() == 1
    client.force_login(people["compliance"])
    page = client.get("/").content.decode()
    assert "MLflow registry" in page and "refused by mlflow" in page.lower()


def test_a_version_typed_in_by_hand_cannot_be_given_the_alias(people, synced, django_capture_on_commit_callbacks):
    from governance.inventory.services import create_version

    link, _ = synced
    manual = create_version(link.model, actor=people["author"], version="9.0", artifact_sha256="9" * 64)
    with django_capture_on_commit_callbacks(execute=True):
        roll_out_to_full(people, approved_launch(people, manual))
    change = AliasActuation.objects.get()
    assert change.status == AliasActuation.Status.FAILED and "did not come from MLflow" in change.last_error


def test_with_the_integration_off_rollouts_touch_nothing(people, synced, settings, django_capture_on_commit_callbacks):
    _, versions = synced
    settings.MLFLOW_TRACKING_URI = ""
    with django_capture_on_commit_callbacks(execute=True):
        roll_out_to_full(people, approved_launch(people, versions[1]))
    assert not AliasActuation.objects.exists()
