"""The GitHub custom deployment protection rule, against GitHub's published descriptions: replayed webhooks are
validated against ``@octokit/openapi-webhooks`` and every callback Gatehouse sends is checked, by a loopback server
standing in for api.github.com, against the operation in ``@octokit/openapi`` (fixtures/github/contract.json;
fixtures/github/refresh.py says how to refresh it)."""

import hashlib
import hmac
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import DatabaseError

from readiness import gate, pending
from readiness.models import GitHubReview, ToolCall
from tests.factories import PASSWORD

from .helpers import approved_launch, denied_launch, inconclusive_launch

pytestmark = pytest.mark.django_db
CONTRACT = json.loads((Path(__file__).parent / "fixtures" / "github" / "contract.json").read_text())
WEBHOOK = "deployment-protection-rule-requested"
SECRET = "webhook-secret-for-tests"


def test_the_contract_names_the_packages_it_was_extracted_from():
    """Refresh: npm install @octokit/openapi @octokit/openapi-webhooks in a scratch directory outside the
    repository, then python tests/readiness/deploy/fixtures/github/refresh.py <that directory>/node_modules."""
    assert re.fullmatch(r"\d+\.\d+\.\d+", CONTRACT["source"]["@octokit/openapi"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", CONTRACT["source"]["@octokit/openapi-webhooks"])
    assert set(CONTRACT["api"]["operations"]) == {"actions/review-custom-gates-for-run",
                                                  "apps/create-installation-access-token"}
    assert WEBHOOK in CONTRACT["webhooks"]


def test_every_documented_top_level_field_of_the_webhook_is_accepted():
    from readiness.deploy.github import ProtectionRuleRequested

    schema = CONTRACT["webhooks"]["components"]["schemas"]["webhook-deployment-protection-rule-requested"]
    accepted = set(ProtectionRuleRequested().fields) | ProtectionRuleRequested.passthrough
    assert set(schema["properties"]) <= accepted


# -- GitHub's side ------------------------------------------------------------------------------------------

def instance(schema, components):
    """A value the schema accepts, built from its required parts (the replayed payload starts from this)."""
    if "$ref" in schema:
        return instance(components[schema["$ref"].rsplit("/", 1)[1]], components)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return instance(next(s for s in schema[key] if s.get("type") != "null"), components)
    if "allOf" in schema:
        merged = {}
        for part in schema["allOf"]:
            value = instance(part, components)
            merged.update(value if isinstance(value, dict) else {})
        return merged
    if "enum" in schema:
        return next(v for v in schema["enum"] if v is not None)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: instance(props.get(name, {"type": "string"}), components) for name in schema.get("required", [])}
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return False
    fmt = schema.get("format")
    return {"date-time": "2026-01-01T00:00:00Z", "uri": "https://github.example/x", "email": "a@example.com"}.get(fmt, "x")


def webhook_validator():
    schema = CONTRACT["webhooks"][WEBHOOK]["requestBody"]["content"]["application/json"]["schema"]
    return jsonschema.Draft202012Validator({**schema, "components": CONTRACT["webhooks"]["components"]})


def replayed_payload(api_url, *, sha, environment="production", run_id=4242):
    components = CONTRACT["webhooks"]["components"]["schemas"]
    payload = instance(components["webhook-deployment-protection-rule-requested"], components)
    payload.update(environment=environment, event="push", deployment=instance(components["deployment"], components),
                   installation={"id": 77, "node_id": "MDIz"},
                   deployment_callback_url=f"{api_url}/repos/acme/credit/actions/runs/{run_id}/deployment_protection_rule")
    payload["deployment"].update(sha=sha, environment=environment)
    payload["repository"].update(full_name="acme/credit", name="credit")
    webhook_validator().validate(payload)
    return payload


class FakeGitHub(BaseHTTPRequestHandler):
    """api.github.com on loopback: each request is checked against its OpenAPI operation and recorded."""

    requests: list = []

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        matched = [(name, op) for name, op in CONTRACT["api"]["operations"].items()
                   if re.fullmatch(re.sub(r"\{[a-z_]+\}", r"[^/]+", op["path"]), self.path)]
        if not matched:
            self.send_response(404)
            self.end_headers()
            return
        operation_id, operation = matched[0]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        errors = [e.message for e in jsonschema.Draft7Validator(
            {**schema, "components": CONTRACT["api"]["components"]}).iter_errors(body)]
        self.requests.append({"operation": operation_id, "path": self.path, "body": body, "errors": errors,
                              "authorization": self.headers.get("Authorization", "")})
        if operation_id == "apps/create-installation-access-token":
            answer = {"token": "ghs_installation", "expires_at": "2030-01-01T00:00:00Z"}
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(answer).encode())
        else:
            self.send_response(204 if not errors else 422)
            self.end_headers()


@pytest.fixture
def github(settings):
    FakeGitHub.requests = []
    server = None
    for port in range(18320, 18330):
        try:
            server = ThreadingHTTPServer(("127.0.0.1", port), FakeGitHub)
            break
        except OSError:
            continue
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings.GITHUB_API_URL = f"http://127.0.0.1:{server.server_address[1]}"
    settings.GITHUB_WEBHOOK_SECRET = SECRET
    settings.GITHUB_APP_ID = "12345"
    settings.GITHUB_APP_PRIVATE_KEY = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()).decode()
    yield FakeGitHub.requests
    server.shutdown()
    server.server_close()


def map_launch(settings, launch, stage="shadow"):
    settings.GITHUB_DEPLOYMENTS = {"acme/credit": {"production": {"model": launch.version.model.slug, "stage": stage}}}
    commit = "a1b2c3d" + str(launch.pk).rjust(33, "0")
    type(launch.version).objects.filter(pk=launch.version.pk).update(git_commit=commit)
    return commit


def deliver(api_client, payload, *, delivery="d-1", secret=SECRET, signature=None):
    raw = json.dumps(payload).encode()
    signature = signature or "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return api_client.generic("POST", "/api/v1/gate/github/", raw, content_type="application/json",
                              HTTP_X_GITHUB_EVENT="deployment_protection_rule", HTTP_X_GITHUB_DELIVERY=delivery,
                              HTTP_X_HUB_SIGNATURE_256=signature)


def reviews(requests):
    assert all(not r["errors"] for r in requests), [r["errors"] for r in requests]
    return [r["body"] for r in requests if r["operation"] == "actions/review-custom-gates-for-run"]


def test_allow_approves_through_the_documented_callback(api_client, people, settings, github,
                                                        django_capture_on_commit_callbacks):
    launch = approved_launch(people)
    payload = replayed_payload(settings.GITHUB_API_URL, sha=map_launch(settings, launch))
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(api_client, payload)
    assert response.status_code == 202
    [review] = reviews(github)
    assert review["state"] == "approved" and review["environment_name"] == "production"
    assert len(review["comment"]) <= 1024 and "Receipt" in review["comment"]
    token_call = next(r for r in github if r["operation"] == "apps/create-installation-access-token")
    assert token_call["path"] == "/app/installations/77/access_tokens" and token_call["authorization"].startswith("Bearer ey")
    assert next(r for r in github if r["operation"].startswith("actions"))["authorization"] == "Bearer ghs_installation"
    assert GitHubReview.objects.get().state == "approved" and ToolCall.objects.get().tool == "github"


def test_deny_rejects_with_the_coded_reasons(api_client, people, settings, github, django_capture_on_commit_callbacks):
    launch = denied_launch(people)
    payload = replayed_payload(settings.GITHUB_API_URL, sha=map_launch(settings, launch))
    with django_capture_on_commit_callbacks(execute=True):
        deliver(api_client, payload)
    [review] = reviews(github)
    assert review["state"] == "rejected" and "missing_signoff" in review["comment"]


def test_a_sha_that_is_not_the_versions_commit_is_rejected(api_client, people, settings, github,
                                                          django_capture_on_commit_callbacks):
    launch = approved_launch(people)
    map_launch(settings, launch)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(api_client, replayed_payload(settings.GITHUB_API_URL, sha="f" * 40))
    assert reviews(github)[0]["state"] == "rejected"


def test_unmapped_environment_is_rejected(api_client, people, settings, github, django_capture_on_commit_callbacks):
    settings.GITHUB_DEPLOYMENTS = {}
    with django_capture_on_commit_callbacks(execute=True):
        deliver(api_client, replayed_payload(settings.GITHUB_API_URL, sha="a" * 40))
    assert reviews(github)[0]["state"] == "rejected"


def test_inconclusive_comments_first_then_the_persons_decision_is_the_review(
        api_client, people, settings, github, django_capture_on_commit_callbacks):
    launch = inconclusive_launch(people)
    payload = replayed_payload(settings.GITHUB_API_URL, sha=map_launch(settings, launch))
    with django_capture_on_commit_callbacks(execute=True):
        deliver(api_client, payload)
    [comment] = reviews(github)
    assert "state" not in comment and "Waiting for a person" in comment["comment"]
    assert GitHubReview.objects.get().state == "waiting"
    with django_capture_on_commit_callbacks(execute=True):
        pending.decide(launch.pending_decisions.get(), actor=people["model_risk"], allow=False,
                       comment="Too uncertain.", password=PASSWORD)
    assert [r.get("state") for r in reviews(github)] == [None, "rejected"]


@pytest.mark.parametrize("signature", ["", "sha256=" + "0" * 64, "sha1=abc"])
def test_missing_or_bad_signature_is_refused_and_nothing_is_stored(api_client, settings, github, signature):
    payload = replayed_payload(settings.GITHUB_API_URL, sha="a" * 40)
    raw = json.dumps(payload).encode()
    response = api_client.generic("POST", "/api/v1/gate/github/", raw, content_type="application/json",
                                  HTTP_X_GITHUB_EVENT="deployment_protection_rule", HTTP_X_GITHUB_DELIVERY="d-9",
                                  **({"HTTP_X_HUB_SIGNATURE_256": signature} if signature else {}))
    assert response.status_code in (401, 403) and not GitHubReview.objects.exists() and not github


def test_a_signature_with_another_secret_is_refused(api_client, settings, github):
    payload = replayed_payload(settings.GITHUB_API_URL, sha="a" * 40)
    assert deliver(api_client, payload, secret="someone-else").status_code in (401, 403)


def test_a_replayed_delivery_is_refused(api_client, people, settings, github, django_capture_on_commit_callbacks):
    launch = approved_launch(people)
    payload = replayed_payload(settings.GITHUB_API_URL, sha=map_launch(settings, launch))
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(api_client, payload, delivery="same").status_code == 202
        replay = deliver(api_client, payload, delivery="same")
    assert (replay.status_code, replay.json()["code"]) == (409, "replayed_delivery")
    assert GitHubReview.objects.count() == 1 and len(reviews(github)) == 1


def test_a_callback_url_off_the_configured_api_is_refused(api_client, settings, github):
    payload = replayed_payload(settings.GITHUB_API_URL, sha="a" * 40)
    payload["deployment_callback_url"] = "https://attacker.example/repos/acme/credit/actions/runs/1/deployment_protection_rule"
    response = deliver(api_client, payload)
    assert response.status_code == 400 and not GitHubReview.objects.exists()


def test_gatehouse_down_never_approves(api_client, people, settings, github, monkeypatch,
                                      django_capture_on_commit_callbacks):
    launch = approved_launch(people)
    payload = replayed_payload(settings.GITHUB_API_URL, sha=map_launch(settings, launch))

    def down(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(gate, "evaluate", down)
    from celery.exceptions import Retry

    responses = []
    with pytest.raises(Retry), django_capture_on_commit_callbacks(execute=True):  # the task retries later
        responses.append(deliver(api_client, payload))
    assert responses[0].status_code == 202
    assert not reviews(github) and GitHubReview.objects.get().state == "queued"


def test_ping_is_acknowledged_and_stores_nothing(api_client, settings, github):
    raw = b'{"zen": "Keep it logically awesome."}'
    signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    response = api_client.generic("POST", "/api/v1/gate/github/", raw, content_type="application/json",
                                  HTTP_X_GITHUB_EVENT="ping", HTTP_X_GITHUB_DELIVERY="p", HTTP_X_HUB_SIGNATURE_256=signature)
    assert response.status_code == 200 and not GitHubReview.objects.exists()
