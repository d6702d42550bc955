"""GitHub custom deployment protection rule: the Gatehouse GitHub App approves or rejects an environment's
deployment from the gate's decision.

GitHub sends the ``deployment_protection_rule`` webhook (``@octokit/openapi-webhooks``, event
``deployment-protection-rule-requested``) signed with ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with
the webhook secret). Gatehouse checks the signature, refuses a delivery id it has seen, stores the request and
answers 202 at once; a Celery task decides and calls back ``POST
/repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule`` (``actions/review-custom-gates-for-run``
in ``@octokit/openapi``) with ``environment_name``, ``state`` (approved / rejected) and a ``comment`` of at most
1,024 characters (coded reasons and the receipt), authenticated with an installation token obtained with the
App's JWT. An inconclusive decision posts a status comment first and approves or rejects when a person decides.
Which model and stage a repository's environment deploys is configuration (``GITHUB_DEPLOYMENTS``); the
deployment's ``sha`` must be the git commit of the version the gate evaluates.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import time
import urllib.request
from typing import Any

from celery import shared_task
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings
from django.db import IntegrityError, transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.response import Response

from governance.kernel import clock
from governance.kernel.api_inputs import StrictSerializer
from governance.kernel.errors import Conflict, ValidationFailed
from governance.kernel.principals import SystemActor
from governance.models import ModelVersion

from ..models import DeployTool, GitHubReview
from . import decision

log = logging.getLogger(__name__)
COMMENT_LIMIT = 1024
EVENT = "deployment_protection_rule"


# -- receiving ---------------------------------------------------------------------------------------------

def signature_valid(body: bytes, header: str) -> bool:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>``, compared in constant time."""
    secret = settings.GITHUB_WEBHOOK_SECRET
    if not secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


class Repository(serializers.Serializer[Any]):
    full_name = serializers.CharField(max_length=200)


class Installation(serializers.Serializer[Any]):
    id = serializers.IntegerField(min_value=1)


class Deployment(serializers.Serializer[Any]):
    sha = serializers.RegexField(r"^[0-9a-f]{7,40}$", max_length=40)


class ProtectionRuleRequested(StrictSerializer):
    """The fields Gatehouse reads from the webhook; the other top-level fields GitHub documents pass through
    (the test of the extracted description keeps this list equal to it). Nested objects are GitHub's."""

    passthrough = frozenset({"event", "pull_requests", "organization", "sender", "enterprise"})

    action = serializers.ChoiceField(choices=["requested"])
    environment = serializers.CharField(max_length=255)
    deployment_callback_url = serializers.URLField(max_length=500)
    deployment = Deployment()
    repository = Repository()
    installation = Installation()


def _run_id(callback_url: str, repository: str) -> int:
    pattern = (re.escape(settings.GITHUB_API_URL) + "/repos/" + re.escape(repository)
               + r"/actions/runs/(\d+)/deployment_protection_rule")
    match = re.fullmatch(pattern, callback_url)
    if match is None:
        raise ValidationFailed("deployment_callback_url is not this repository's review URL on the configured "
                               "GitHub API.", field="deployment_callback_url", code="invalid_callback_url")
    return int(match.group(1))


def receive(payload: dict[str, Any], *, delivery_id: str) -> GitHubReview:
    """Store one protection-rule request and queue its review. A delivery id seen before is a replay, refused."""
    run_id = _run_id(payload["deployment_callback_url"], payload["repository"]["full_name"])
    target = (settings.GITHUB_DEPLOYMENTS.get(payload["repository"]["full_name"], {})
              .get(payload["environment"], {}))
    try:
        with transaction.atomic():
            review = GitHubReview.objects.create(
                delivery_id=delivery_id, installation_id=payload["installation"]["id"],
                repository=payload["repository"]["full_name"], environment=payload["environment"], run_id=run_id,
                sha=payload["deployment"]["sha"], callback_url=payload["deployment_callback_url"],
                model=str(target.get("model", ""))[:100], stage=str(target.get("stage", ""))[:100],
                received_at=clock.now())
            transaction.on_commit(lambda: review_deployment.delay(review.pk))
    except IntegrityError:
        raise Conflict(f"Delivery {delivery_id} was already received; a replay is refused.",
                       code="replayed_delivery") from None
    return review


class GitHubWebhook(decision.ContractView):
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    @extend_schema(operation_id="v1_gate_github", request=ProtectionRuleRequested, responses={
        202: inline_serializer("GitHubReviewQueued", {"review": serializers.IntegerField(),
                                                      "state": serializers.CharField()}),
        200: OpenApiResponse(description="Another event (ping): acknowledged, nothing stored"),
        401: OpenApiResponse(description="Missing or wrong X-Hub-Signature-256"),
        409: OpenApiResponse(description="A delivery id already received (replay)")})
    def post(self, request: Request) -> Response:
        body = request._request.body  # the raw bytes the signature covers, before any parsing
        if not signature_valid(body, request.headers.get("X-Hub-Signature-256", "")):
            raise AuthenticationFailed("X-Hub-Signature-256 is missing or does not match the body.",
                                       code="bad_signature")
        event = request.headers.get("X-GitHub-Event", "")
        if event != EVENT:
            return Response({"ignored": event}, status=200)
        delivery_id = request.headers.get("X-GitHub-Delivery", "")
        if not delivery_id or len(delivery_id) > 100:
            raise ValidationFailed("X-GitHub-Delivery is required.", field="X-GitHub-Delivery")
        try:
            payload = json.loads(body)
        except ValueError:
            raise ValidationFailed("The body is not JSON.", field="body") from None
        values = decision.validated_payload(ProtectionRuleRequested, payload)
        review = receive(values, delivery_id=delivery_id)
        return Response({"review": review.pk, "state": review.state}, status=202)


# -- calling back ------------------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def app_jwt(now: float | None = None) -> str:
    """The App's JWT (RS256, issued a minute in the past for clock drift, valid nine minutes; GitHub allows ten)."""
    now = int(now or time.time())
    key = serialization.load_pem_private_key(settings.GITHUB_APP_PRIVATE_KEY.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("GITHUB_APP_PRIVATE_KEY is not an RSA key")
    signing_input = (_b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode()) + "."
                     + _b64(json.dumps({"iat": now - 60, "exp": now + 540, "iss": settings.GITHUB_APP_ID}).encode()))
    return signing_input + "." + _b64(key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()))


def _post(url: str, token: str, body: dict[str, Any] | None, *, scheme: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, method="POST", data=json.dumps(body or {}).encode(), headers={
        "Authorization": f"{scheme} {token}", "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28", "Content-Type": "application/json", "User-Agent": "Gatehouse"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - URL checked against GITHUB_API_URL
        return response.status, response.read()


def installation_token(installation_id: int) -> str:
    status, body = _post(f"{settings.GITHUB_API_URL}/app/installations/{installation_id}/access_tokens",
                         app_jwt(), None, scheme="Bearer")
    return str(json.loads(body)["token"])


def comment_for(result: decision.ToolAnswer, review: GitHubReview) -> str:
    """The coded reasons and where to check the receipt, within GitHub's 1,024 characters."""
    codes = ", ".join(dict.fromkeys(result.codes)) or "none"
    site = settings.SITE_URL.rstrip("/")
    launch = result.verdict.get("launch")
    where = f"{site}/launches/{launch}/#deploy-decisions" if launch else f"{site}/api/v1/gate/"
    head = f"Gatehouse: {result.decision} for {review.model or '?'} {result.verdict.get('version') or ''} " \
           f"stage {review.stage or '?'}. Reasons: {codes}."
    tail = f" Receipt {result.receipt_id} (verify with {site}/api/v1/keys/): {where}"
    if result.decision == decision.INCONCLUSIVE:
        tail = " Waiting for a person's decision." + tail
    return (head + tail)[:COMMENT_LIMIT]


def review_once(review: GitHubReview) -> str:
    """Decide one stored request and call GitHub back; returns the review's new state."""
    version = (ModelVersion.objects.filter(model__slug=review.model, git_commit=review.sha)
               .order_by("-pk").values_list("version", flat=True).first()) if review.model else None
    ask = decision.Ask(tool=DeployTool.GITHUB, kind=EVENT, model=review.model or "(unmapped)",
                       version=version or review.sha, stage=review.stage or "(unmapped)",
                       subject=f"{review.repository} {review.environment} run {review.run_id}")
    result = decision.answer(ask, caller=SystemActor("github-app"))
    if result.decision == decision.ERROR:
        raise RuntimeError("Gatehouse could not decide; the review is retried")
    comment = comment_for(result, review)
    token = installation_token(review.installation_id)
    if result.decision == decision.INCONCLUSIVE:
        if review.state != GitHubReview.State.WAITING:
            _post(review.callback_url, token, {"environment_name": review.environment, "comment": comment},
                  scheme="Bearer")
        state = GitHubReview.State.WAITING
    else:
        state = GitHubReview.State.APPROVED if result.ok else GitHubReview.State.REJECTED
        _post(review.callback_url, token, {"environment_name": review.environment, "state": state,
                                           "comment": comment}, scheme="Bearer")
    GitHubReview.objects.filter(pk=review.pk).update(state=state, comment=comment, launch_id=result.verdict.get("launch"),
                                                     reviewed_at=clock.now())
    return state


@shared_task(name="readiness.tasks.review_github_deployment", acks_late=True, reject_on_worker_lost=True,
             autoretry_for=(Exception,), retry_backoff=True, max_retries=8)
def review_deployment(review_id: int) -> str:
    """A review must not be lost (GitHub holds the deployment until it is answered): acknowledged after it
    returns, handed back if the worker dies. A review already answered is left alone on a second delivery."""
    review = GitHubReview.objects.get(pk=review_id)
    if review.state in (GitHubReview.State.APPROVED, GitHubReview.State.REJECTED):
        return review.state
    return review_once(review)


def on_pending_decided(launch_id: int, stage: str) -> None:
    """A person decided an inconclusive question: the waiting GitHub reviews of that launch and stage are
    reviewed again, and now approve or reject."""
    for pk in GitHubReview.objects.filter(launch_id=launch_id, stage=stage,
                                          state=GitHubReview.State.WAITING).values_list("pk", flat=True):
        review_deployment.delay(pk)
