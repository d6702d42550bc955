"""The webhook path of the alias guard: a signed alias event makes Gatehouse act at once; a delivery that fails its
signature check, or one already received, changes nothing. The last test has MLflow itself deliver the event to a
running Gatehouse and polls until the alias is back, within the 60 seconds the guard promises."""

import base64
import hashlib
import hmac
import json
import time

import pytest

from postmortems.models import Incident
from registry import services
from registry.models import AliasMove, WebhookDelivery

from .helpers import alias_of, approved_launch, linked_model, roll_out_to_full

pytestmark = [pytest.mark.django_db, pytest.mark.mlflow, pytest.mark.xdist_group("mlflow")]
SECRET = "guard-webhook-secret"
URL = "/registry/mlflow/webhook/"
GUARD_LIMIT_SECONDS = 60


def alias_event(name, alias, version):
    return json.dumps({"entity": "model_version_alias", "action": "created", "timestamp": "2026-01-01T00:00:00Z",
                       "data": {"name": name, "alias": alias, "version": str(version)}}).encode()


def signed(body, *, delivery, secret=SECRET):
    stamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"{delivery}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {"HTTP_X_MLFLOW_DELIVERY_ID": delivery, "HTTP_X_MLFLOW_TIMESTAMP": stamp,
            "HTTP_X_MLFLOW_SIGNATURE": "v1," + base64.b64encode(digest).decode()}


@pytest.fixture
def champion_at_2(people, settings, mlflow_on, registered, register_version):
    """A linked TIER_2 model (guard: revert) with @champion on v2 through an approved launch."""

    def make(capture):
        settings.MLFLOW_WEBHOOK_SECRET = SECRET
        model, link = linked_model(people, registered)
        register_version(registered, digest="1" * 64)
        register_version(registered, digest="2" * 64)
        services.sync_link(link)
        with capture(execute=True):
            roll_out_to_full(people, approved_launch(people, model.versions.get(version="2")))
        return link

    return make


def test_a_signed_alias_event_puts_the_alias_back_at_once(client, champion_at_2, mlflow_client,
                                                          django_capture_on_commit_callbacks):
    link = champion_at_2(django_capture_on_commit_callbacks)
    mlflow_client.set_registered_model_alias(link.registered_model, "champion", "1")
    body = alias_event(link.registered_model, "champion", 1)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, body, content_type="application/json", **signed(body, delivery="a-1"))
    assert response.status_code == 202
    assert alias_of(mlflow_client, link.registered_model, "champion") == 2
    assert Incident.objects.count() == 1 and AliasMove.objects.filter(by="HAND").count() == 1


def test_a_replayed_delivery_is_refused_and_changes_nothing(client, champion_at_2, mlflow_client,
                                                            django_capture_on_commit_callbacks):
    link = champion_at_2(django_capture_on_commit_callbacks)
    mlflow_client.set_registered_model_alias(link.registered_model, "champion", "1")
    body = alias_event(link.registered_model, "champion", 1)
    headers = signed(body, delivery="a-2")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(URL, body, content_type="application/json", **headers).status_code == 202
    mlflow_client.set_registered_model_alias(link.registered_model, "champion", "1")  # moved again
    moves = AliasMove.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        replay = client.post(URL, body, content_type="application/json", **headers)

    assert replay.status_code == 409 and replay.json()["code"] == "replayed_delivery"
    assert alias_of(mlflow_client, link.registered_model, "champion") == 1  # no sync was started by it
    assert AliasMove.objects.count() == moves and WebhookDelivery.objects.count() == 1


@pytest.mark.parametrize("case", ["wrong_secret", "tampered_body"])
def test_a_delivery_failing_its_signature_check_changes_nothing(client, champion_at_2, mlflow_client, case,
                                                                django_capture_on_commit_callbacks):
    link = champion_at_2(django_capture_on_commit_callbacks)
    mlflow_client.set_registered_model_alias(link.registered_model, "champion", "1")
    body = alias_event(link.registered_model, "champion", 1)
    headers = signed(body, delivery="a-3", secret="guess" if case == "wrong_secret" else SECRET)
    sent = body if case == "wrong_secret" else body.replace(b'"1"', b'"2"')
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, sent, content_type="application/json", **headers)
    assert response.status_code == 403 and response.json()["code"] == "bad_signature"
    assert alias_of(mlflow_client, link.registered_model, "champion") == 1
    assert not AliasMove.objects.filter(by="HAND").exists() and not Incident.objects.exists()
    assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_mlflow_delivers_the_alias_event_and_the_move_is_undone_in_time(live_server, champion_at_2, mlflow_client,
                                                                        django_capture_on_commit_callbacks):
    """MLflow's own webhook delivery (signed with the shared secret) to a running Gatehouse; no periodic sync."""
    link = champion_at_2(django_capture_on_commit_callbacks)
    hook = mlflow_client.create_webhook(
        name=f"gatehouse-{link.registered_model}", url=f"{live_server.url}{URL}", secret=SECRET,
        events=["model_version_alias.created", "model_version_alias.deleted"])
    try:
        moved_at = time.monotonic()
        mlflow_client.set_registered_model_alias(link.registered_model, "champion", "1")  # by hand
        while alias_of(mlflow_client, link.registered_model, "champion") != 2:
            assert time.monotonic() - moved_at < GUARD_LIMIT_SECONDS, "the hand move was not undone in time"
            time.sleep(0.2)
    finally:
        mlflow_client.delete_webhook(hook.webhook_id)
    assert AliasMove.objects.filter(link=link, by="HAND", version=1).count() == 1
    assert Incident.objects.filter(title__contains=f"{link.registered_model}@champion").count() == 1
    assert WebhookDelivery.objects.exists()
