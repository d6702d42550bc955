"""Argo Rollouts' web metric provider and Kargo's verification (the same AnalysisTemplate), and Kargo's
promotion ``http`` step: one GET that answers 200 with ``decision`` = allow / deny / inconclusive whenever
Gatehouse can decide, and 503 only when it cannot.

Argo Rollouts (v1.7, docs "Analysis → Web"): a measurement is Successful when ``successCondition`` holds, Failed
when ``failureCondition`` holds, Inconclusive when neither does — and an Inconclusive measurement pauses the
rollout for a person; a non-2xx answer is a measurement Error, and ``consecutiveErrorLimit`` errors abort. So
the HTTP status must say only whether Gatehouse answered, and the body says what it answered. Kargo (v1.2, docs
"Promotion steps reference → http") reads the same body with ``successExpression`` / ``failureExpression``;
with neither true the step stays Running and is polled again.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from governance.kernel.api_inputs import validated

from ..models import DeployTool
from . import decision

ToolVerdict = inline_serializer("DeployToolVerdict", {
    "decision": serializers.ChoiceField(choices=decision.THREE_WAY),
    "ok": serializers.BooleanField(), "receipt_id": serializers.CharField(),
    "gate_decision": serializers.CharField(help_text="The plain gate's allow or deny"),
    "model": serializers.CharField(), "version": serializers.CharField(), "stage": serializers.CharField(),
    "launch": serializers.IntegerField(allow_null=True), "status": serializers.CharField(allow_null=True),
    "reasons": serializers.ListField(child=serializers.DictField()),
    "content_hash": serializers.CharField(allow_null=True), "evaluated_at": serializers.DateTimeField(),
    "receipt": serializers.CharField(allow_null=True), "pending_decision": serializers.DictField(allow_null=True)})

COULD_NOT_DECIDE = OpenApiResponse(ToolVerdict, description=(
    "Gatehouse could not decide (e.g. its database is down): code internal_error, Retry-After set. The tool counts "
    "a measurement error and fails after its limit; it never proceeds."))


class _WebMetric(decision.ContractView):
    tool = DeployTool.ARGO
    query_serializer_class = decision.WhatShips

    def get(self, request: Request) -> Response:
        values = validated(decision.WhatShips, request.query_params)
        caller = decision.authorize(request.user, values["model"])
        result = decision.answer(decision.Ask(tool=self.tool, kind="web-metric", **values), caller=caller)
        if result.decision == decision.ERROR:
            return decision.unavailable(result.body())
        return Response(result.body())


RESPONSES = {200: ToolVerdict, 503: COULD_NOT_DECIDE}


class ArgoWebMetric(_WebMetric):
    """Argo Rollouts web metric: ``successCondition: result.decision == "allow"``, ``failureCondition:
    result.decision == "deny"``; inconclusive pauses the rollout until a person decides."""

    tool = DeployTool.ARGO

    @extend_schema(operation_id="v1_gate_argo", parameters=[decision.WhatShips], responses=RESPONSES)
    def get(self, request: Request) -> Response:
        return super().get(request)


class KargoCheck(_WebMetric):
    """Kargo verification (the Argo AnalysisTemplate) and the promotion ``http`` step: inconclusive keeps the
    step Running, polled until a person decides."""

    tool = DeployTool.KARGO

    @extend_schema(operation_id="v1_gate_kargo", parameters=[decision.WhatShips], responses=RESPONSES)
    def get(self, request: Request) -> Response:
        return super().get(request)
