"""Flagger webhooks: the gate as each hook type reads an HTTP status.

Flagger (v1.37, docs "Usage → Webhooks", https://docs.flagger.app/usage/webhooks) POSTs ``{"name", "namespace",
"phase", "checksum", "metadata"}`` to each webhook (releases before ``checksum`` was added send no ``checksum``,
and the oldest no ``phase``) and treats a 2xx as success. A webhook cannot set headers, so the Gatehouse token
travels in ``metadata.token`` beside ``model``, ``version`` (or ``digest``) and ``stage``; it authenticates the call
and is never logged or stored.

- Gating hooks (``confirm-rollout``, ``confirm-traffic-increase``, ``confirm-promotion``, ``pre-rollout``,
  ``rollout``): 200 only for an allow bound to this canary's namespace/name and checksum; otherwise 403 with the
  coded reasons, which Flagger copies into the canary's events. Inconclusive is a 403 too (Flagger waits on a
  confirm hook and retries the others), while a person decides.
- ``rollback``: inverted. 200 means "roll back now": the launch was rolled back, its rollout is paused, or a
  guardrail is breached. 403 otherwise.
- ``post-rollout`` and ``event``: recorded on the launch's record of tool calls; always 200.
Gatehouse unable to decide answers 503 with Retry-After for every hook type.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed, NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from governance.kernel.api_inputs import StrictSerializer, validated
from governance.kernel.api_schema import ErrorOut
from governance.kernel.authentication import BearerTokenAuthentication

from .. import selectors
from ..models import DeployTool
from . import decision, records
from .argo import ToolVerdict

GATING = ("confirm-rollout", "confirm-traffic-increase", "confirm-promotion", "pre-rollout", "rollout")
REPORTING = ("post-rollout", "event")
ROLLBACK = "rollback"
HOOK_TYPES = (*GATING, ROLLBACK, *REPORTING)
# The keys Flagger adds to an event webhook's metadata, beside the webhook's own (pkg/controller/events.go).
EVENT_KEYS = frozenset({"eventMessage", "eventType", "timestamp"})


class FlaggerMetadata(StrictSerializer):
    passthrough = EVENT_KEYS
    schema_rules = decision.VERSION_OR_DIGEST  # validate() below

    token = serializers.CharField(max_length=200, help_text="A Gatehouse API token with gate:read (never stored)")
    model = serializers.CharField(max_length=100)
    version = serializers.CharField(max_length=100, required=False, default="")
    digest = decision.DigestField(required=False, default="")
    stage = serializers.CharField(max_length=100)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("version") and not attrs.get("digest"):
            raise serializers.ValidationError({"version": ["Give metadata.version, metadata.digest, or both."]})
        return attrs


class FlaggerPayload(StrictSerializer):
    name = serializers.CharField(max_length=253)
    namespace = serializers.CharField(max_length=253)
    phase = serializers.CharField(max_length=40, required=False, default="")
    checksum = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    metadata = FlaggerMetadata()


FlaggerAnswer = inline_serializer("FlaggerAnswer", {
    "decision": serializers.ChoiceField(choices=decision.THREE_WAY),
    "rollback": serializers.BooleanField(required=False), "ok": serializers.BooleanField(),
    "reasons": serializers.ListField(child=serializers.DictField()), "receipt_id": serializers.CharField(),
    "receipt": serializers.CharField(allow_null=True)})


FlaggerRefusal = PolymorphicProxySerializer(component_name="FlaggerRefusal", serializers=[FlaggerAnswer, ErrorOut],
                                           resource_type_field_name=None)


def _event_message(metadata: dict[str, Any]) -> str:
    message = metadata.get("eventMessage")
    return f": {message}" if isinstance(message, str) and message else ""


class FlaggerWebhook(decision.ContractView):
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    @extend_schema(
        operation_id="v1_gate_flagger", request=FlaggerPayload,
        parameters=[OpenApiParameter("hook", str, OpenApiParameter.PATH, enum=list(HOOK_TYPES),
                                     description="The Flagger webhook type this URL is configured for")],
        responses={200: FlaggerAnswer, 403: OpenApiResponse(FlaggerRefusal, description=(
            "Not allowed (a gating hook), or no reason to roll back (rollback): coded reasons in the body; or a "
            "token that may not ask (the error body)")),
                   503: OpenApiResponse(ToolVerdict, description="Gatehouse could not decide; retry later")})
    def post(self, request: Request, hook: str) -> Response:
        if hook not in HOOK_TYPES:
            raise NotFound(f"Unknown Flagger webhook type {hook!r}; one of {', '.join(HOOK_TYPES)}.")
        raw_metadata = request.data.get("metadata") if isinstance(request.data, dict) else None
        values = validated(FlaggerPayload, request.data)
        meta = values["metadata"]
        user, _ = BearerTokenAuthentication().authenticate_secret(meta["token"]) if meta["token"] else (None, None)
        if user is None:
            raise AuthenticationFailed("metadata.token is required.", code="not_authenticated")
        caller = decision.authorize(user, meta["model"])
        subject = f"{values['namespace']}/{values['name']}"
        ask = decision.Ask(tool=DeployTool.FLAGGER, kind=hook, model=meta["model"], version=meta["version"],
                           digest=meta["digest"], stage=meta["stage"],
                           subject=subject + (_event_message(raw_metadata or {}) if hook == "event" else ""))
        guard = None
        if hook in GATING and values["checksum"]:
            guard = records.CanaryGuard(
                namespace=values["namespace"], name=values["name"], checksum=values["checksum"],
                model=meta["model"], version=meta["version"] or meta["digest"],
                new_revision=hook == "confirm-rollout")
        result = decision.answer(ask, caller=caller, guard=guard, opens_question=hook in GATING)
        body = {"decision": result.decision if result.decision != decision.ERROR else "deny", "ok": result.ok,
                "reasons": result.verdict["reasons"], "receipt_id": result.receipt_id,
                "receipt": result.verdict.get("receipt"), "pending_decision": result.pending_decision}
        if result.decision == decision.ERROR:
            return decision.unavailable(body)
        if hook in REPORTING:
            return Response(body)
        if hook == ROLLBACK:
            signals = selectors.rollback_signals(result.verdict["launch"]) if result.verdict["launch"] else []
            return Response({**body, "rollback": bool(signals), "reasons": signals or body["reasons"]},
                            status=200 if signals else 403)
        return Response(body, status=200 if result.ok else 403)
