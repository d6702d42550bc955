"""The gate's decision as every deploy tool receives it: bound to what ships, classified, recorded.

``answer`` is the only way a contract asks the gate. It adds nothing to the gate's rules but three things every
contract needs alike:

- **Bound to what ships.** A call names the version, the artifact digest, or both; a digest that is not the
  version's ``artifact_sha256`` is a deny (``digest_mismatch``, or ``unknown_digest`` when no version of the model
  has it), signed into the receipt like any other reason.
- **Three answers.** ``allow``; ``inconclusive`` when the gate's deny has only reasons a person may settle
  (readiness.pending), which opens that person's question; ``deny`` otherwise.
- **Could not decide.** A gate answer with ``internal_error`` among its reasons, no receipt (signing failed), or
  an exception on the way is ``error``: each contract answers it with 503 and ``Retry-After``, never a 2xx.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import serializers
from rest_framework.exceptions import APIException
from rest_framework.generics import GenericAPIView
from rest_framework.metadata import SimpleMetadata
from rest_framework.response import Response

from governance.kernel.api_inputs import StrictQuerySerializer
from governance.kernel.errors import DomainError
from governance.kernel.permissions import require
from governance.models import MLModel, ModelVersion

from .. import gate, pending
from ..models import ToolDecisionValue
from . import records

if TYPE_CHECKING:
    from governance.kernel.principals import Actor, Requester

log = logging.getLogger(__name__)

DIGEST_RE = re.compile(r"^(sha256:)?[0-9a-fA-F]{64}$")
ALLOW, DENY, INCONCLUSIVE, ERROR = (ToolDecisionValue.ALLOW.value, ToolDecisionValue.DENY.value,
                                    ToolDecisionValue.INCONCLUSIVE.value, ToolDecisionValue.ERROR.value)
INTERNAL_ERROR = "internal_error"
THREE_WAY = ("allow", "deny", "inconclusive")  # the decision every contract answers (named in the OpenAPI schema)


def normalise_digest(digest: str) -> str:
    """``sha256:ABC…`` (an OCI image digest) and ``abc…`` (an artifact's sha256) name the same bytes."""
    digest = digest.strip().lower()
    return digest.removeprefix("sha256:")


class DigestField(serializers.RegexField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "The artifact's sha256 (64 hex digits, optionally prefixed sha256:), e.g. "
                                       "an image digest or Kargo freight's; checked against the version's")
        super().__init__(DIGEST_RE, max_length=71, **kwargs)


VERSION_OR_DIGEST = {"anyOf": [{"required": ["version"]}, {"required": ["digest"]}]}


class WhatShips(StrictQuerySerializer):
    """What a tool is about to ship: the model, its version or artifact digest (or both), the stage."""

    schema_name = "what_ships"
    schema_rules = VERSION_OR_DIGEST  # validate() below

    model = serializers.CharField(max_length=100, help_text="The model's slug")
    version = serializers.CharField(max_length=100, required=False, default="")
    digest = DigestField(required=False, default="")
    stage = serializers.CharField(max_length=100, help_text="The rollout stage the tool is about to enter")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("version") and not attrs.get("digest"):
            raise serializers.ValidationError({"version": ["Give the version, the digest, or both."]},
                                              code="required")
        return attrs


@dataclass(frozen=True)
class Ask:
    """One call from a tool: who, what it ships, in the tool's words (``kind``, ``subject``)."""

    tool: str
    model: str
    stage: str
    version: str = ""
    digest: str = ""
    kind: str = ""
    subject: str = ""


@dataclass(frozen=True)
class ToolAnswer:
    decision: str  # allow, deny, inconclusive or error
    verdict: dict[str, Any]
    receipt_id: str
    pending_decision: dict[str, Any] | None = None
    call_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.decision == ALLOW

    @property
    def codes(self) -> list[str]:
        return [r["code"] for r in self.verdict["reasons"]]

    def body(self) -> dict[str, Any]:
        """What every contract's JSON carries: the three-way decision and the gate's verdict, receipt included."""
        return {**self.verdict, "decision": self.decision, "gate_decision": self.verdict["decision"], "ok": self.ok,
                "receipt_id": self.receipt_id, "pending_decision": self.pending_decision}


def authorize(user: Requester, model: str) -> Actor:
    """The plain gate's permission, word for word: the ``gate:read`` scope, and a model-limited token only for its
    models. Returns the caller as the actor the call is recorded under (an anonymous caller is refused)."""
    found = None
    if getattr(user, "model_ids", None) is not None:
        found = MLModel.objects.filter(slug=model).only("pk").first()
    allowed_scope = "gate:read" in getattr(user, "scopes", ())
    require(user, "gate.read", found, message=f"This token may not ask the gate about {model}."
            if found is not None and allowed_scope else None)
    return cast("Actor", user)


def receipt_id(receipt: str | None) -> str:
    """The receipt's id: its ``jti`` claim when it carries one, else the sha256 of the compact JWS (stable, and
    what a verifier can recompute from the receipt alone)."""
    if not receipt:
        return ""
    try:
        payload = receipt.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        claims = None
    if isinstance(claims, dict) and isinstance(claims.get("jti"), str):
        return claims["jti"]
    return hashlib.sha256(receipt.encode()).hexdigest()[:32]


def _binding(ask: Ask) -> tuple[str, dict[str, str] | None]:
    """The version to ask the gate about, and a deny reason when the digest does not name that version."""
    if not ask.digest:
        return ask.version, None
    digest = normalise_digest(ask.digest)
    if ask.version:
        expected = (ModelVersion.objects.filter(model__slug=ask.model, version=ask.version)
                    .values_list("artifact_sha256", flat=True).first())
        if expected is not None and normalise_digest(expected or "") != digest:
            return ask.version, {"code": "digest_mismatch", "detail": (
                f"The artifact being deployed (sha256:{digest[:12]}…) is not {ask.model} {ask.version}'s "
                f"(sha256:{normalise_digest(expected or '')[:12]}…).")}
        return ask.version, None
    versions = list(ModelVersion.objects.filter(model__slug=ask.model, artifact_sha256__iexact=digest)
                    .order_by("-pk").values_list("version", flat=True)[:1])
    if versions:
        return versions[0], None
    return "", {"code": "unknown_digest", "detail": f"No version of {ask.model} has the artifact sha256:{digest}."}


def _could_not_decide(ask: Ask) -> dict[str, Any]:
    return {"decision": "deny", "model": ask.model, "version": ask.version, "stage": ask.stage, "launch": None,
            "status": None, "content_hash": None, "pending_decision": None, "receipt": None,
            "reasons": [{"code": INTERNAL_ERROR, "detail": "Gatehouse could not decide; retry later."}]}


def classify(verdict: dict[str, Any]) -> str:
    """The three-way decision of a verdict, or ``error`` when the verdict says the gate could not decide."""
    if not verdict.get("receipt") or any(r["code"] == INTERNAL_ERROR for r in verdict["reasons"]):
        return ERROR
    if verdict["decision"] == "allow":
        return ALLOW
    return INCONCLUSIVE if pending.is_inconclusive(verdict["reasons"]) else DENY


def _deny_with(verdict: dict[str, Any], reason: dict[str, str]) -> dict[str, Any]:
    """The gate's verdict with one more deny reason, signed again so that the receipt says what the tool got."""
    denied = {key: value for key, value in verdict.items() if key != "receipt"}
    denied.update(decision="deny", reasons=[*verdict["reasons"], reason])
    try:
        denied["receipt"] = gate.sign_receipt(denied)
    except Exception:
        log.exception("gate receipt signing failed")
        denied["receipt"] = None
    return denied


def answer(ask: Ask, *, caller: Actor, guard: records.CanaryGuard | None = None,
           opens_question: bool = True) -> ToolAnswer:
    """Ask the gate for a tool and record the call. ``guard`` binds a Flagger call to its canary's revision: when
    the canary is bound to another checksum the answer is a deny (``canary_changed``), applied like a digest
    mismatch. The common call, about the bound revision, learns it from the statement that records it. A call
    that only reports (a Flagger event) does not hand an inconclusive decision to a person (``opens_question``)."""
    try:
        version, mismatch = _binding(ask)
        verdict = gate.decide(ask.model, version or ask.version or normalise_digest(ask.digest), ask.stage)
        if mismatch is not None and verdict.get("receipt"):
            verdict = _deny_with(verdict, mismatch)
    except gate.GateUndecided as undecided:  # the gate's own internal_error deny, as the plain gate answers it
        verdict = undecided.verdict
    except Exception:
        log.exception("deploy gate could not decide for %s", ask)
        verdict = _could_not_decide(ask)
    try:
        if guard is not None and classify(verdict) == INCONCLUSIVE and verdict.get("pending_decision") is None:
            verdict, guard = _bound(verdict, guard), None  # settle the revision before a person is asked
        result = _classified(ask, verdict, opens_question=opens_question)
        call_id = records.record_call(ask, result, caller=caller, guard=guard)
        if call_id is None:  # the canary is not bound to this checksum: bind it, or deny canary_changed
            result = _classified(ask, _bound(verdict, guard), opens_question=opens_question)  # type: ignore[arg-type]  # a guard refused the row
            call_id = records.record_call(ask, result, caller=caller)
        return replace(result, call_id=call_id)
    except Exception:
        # A call that cannot be recorded cannot be shown to the launch's people: it is not an answer to act on.
        log.exception("could not record the call from %s", ask.tool)
        return ToolAnswer(ERROR, _could_not_decide(ask), "", None)


def _bound(verdict: dict[str, Any], guard: records.CanaryGuard) -> dict[str, Any]:
    reason = guard.bind()
    return _deny_with(verdict, reason) if reason is not None and verdict.get("receipt") else verdict


def _classified(ask: Ask, verdict: dict[str, Any], *, opens_question: bool) -> ToolAnswer:
    """The answer for a verdict; an inconclusive one opens the person's question unless one is open already."""
    decision = classify(verdict)
    pending_summary = verdict.get("pending_decision")
    if decision == INCONCLUSIVE and pending_summary is None and opens_question:
        try:
            pending_summary = pending.open_decision(verdict["launch"], stage=ask.stage,
                                                    content_hash=verdict["content_hash"],
                                                    reasons=verdict["reasons"], tool=ask.tool)
        except Exception:
            log.exception("could not open a pending decision for %s", ask)
            decision, verdict = ERROR, _could_not_decide(ask)
    return ToolAnswer(decision, verdict, receipt_id(verdict.get("receipt")), pending_summary)


def unavailable(body: dict[str, Any]) -> Response:
    """The answer of every contract when Gatehouse could not decide: 503 with Retry-After, never a 2xx."""
    return Response({**body, "code": INTERNAL_ERROR, "ok": False}, status=503,
                    headers={"Retry-After": str(settings.GATE_RETRY_AFTER_SECONDS)})


class ContractMetadata(SimpleMetadata):
    """OPTIONS on a contract: its name and media types, without the form DRF would build from a serializer (a
    contract reads the tool's own body, so it has none; asking for one failed and answered 503)."""

    def determine_actions(self, request: Any, view: Any) -> dict[str, Any]:
        return {}


class ContractView(GenericAPIView):
    """A contract's view: a refused request (bad input, no credentials, no permission) is a 4xx like anywhere in
    the API; anything unexpected (the database down before the gate was even asked) is 503 with Retry-After."""

    serializer_class = None
    metadata_class = ContractMetadata

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, APIException | DomainError | Http404 | DjangoPermissionDenied):
            return super().handle_exception(exc)
        log.error("deploy contract could not decide", exc_info=exc)
        return unavailable({"decision": ERROR, "reasons": [
            {"code": INTERNAL_ERROR, "detail": "Gatehouse could not decide; retry later."}]})


def validated_payload(serializer_class: type[serializers.Serializer[Any]], data: Any) -> dict[str, Any]:
    """A tool's own body, checked for the fields Gatehouse reads (the tool may send more: it owns the shape)."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
