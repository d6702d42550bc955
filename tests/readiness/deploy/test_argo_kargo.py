"""Argo Rollouts' web metric and Kargo's checks: 200 with a three-way decision whenever Gatehouse can decide."""

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml
from django.db import DatabaseError

from readiness import gate
from readiness.deploy import decision
from readiness.models import PendingDecision, ToolCall

from .helpers import approved_launch, bearer, denied_launch, inconclusive_launch, what_ships

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(api_client, token_for):
    _, secret = token_for("gate:read")
    return bearer(api_client, secret)


@pytest.mark.parametrize("path", ["/api/v1/gate/argo/", "/api/v1/gate/kargo/"])
def test_allow_is_200_with_decision_allow_and_the_gates_receipt(client, people, path):
    launch = approved_launch(people)
    response = client.get(path, what_ships(launch))
    body = response.json()
    assert response.status_code == 200
    assert (body["decision"], body["ok"], body["reasons"]) == ("allow", True, [])
    assert gate.verify_receipt(body["receipt"]).verdict["decision"] == "allow"
    assert body["receipt_id"] == decision.receipt_id(body["receipt"])


@pytest.mark.parametrize("path", ["/api/v1/gate/argo/", "/api/v1/gate/kargo/"])
def test_deny_is_200_with_decision_deny_and_the_gates_reasons(client, people, path):
    launch = denied_launch(people)
    body = client.get(path, what_ships(launch)).json()
    plain = client.get("/api/v1/gate/", what_ships(launch)).json()
    assert (body["decision"], body["ok"]) == ("deny", False)
    assert [r["code"] for r in body["reasons"]] == [r["code"] for r in plain["reasons"]]


def test_inconclusive_is_200_and_opens_a_pending_decision_for_model_risk(client, people):
    launch = inconclusive_launch(people)
    body = client.get("/api/v1/gate/argo/", what_ships(launch)).json()
    assert body["decision"] == "inconclusive" and body["gate_decision"] == "deny" and not body["ok"]
    pending = PendingDecision.objects.get(launch=launch)
    assert (pending.role, pending.stage, pending.content_hash) == ("MODEL_RISK", "shadow", launch.content_hash)
    assert body["pending_decision"]["id"] == pending.pk
    again = client.get("/api/v1/gate/kargo/", what_ships(launch)).json()
    assert again["decision"] == "inconclusive" and PendingDecision.objects.count() == 1
    assert "pending_decision" in {r["code"] for r in again["reasons"]}


def test_a_digest_that_is_not_the_versions_artifact_is_a_signed_deny(client, people):
    launch = approved_launch(people)
    body = client.get("/api/v1/gate/argo/", what_ships(launch, digest="sha256:" + "f" * 64)).json()
    assert body["decision"] == "deny" and "digest_mismatch" in {r["code"] for r in body["reasons"]}
    assert "digest_mismatch" in gate.verify_receipt(body["receipt"]).verdict["reasons"]


def test_the_digest_alone_names_the_version(client, people):
    launch = approved_launch(people)
    params = {"model": launch.version.model.slug, "stage": "shadow",
              "digest": "sha256:" + launch.version.artifact_sha256.upper()}
    body = client.get("/api/v1/gate/argo/", params).json()
    assert body["decision"] == "allow" and body["version"] == launch.version.version
    params["digest"] = "0" * 64
    assert {r["code"] for r in client.get("/api/v1/gate/argo/", params).json()["reasons"]} >= {"unknown_digest"}


def test_neither_version_nor_digest_is_a_400_naming_version(client):
    response = client.get("/api/v1/gate/argo/", {"model": "m", "stage": "shadow"})
    assert response.status_code == 400 and response.json()["field"] == "version"
    response = client.get("/api/v1/gate/argo/", {"model": "m", "stage": "shadow", "digest": "not-hex"})
    assert response.status_code == 400 and response.json()["field"] == "digest"


def test_unknown_model_is_a_deny_not_an_error(client):
    body = client.get("/api/v1/gate/argo/", {"model": "nope", "version": "1", "stage": "shadow"}).json()
    assert body["decision"] == "deny" and {r["code"] for r in body["reasons"]} == {"unknown_model"}


def test_database_down_is_503_with_retry_after_and_never_allow(client, people, monkeypatch):
    launch = approved_launch(people)

    def down(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(gate, "evaluate", down)
    response = client.get("/api/v1/gate/argo/", what_ships(launch))
    assert response.status_code == 503 and response["Retry-After"]
    assert response.json()["code"] == "internal_error" and response.json()["decision"] != "allow"


def test_receipt_signing_failure_is_503(client, people, monkeypatch):
    launch = approved_launch(people)

    def broken(*args, **kwargs):
        raise RuntimeError("key unavailable")

    monkeypatch.setattr(gate, "sign_receipt", broken)
    response = client.get("/api/v1/gate/kargo/", what_ships(launch))
    assert response.status_code == 503 and response.json()["ok"] is False


def test_call_recording_failure_is_503_not_an_unrecorded_allow(client, people, monkeypatch):
    launch = approved_launch(people)
    from readiness.deploy import records

    def broken(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(records, "record_call", broken)
    assert client.get("/api/v1/gate/argo/", what_ships(launch)).status_code == 503


def test_token_without_gate_scope_is_403(api_client, token_for, people):
    launch = approved_launch(people)
    _, secret = token_for("evaluations:write")
    response = bearer(api_client, secret).get("/api/v1/gate/argo/", what_ships(launch))
    assert response.status_code == 403 and not ToolCall.objects.exists()


def test_model_limited_token_is_refused_for_another_model(api_client, token_for, people):
    launch = approved_launch(people)
    other = denied_launch(people)
    _, secret = token_for("gate:read", models=[other.version.model])
    response = bearer(api_client, secret).get("/api/v1/gate/kargo/", what_ships(launch))
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


def test_no_credentials_is_401_or_403(api_client, people):
    launch = approved_launch(people)
    assert api_client.get("/api/v1/gate/argo/", what_ships(launch)).status_code in (401, 403)


def test_the_contracts_keep_a_constant_number_of_queries(client, people, django_assert_max_num_queries):
    launch = approved_launch(people)
    client.get("/api/v1/gate/argo/", what_ships(launch))
    with django_assert_max_num_queries(14):
        assert client.get("/api/v1/gate/argo/", what_ships(launch, digest=launch.version.artifact_sha256)
                          ).json()["decision"] == "allow"


# -- the recorded AnalysisTemplate and Kargo step, as the tools run them -------------------------------------

FIXTURES = Path(__file__).parent / "fixtures"


def _condition(expression, prefix):
    """The documented conditions are one equality over the body (``result.decision == "allow"``)."""
    match = re.fullmatch(re.escape(prefix) + r'\.(\w+) == "(\w+)"', expression.strip())
    assert match, expression
    field, value = match.groups()
    return lambda body: body[field] == value


def _request(url, values):
    for name, value in values.items():
        url = url.replace("{{" + name + "}}", value)
    parts = urlsplit(url)
    return parts.path, dict(parse_qsl(parts.query))


@pytest.mark.parametrize("state,expected", [("allow", "Successful"), ("deny", "Failed"), ("inconclusive", "Inconclusive")])
def test_the_recorded_analysis_template_reads_each_answer_as_documented(api_client, token_for, people, state, expected):
    metric = yaml.safe_load((FIXTURES / "argo_analysis_template.yaml").read_text())["spec"]["metrics"][0]
    launch = {"allow": approved_launch, "deny": denied_launch, "inconclusive": inconclusive_launch}[state](people)
    secret = token_for("gate:read")[1]
    path, query = _request(metric["provider"]["web"]["url"], {
        "args.model": launch.version.model.slug, "args.version": launch.version.version, "args.stage": "shadow"})
    header = metric["provider"]["web"]["headers"][0]["value"].replace("{{args.gatehouse-token}}", secret)
    response = api_client.get(path, query, HTTP_AUTHORIZATION=header)
    assert response.status_code == 200
    success, failure = (_condition(metric[key], "result") for key in ("successCondition", "failureCondition"))
    body = response.json()
    outcome = "Successful" if success(body) else "Failed" if failure(body) else "Inconclusive"
    assert outcome == expected


@pytest.mark.parametrize("state,expected", [("allow", "Succeeded"), ("deny", "Failed"), ("inconclusive", "Running")])
def test_the_recorded_kargo_step_reads_each_answer_as_documented(api_client, token_for, people, state, expected):
    step = yaml.safe_load((FIXTURES / "kargo_http_step.yaml").read_text())[0]["config"]
    launch = {"allow": approved_launch, "deny": denied_launch, "inconclusive": inconclusive_launch}[state](people)
    secret = token_for("gate:read")[1]
    path, query = _request(step["url"], {"model": launch.version.model.slug, "version": launch.version.version,
                                         "stage": "shadow"})
    response = api_client.get(path, query, HTTP_AUTHORIZATION=step["headers"][0]["value"].replace("{{token}}", secret))
    success, failure = (_condition(step[key], "response.Body") for key in ("successExpression", "failureExpression"))
    body = response.json()
    outcome = "Succeeded" if success(body) else "Failed" if failure(body) else "Running"
    assert outcome == expected
