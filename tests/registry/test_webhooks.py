"""MLflow's registry webhooks nudge a sync; only deliveries signed with the shared secret are accepted."""

import base64
import hashlib
import hmac
import json
import time

import pytest

from registry.models import SyncedVersion

from .helpers import linked_model

pytestmark = [pytest.mark.django_db, pytest.mark.mlflow, pytest.mark.xdist_group("mlflow")]
SECRET = "webhook-secret-for-tests"
URL = "/registry/mlflow/webhook/"


def signed(body: bytes, *, secret=SECRET, at=None):
    """Headers as MLflow's delivery signs them (v1, HMAC-SHA256 over id.timestamp.body)."""
    delivery, stamp = "d-1", str(int(at if at is not None else time.time()))
    digest = hmac.new(secret.encode(), f"{delivery}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {"HTTP_X_MLFLOW_DELIVERY_ID": delivery, "HTTP_X_MLFLOW_TIMESTAMP": stamp,
            "HTTP_X_MLFLOW_SIGNATURE": "v1," + base64.b64encode(digest).decode()}


def event(name):
    return json.dumps({"entity": "model_version", "action": "created", "timestamp": "2026-01-01T00:00:00Z",
                       "data": {"name": name, "version": "1", "source": "runs:/x/model", "tags": {}}}).encode()


def test_a_signed_event_syncs_the_linked_model(people, client, settings, mlflow_on, registered, register_version,
                                               django_capture_on_commit_callbacks):
    settings.MLFLOW_WEBHOOK_SECRET = SECRET
    linked_model(people, registered)
    register_version(registered)
    body = event(registered)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, body, content_type="application/json", **signed(body))
    assert response.status_code == 202
    assert SyncedVersion.objects.filter(link__registered_model=registered).count() == 1


@pytest.mark.parametrize("case", ["bad_secret", "old", "unsigned"])
def test_unsigned_forged_or_replayed_events_are_refused(client, settings, case):
    settings.MLFLOW_WEBHOOK_SECRET = SECRET
    body = event("anything")
    headers = {"bad_secret": signed(body, secret="guess"), "old": signed(body, at=time.time() - 3600),
               "unsigned": {}}[case]
    response = client.post(URL, body, content_type="application/json", **headers)
    assert response.status_code == 403 and response.json()["code"] == "bad_signature"


def test_webhooks_are_off_without_a_secret(client, settings):
    settings.MLFLOW_WEBHOOK_SECRET = ""
    body = event("anything")
    response = client.post(URL, body, content_type="application/json", **signed(body))
    assert response.status_code == 403 and response.json()["code"] == "webhooks_off"


def test_an_event_about_an_unlinked_model_is_ignored(client, settings):
    settings.MLFLOW_WEBHOOK_SECRET = SECRET
    body = event("not-linked")
    response = client.post(URL, body, content_type="application/json", **signed(body))
    assert response.status_code == 200 and "ignored" in response.json()["status"]
