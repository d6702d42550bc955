"""Spinnaker's preconfigured webhook stage, driven as Orca drives it from the documented orca-local.yml block."""

from pathlib import Path

import pytest
import yaml
from django.db import DatabaseError

from readiness import gate, pending
from readiness.models import ToolCall
from tests.factories import PASSWORD

from .helpers import approved_launch, bearer, denied_launch, inconclusive_launch, what_ships

pytestmark = pytest.mark.django_db
STAGE = yaml.safe_load((Path(__file__).parent / "fixtures" / "spinnaker_orca_local.yml").read_text())[
    "webhook"]["preconfigured"][0]


def orca_status(body):
    """Orca's reading of a status body: the value at statusJsonPath against the configured lists."""
    value = body[STAGE["statusJsonPath"].removeprefix("$.")]
    if value in STAGE["successStatuses"].split(","):
        return "SUCCEEDED"
    if value in STAGE["terminalStatuses"].split(","):
        return "TERMINAL"
    return "RUNNING"


@pytest.fixture
def client(api_client, token_for):
    return bearer(api_client, token_for("gate:read")[1])


def start(client, launch, **extra):
    return client.post("/api/v1/gate/spinnaker/?" + "&".join(f"{k}={v}" for k, v in what_ships(launch, **extra).items()))


def test_start_answers_202_with_the_status_url_in_location(client, people):
    assert STAGE["statusUrlResolution"] == "locationHeader" and STAGE["method"] == "POST"
    launch = approved_launch(people)
    response = start(client, launch)
    assert response.status_code == 202 and "/api/v1/gate/spinnaker/checks/" in response["Location"]
    status = client.get(response["Location"])
    assert status.status_code == 200 and orca_status(status.json()) == "SUCCEEDED"


def test_deny_is_terminal(client, people):
    launch = denied_launch(people)
    body = client.get(start(client, launch)["Location"]).json()
    assert orca_status(body) == "TERMINAL" and "missing_signoff" in {r["code"] for r in body["reasons"]}


def test_inconclusive_keeps_polling_until_a_person_decides(client, people):
    launch = inconclusive_launch(people)
    location = start(client, launch)["Location"]
    assert orca_status(client.get(location).json()) == "RUNNING"
    assert orca_status(client.get(location).json()) == "RUNNING"
    pending.decide(launch.pending_decisions.get(), actor=people["model_risk"], allow=True, password=PASSWORD)
    assert orca_status(client.get(location).json()) == "SUCCEEDED"
    assert ToolCall.objects.filter(tool="spinnaker").count() == 4


def test_digest_mismatch_is_terminal(client, people):
    launch = approved_launch(people)
    body = client.get(start(client, launch, digest="e" * 64)["Location"]).json()
    assert orca_status(body) == "TERMINAL" and "digest_mismatch" in {r["code"] for r in body["reasons"]}


def test_database_down_is_503_and_never_success(client, people, monkeypatch):
    launch = approved_launch(people)
    location = start(client, launch)["Location"]

    def down(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(gate, "evaluate", down)
    for response in (client.get(location), start(client, launch)):
        assert response.status_code == 503 and response["Retry-After"] and "Location" not in response


def test_unknown_check_is_404_and_a_model_limited_token_cannot_poll_another_models_check(
        client, api_client, token_for, people):
    launch = approved_launch(people)
    location = start(client, launch)["Location"]
    assert client.get("/api/v1/gate/spinnaker/checks/999999/").status_code == 404
    other = denied_launch(people)
    limited = bearer(api_client, token_for("gate:read", models=[other.version.model])[1])
    assert limited.get(location).status_code == 403


def test_token_without_scope_is_403(api_client, token_for, people):
    launch = approved_launch(people)
    assert start(bearer(api_client, token_for("launches:read")[1]), launch).status_code == 403
