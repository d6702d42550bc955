"""Versions registered in MLflow appear in Gatehouse: incremental, idempotent, and all-or-nothing."""

import pytest

from governance.kernel.errors import ValidationFailed
from governance.models import AuditEvent, ModelVersion
from registry import services
from registry.mlflow import MlflowRefused, MlflowUnavailable
from registry.models import RegistryLink, SyncedVersion

from .conftest import free_port
from .helpers import linked_model

pytestmark = [pytest.mark.django_db, pytest.mark.mlflow, pytest.mark.xdist_group("mlflow")]


def test_sync_brings_in_new_versions_with_run_metrics_tags_and_digest(people, mlflow_on, registered, register_version):
    model, link = linked_model(people, registered)
    number, run_id = register_version(registered, digest="b" * 64, metrics={"auc": 0.83},
                                      tags={"owner": "risk-ds"}, commit="deadbeef12")

    summary = services.sync_link(link)

    assert summary["created"] == 1 and summary["seen"] == 1
    synced = SyncedVersion.objects.get(link=link, mlflow_version=number)
    assert synced.run_id == run_id and synced.source == f"runs:/{run_id}/model"
    assert synced.metrics == {"auc": 0.83}
    assert synced.tags["owner"] == "risk-ds"
    version = synced.model_version
    assert (version.model, version.version, version.artifact_sha256) == (model, str(number), "b" * 64)
    assert version.git_commit == "deadbeef12"
    assert AuditEvent.objects.filter(verb="registry.version_synced", object_id=str(synced.pk)).count() == 1
    assert AuditEvent.objects.filter(verb="version.created", object_id=str(version.pk)).count() == 1


def test_second_sync_changes_nothing_and_a_changed_version_is_resynced_alone(
        people, mlflow_on, mlflow_client, registered, register_version):
    _, link = linked_model(people, registered)
    first, _ = register_version(registered)
    second, _ = register_version(registered, digest="c" * 64)
    services.sync_link(link)
    events = AuditEvent.objects.count()

    again = services.sync_link(link)
    assert (again["seen"], again["created"], again["updated"]) == (2, 0, 0)
    assert AuditEvent.objects.count() == events

    mlflow_client.set_model_version_tag(registered, str(second), "reviewed", "yes")
    third = services.sync_link(link)
    assert (third["updated"], third["created"]) == (1, 0)
    assert SyncedVersion.objects.get(link=link, mlflow_version=second).tags["reviewed"] == "yes"
    assert ModelVersion.objects.filter(model=link.model).count() == 2


def test_version_without_a_digest_waits_until_mlflow_carries_one(
        people, mlflow_on, mlflow_client, registered, register_version):
    _, link = linked_model(people, registered)
    number, run_id = register_version(registered, digest="")
    services.sync_link(link)
    synced = SyncedVersion.objects.get(link=link, mlflow_version=number)
    assert synced.model_version is None and "artifact_sha256" in synced.note

    mlflow_client.set_model_version_tag(registered, str(number), "artifact_sha256", "sha256:" + "d" * 64)
    services.sync_link(link)
    synced.refresh_from_db()
    assert synced.model_version.artifact_sha256 == "d" * 64 and synced.note == ""


def test_digest_may_come_from_the_run(people, mlflow_on, registered, register_version):
    _, link = linked_model(people, registered)
    number, _ = register_version(registered, digest="e" * 64, on_run=True)
    services.sync_link(link)
    assert SyncedVersion.objects.get(link=link, mlflow_version=number).model_version.artifact_sha256 == "e" * 64


def test_mlflow_down_gives_a_clear_message_and_writes_nothing(people, mlflow_on, settings, registered,
                                                              register_version):
    _, link = linked_model(people, registered)
    register_version(registered)
    settings.MLFLOW_TRACKING_URI = f"http://127.0.0.1:{free_port()}"
    before = AuditEvent.objects.count()

    with pytest.raises(MlflowUnavailable) as info:
        services.sync_link(link)

    assert info.value.code == "mlflow_unavailable"
    assert not SyncedVersion.objects.exists() and not ModelVersion.objects.filter(model=link.model).exists()
    assert AuditEvent.objects.count() == before
    link.refresh_from_db()
    assert "Cannot reach MLflow" in link.last_sync_error


def test_mlflow_refusing_the_sync_writes_nothing(people, mlflow_on, mlflow_client, registered, register_version):
    _, link = linked_model(people, registered)
    register_version(registered)
    mlflow_client.delete_registered_model(registered)

    with pytest.raises(MlflowRefused) as info:
        services.sync_link(link)

    assert (info.value.code, info.value.error_code) == ("mlflow_refused", "RESOURCE_DOES_NOT_EXIST")
    assert not SyncedVersion.objects.exists()


def test_linking_checks_the_name_with_mlflow(people, mlflow_on):
    from governance.inventory.services import create_model
    from governance.kernel.principals import SystemActor

    model = create_model(actor=SystemActor("tests"), slug="fraud", name="Fraud", owner=people["author"],
                         business_use="Flags transactions.", risk_tier="TIER_3")
    with pytest.raises(ValidationFailed) as info:
        services.link_model(model, actor=people["author"], registered_model="no-such-model")
    assert info.value.field == "registered_model"
    assert not RegistryLink.objects.exists()


def test_sync_command_reports_each_model_and_fails_when_mlflow_is_down(
        people, mlflow_on, settings, registered, register_version):
    from io import StringIO

    from django.core.management import CommandError, call_command

    linked_model(people, registered)
    register_version(registered)
    out = StringIO()
    call_command("sync_mlflow", stdout=out)
    assert f"{registered}: seen 1, new 0, created 1" in out.getvalue()

    settings.MLFLOW_TRACKING_URI = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(CommandError) as caught:
        call_command("sync_mlflow", stdout=StringIO(), stderr=StringIO())
    assert caught.value.code == "sync_failed"
