"""Flagger webhooks, replayed from the bodies Flagger's documentation publishes (fixtures/flagger_webhooks.json)."""

import copy
import json
import logging
from pathlib import Path

import pytest
from django.db import DatabaseError

from governance.models import AuditEvent
from readiness import gate, services
from readiness.deploy import flagger
from readiness.models import FlaggerCanary, ToolCall

from .helpers import approved_launch, denied_launch, inconclusive_launch

pytestmark = pytest.mark.django_db
FIXTURES = json.loads((Path(__file__).parent / "fixtures" / "flagger_webhooks.json").read_text())


def body(kind, launch, secret, **changes):
    payload = copy.deepcopy(FIXTURES[kind])
    payload["metadata"].update(model=launch.version.model.slug, version=launch.version.version, token=secret)
    payload.update(changes)
    return payload


@pytest.fixture
def secret(token_for):
    return token_for("gate:read")[1]


def post(api_client, hook, payload):
    return api_client.post(f"/api/v1/gate/flagger/{hook}/", payload, format="json")


@pytest.mark.parametrize("hook", flagger.GATING)
def test_every_gating_hook_answers_200_only_for_an_allow(api_client, people, secret, hook):
    allowed, denied = approved_launch(people), denied_launch(people)
    assert post(api_client, hook, body("webhook", allowed, secret)).status_code == 200
    response = post(api_client, hook, body("webhook", denied, secret, name="other"))
    assert response.status_code == 403
    assert {"missing_signoff", "not_approved"} <= {r["code"] for r in response.json()["reasons"]}


@pytest.mark.parametrize("kind", ["webhook_without_checksum", "webhook_without_phase"])
def test_older_bodies_are_accepted(api_client, people, secret, kind):
    launch = approved_launch(people)
    assert post(api_client, "confirm-promotion", body(kind, launch, secret)).status_code == 200


def test_inconclusive_holds_a_confirm_hook_with_403(api_client, people, secret):
    launch = inconclusive_launch(people)
    response = post(api_client, "confirm-promotion", body("webhook", launch, secret))
    assert response.status_code == 403 and response.json()["decision"] == "inconclusive"
    assert launch.pending_decisions.count() == 1


def test_a_later_call_with_another_checksum_is_canary_changed_until_a_new_revision_is_confirmed(
        api_client, people, secret):
    launch = approved_launch(people)
    assert post(api_client, "confirm-rollout", body("webhook", launch, secret)).status_code == 200
    changed = post(api_client, "confirm-promotion", body("webhook", launch, secret, checksum="ffff000011"))
    assert changed.status_code == 403 and "canary_changed" in {r["code"] for r in changed.json()["reasons"]}
    assert "canary_changed" in gate.verify_receipt(changed.json()["receipt"]).verdict["reasons"]
    assert post(api_client, "confirm-rollout", body("webhook", launch, secret, checksum="ffff000011")).status_code == 200
    assert post(api_client, "confirm-promotion", body("webhook", launch, secret, checksum="ffff000011")).status_code == 200
    assert FlaggerCanary.objects.get(namespace="test", name="podinfo").checksum == "ffff000011"


def test_rollback_hook_is_2xx_only_when_the_launch_must_roll_back(api_client, people, secret):
    from readiness import rollouts

    launch = approved_launch(people)
    response = post(api_client, "rollback", body("webhook", launch, secret))
    assert response.status_code == 403 and response.json()["rollback"] is False
    rollouts.start_rollout(launch, actor=people["engineering"])
    rollouts.rollback(launch, actor=people["engineering"], reason="latency regression")
    response = post(api_client, "rollback", body("webhook", launch, secret))
    assert response.status_code == 200 and response.json()["rollback"] is True
    assert {r["code"] for r in response.json()["reasons"]} == {"rolled_back"}
    # ...and the gating hooks refuse the rolled-back launch at the same time
    assert post(api_client, "confirm-promotion", body("webhook", launch, secret)).status_code == 403


def test_rollback_hook_rolls_back_on_a_paused_rollout(api_client, people, secret):
    launch = approved_launch(people)
    launch.plan.paused = True
    launch.plan.save(update_fields=["paused"])
    assert post(api_client, "rollback", body("webhook", launch, secret)).status_code == 200


@pytest.mark.parametrize("hook,kind", [("post-rollout", "webhook"), ("event", "event")])
def test_reporting_hooks_are_recorded_on_the_launch(api_client, people, secret, hook, kind):
    launch = denied_launch(people)
    assert post(api_client, hook, body(kind, launch, secret)).status_code == 200
    call = ToolCall.objects.get(launch=launch, kind=hook)
    assert call.tool == "flagger" and call.subject.startswith("test/podinfo")
    if hook == "event":
        assert "New revision detected" in call.subject
    assert not launch.pending_decisions.exists()


def test_the_token_in_metadata_is_never_stored_or_logged(api_client, people, secret, caplog):
    launch = approved_launch(people)
    with caplog.at_level(logging.DEBUG):
        post(api_client, "confirm-rollout", body("webhook", launch, secret))
        post(api_client, "rollout", body("webhook", launch, secret, checksum="other"))
    stored = json.dumps(list(ToolCall.objects.values()), default=str) + json.dumps(
        list(AuditEvent.objects.values("before", "after", "object_repr")), default=str)
    assert secret not in stored and secret not in caplog.text


def test_missing_or_bad_token_is_refused(api_client, people, secret):
    launch = approved_launch(people)
    payload = body("webhook", launch, secret)
    del payload["metadata"]["token"]
    assert post(api_client, "confirm-rollout", payload).status_code == 400
    payload["metadata"]["token"] = "gth_nope_nope"
    assert post(api_client, "confirm-rollout", payload).status_code in (401, 403)


def test_token_without_scope_or_for_another_model_is_403(api_client, people, token_for):
    launch, other = approved_launch(people), denied_launch(people)
    _, unscoped = token_for("evaluations:write")
    assert post(api_client, "confirm-rollout", body("webhook", launch, unscoped)).status_code == 403
    _, limited = token_for("gate:read", models=[other.version.model])
    assert post(api_client, "confirm-rollout", body("webhook", launch, limited)).status_code == 403
    assert not ToolCall.objects.exists()


def test_unknown_hook_type_is_404(api_client, people, secret):
    launch = approved_launch(people)
    assert post(api_client, "confirm-everything", body("webhook", launch, secret)).status_code == 404


def test_database_down_is_503_for_every_hook_never_a_2xx(api_client, people, secret, monkeypatch):
    launch = approved_launch(people)

    def down(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(gate, "evaluate", down)
    for hook in flagger.HOOK_TYPES:
        response = post(api_client, hook, body("event" if hook == "event" else "webhook", launch, secret))
        assert response.status_code == 503 and response["Retry-After"], hook


def test_a_content_change_after_allow_turns_the_next_hook_into_403(api_client, people, secret):
    launch = approved_launch(people)
    assert post(api_client, "confirm-traffic-increase", body("webhook", launch, secret)).status_code == 200
    services.submit_evaluation(launch, actor=people["data_science"], metrics={"psi.max": 0.5})
    assert post(api_client, "confirm-traffic-increase", body("webhook", launch, secret)).status_code == 403
