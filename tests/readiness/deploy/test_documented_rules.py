"""Each tool's own documented rule, quoted with its version, applied to what Gatehouse answers when it allows,
denies, cannot conclude, and cannot decide at all: only an allow lets a tool proceed.

The rules are the tools' (quoted below); the configuration is the README's. A tool "proceeds" when it would move the
deployment forward on this answer: a Successful Argo measurement, a Kargo step that Succeeded, a 2xx from a
Flagger gating hook (and no 2xx from its rollback hook, which would roll back), a Spinnaker status in
successStatuses, a GitHub review with state approved.
"""

import copy
import json
from pathlib import Path

import pytest
import yaml
from django.db import DatabaseError

from readiness import gate

from .helpers import approved_launch, bearer, denied_launch, inconclusive_launch, what_ships

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures"

# Argo Rollouts v1.7, "Analysis → Web" and "Analysis" (argo-rollouts.readthedocs.io/en/stable/features/analysis/):
# "A measurement is considered Successful if successCondition evaluates to true, Failed if failureCondition evaluates
# to true, and Inconclusive if neither" ... "If the web provider returns a non-2xx status code, the measurement is
# considered an Error" ... "Inconclusive runs cause a rollout to become paused". Configuration (README):
# successCondition: result.decision == "allow"; failureCondition: result.decision == "deny".
ARGO = {"success": lambda result: result["decision"] == "allow", "failure": lambda result: result["decision"] == "deny"}


def argo_measurement(status, body):
    if not 200 <= status < 300:
        return "Error"
    if ARGO["success"](body):
        return "Successful"
    return "Failed" if ARGO["failure"](body) else "Inconclusive"


# Kargo v1.2, "Promotion Steps Reference → http" (docs.kargo.io): "successExpression: An expr-lang expression that
# can evaluate the response to determine success" ... "failureExpression ... failure" ... "If neither ... the step
# will be retried (it remains Running)"; a non-2xx with no expression matching is an error the step retries.
# Configuration (README): successExpression: response.Body.decision == "allow";
# failureExpression: response.Body.decision == "deny".
def kargo_step(status, body):
    if not 200 <= status < 300:
        return "Errored"
    if body["decision"] == "allow":
        return "Succeeded"
    return "Failed" if body["decision"] == "deny" else "Running"


FLAGGER = json.loads((FIXTURES / "flagger_webhooks.json").read_text())
# Flagger v1.37, "Usage → Webhooks": confirm-promotion — "The canary promotion is paused until the hooks return HTTP
# 200"; rollback — "If a rollback hook returns a successful HTTP status code, Flagger will stop the analysis and
# mark the canary release as failed."


def flagger_gate(status):
    return "proceeds" if 200 <= status < 300 else "paused"


def flagger_rollback(status):
    return "rolled back" if 200 <= status < 300 else "continues"


SPINNAKER = yaml.safe_load((FIXTURES / "spinnaker_orca_local.yml").read_text())["webhook"]["preconfigured"][0]


# Spinnaker 1.35, "Custom Webhook Stages": "successStatuses: Comma-separated list of strings that will be considered
# as SUCCESS status"; "terminalStatuses ... TERMINAL"; anything else keeps polling; a 5xx from the status URL is
# retried, never a success.
def spinnaker_stage(status, body):
    if not 200 <= status < 300:
        return "retrying"
    value = body[SPINNAKER["statusJsonPath"].removeprefix("$.")]
    if value in SPINNAKER["successStatuses"].split(","):
        return "SUCCEEDED"
    return "TERMINAL" if value in SPINNAKER["terminalStatuses"].split(",") else "RUNNING"


# GitHub (REST API 2022-11-28, "Review custom deployment protection rules for a workflow run", and "Deployment
# protection rules"): "state: Whether to approve or reject deployment to the specified environments" —
# the job deploys only when every protection rule approved; a review with only a comment leaves it waiting
# (it times out after 30 days); no callback at all leaves it waiting.
def github_job(reviews):
    states = [r.get("state") for r in reviews]
    if "rejected" in states:
        return "rejected"
    return "deploys" if states and states[-1] == "approved" else "waiting"


PROCEEDS = {"argo": "Successful", "kargo": "Succeeded", "flagger": "proceeds", "spinnaker": "SUCCEEDED",
            "github": "deploys"}
EXPECTED = {
    "allow": {"argo": "Successful", "kargo": "Succeeded", "flagger": "proceeds", "flagger-rollback": "continues",
              "spinnaker": "SUCCEEDED", "github": "deploys"},
    "deny": {"argo": "Failed", "kargo": "Failed", "flagger": "paused", "flagger-rollback": "continues",
             "spinnaker": "TERMINAL", "github": "rejected"},
    "inconclusive": {"argo": "Inconclusive", "kargo": "Running", "flagger": "paused",
                     "flagger-rollback": "continues", "spinnaker": "RUNNING", "github": "waiting"},
    "gatehouse down": {"argo": "Error", "kargo": "Errored", "flagger": "paused", "flagger-rollback": "continues",
                       "spinnaker": "retrying", "github": "waiting"},
}


def outcomes(api_client, launch, secret):
    bearer(api_client, secret)
    found = {}
    response = api_client.get("/api/v1/gate/argo/", what_ships(launch))
    found["argo"] = argo_measurement(response.status_code, response.json())
    response = api_client.get("/api/v1/gate/kargo/", what_ships(launch))
    found["kargo"] = kargo_step(response.status_code, response.json())
    payload = copy.deepcopy(FLAGGER["webhook"])
    payload["metadata"].update(model=launch.version.model.slug, version=launch.version.version, token=secret)
    found["flagger"] = flagger_gate(api_client.post("/api/v1/gate/flagger/confirm-promotion/", payload,
                                                    format="json").status_code)
    found["flagger-rollback"] = flagger_rollback(api_client.post("/api/v1/gate/flagger/rollback/", payload,
                                                                 format="json").status_code)
    started = api_client.post("/api/v1/gate/spinnaker/?" + "&".join(f"{k}={v}" for k, v in what_ships(launch).items()))
    if started.status_code == 202:
        status = api_client.get(started["Location"])
        found["spinnaker"] = spinnaker_stage(status.status_code, status.json())
    else:
        found["spinnaker"] = spinnaker_stage(started.status_code, started.json())
    return found


def github_outcome(api_client, launch, settings, github, capture):
    from celery.exceptions import Retry

    from .test_github import deliver, map_launch, replayed_payload, reviews

    payload = replayed_payload(settings.GITHUB_API_URL, sha=map_launch(settings, launch))
    try:
        with capture(execute=True):
            deliver(api_client, payload)
    except Retry:  # Gatehouse could not decide: the task retries later and calls nobody back
        pass
    return github_job(reviews(github))


@pytest.mark.parametrize("case", list(EXPECTED))
def test_each_tools_documented_rule_proceeds_only_on_allow(api_client, token_for, people, monkeypatch, case,
                                                           settings, github, django_capture_on_commit_callbacks):
    launch = {"allow": approved_launch, "deny": lambda p: denied_launch(p), "inconclusive": inconclusive_launch,
              "gatehouse down": approved_launch}[case](people)
    if case == "gatehouse down":
        def down(*args, **kwargs):
            raise DatabaseError("connection refused")

        monkeypatch.setattr(gate, "evaluate", down)
    found = outcomes(api_client, launch, token_for("gate:read")[1])
    api_client.credentials()
    found["github"] = github_outcome(api_client, launch, settings, github, django_capture_on_commit_callbacks)
    assert found == EXPECTED[case]
    proceeding = {tool for tool, outcome in found.items() if PROCEEDS.get(tool) == outcome}
    assert proceeding == (set(PROCEEDS) if case == "allow" else set())


@pytest.mark.parametrize("url", ["/api/v1/gate/argo/", "/api/v1/gate/kargo/", "/api/v1/gate/flagger/event/",
                                 "/api/v1/gate/spinnaker/", "/api/v1/gate/spinnaker/checks/1/", "/api/v1/gate/github/"])
def test_options_on_a_contract_is_answered_not_taken_for_a_failure_to_decide(api_client, people, url):
    api_client.force_authenticate(user=people["admin"])
    response = api_client.options(url)
    assert response.status_code == 200, response.content[:300]
    assert "Retry-After" not in response and "decision" not in response.json()
