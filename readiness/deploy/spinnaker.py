"""Spinnaker's preconfigured webhook stage: start a check, then let Orca poll its status URL.

Spinnaker (1.35, docs "Custom Webhook Stages", https://spinnaker.io/docs/guides/operator/custom-webhook-stages/)
runs a preconfigured webhook from ``orca-local.yml``. With ``waitForCompletion: true`` and
``statusUrlResolution: locationHeader`` it reads the status URL from the start answer's ``Location`` header and
GETs it until the value at ``statusJsonPath`` is one of ``successStatuses`` (the stage succeeds),
``canceledStatuses`` or ``terminalStatuses`` (it stops); any other value keeps it RUNNING and polling.
So: ``POST /api/v1/gate/spinnaker/?model&version|digest&stage`` answers 202 with ``Location``; the status body's
``status`` is ``allow`` (success), ``deny`` (terminal) or ``inconclusive`` (running, while a person decides), and
each poll asks the gate again, so a person's decision or a content change reaches the next poll. Gatehouse unable
to decide answers 503 with Retry-After: Orca retries, and never succeeds on it.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from governance.kernel.api_inputs import StrictQuerySerializer, validated

from ..models import DeployTool, ToolCall
from . import decision
from .argo import COULD_NOT_DECIDE

SpinnakerStatus = inline_serializer("SpinnakerCheckStatus", {
    "status": serializers.ChoiceField(choices=decision.THREE_WAY,
                                      help_text="statusJsonPath: $.status"),
    "detail": serializers.CharField(help_text="progressJsonPath: $.detail — the reasons in words"),
    "check": serializers.IntegerField(), "reasons": serializers.ListField(child=serializers.DictField()),
    "receipt_id": serializers.CharField(), "receipt": serializers.CharField(allow_null=True),
    "pending_decision": serializers.DictField(allow_null=True)})


def _status_body(check_id: int, result: decision.ToolAnswer) -> dict[str, object]:
    detail = "; ".join(r["detail"] for r in result.verdict["reasons"]) or "Allowed."
    return {"status": result.decision, "detail": detail[:1000], "check": check_id,
            "reasons": result.verdict["reasons"], "receipt_id": result.receipt_id,
            "receipt": result.verdict.get("receipt"), "pending_decision": result.pending_decision}


class SpinnakerStart(decision.ContractView):
    query_serializer_class = decision.WhatShips

    @extend_schema(operation_id="v1_gate_spinnaker_start", request=None, parameters=[decision.WhatShips],
                   responses={202: OpenApiResponse(SpinnakerStatus, description=(
                       "The check is started; its status URL is in the Location header")), 503: COULD_NOT_DECIDE})
    def post(self, request: Request) -> Response:
        values = validated(decision.WhatShips, request.query_params)
        caller = decision.authorize(request.user, values["model"])
        result = decision.answer(decision.Ask(tool=DeployTool.SPINNAKER, kind="start", **values),
                                 caller=caller)
        if result.decision == decision.ERROR or result.call_id is None:
            return decision.unavailable(result.body())
        location = request.build_absolute_uri(f"/api/v1/gate/spinnaker/checks/{result.call_id}/")
        return Response(_status_body(result.call_id, result), status=202, headers={"Location": location})


class NoQuery(StrictQuerySerializer):
    pass


class SpinnakerStatusView(decision.ContractView):
    @extend_schema(operation_id="v1_gate_spinnaker_status", responses={200: SpinnakerStatus,
                                                                      503: COULD_NOT_DECIDE})
    def get(self, request: Request, check: int) -> Response:
        validated(NoQuery, request.query_params)
        started = (ToolCall.objects.filter(pk=check, tool=DeployTool.SPINNAKER, kind="start")
                   .values("model", "version", "digest", "stage", "subject").first())
        if started is None:
            raise NotFound(f"No Spinnaker check {check}.")
        caller = decision.authorize(request.user, started["model"])
        result = decision.answer(decision.Ask(tool=DeployTool.SPINNAKER, kind="status", **started),
                                 caller=caller)
        if result.decision == decision.ERROR:
            return decision.unavailable(result.body())
        return Response(_status_body(check, result))
