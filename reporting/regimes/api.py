"""The examiner's file over the API: a model's coverage per requirement, its declared regimes, its evidence bundle.
Declared inputs, one service or selector per call."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from governance.inventory.models import MLModel
from governance.kernel.api_inputs import StrictQuerySerializer, StrictSerializer, validated
from governance.kernel.canonical import to_plain
from governance.kernel.errors import NotFound
from governance.kernel.idempotency import idempotent
from governance.kernel.permissions import require
from reporting.regimes import coverage, crosswalk, services


def _model(request, slug: str) -> MLModel:
    model = MLModel.objects.filter(slug=slug).first()
    if model is None:
        raise NotFound(f"No model {slug[:80]!r}.", code="model_not_found")
    require(request.user, "model.view", model)
    return model


def _regime_choices() -> list[str]:
    return sorted(crosswalk.regimes())


class CoverageQuery(StrictQuerySerializer):
    regime = serializers.CharField(required=False, max_length=60,
                                   help_text="One regime (declared or not) instead of every declared one.")

    def validate_regime(self, value: str) -> str:
        if value not in crosswalk.regimes():
            raise serializers.ValidationError(f"Unknown regime; use one of {', '.join(_regime_choices())}.")
        return value


class CoverageOut(serializers.Serializer):
    model = serializers.CharField()
    regimes = serializers.ListField(child=serializers.DictField())


class ModelCoverage(GenericAPIView):
    """Each requirement of the model's regimes: PRESENT (with its evidence), MISSING (with the owner role whose
    job it is) or NOT_APPLICABLE (with the reason)."""

    serializer_class = CoverageOut
    query_serializer_class = CoverageQuery

    @extend_schema(parameters=[OpenApiParameter("regime", str)], responses=CoverageOut)
    def get(self, request, slug):
        model = _model(request, slug)
        query = validated(CoverageQuery, request.query_params)
        file = coverage.model_coverage(model, viewer=request.user, regime=query.get("regime"))
        return Response(to_plain(file.as_dict()))


class RegimesIn(StrictSerializer):
    regimes = serializers.ListField(child=serializers.CharField(max_length=60), allow_empty=True, max_length=50,
                                    help_text="The whole list of regimes the model falls under.")


class RegimesOut(serializers.Serializer):
    model = serializers.CharField()
    regimes = serializers.ListField(child=serializers.CharField())


class ModelRegimes(GenericAPIView):
    serializer_class = RegimesOut

    @extend_schema(responses=RegimesOut)
    def get(self, request, slug):
        model = _model(request, slug)
        return Response({"model": model.slug, "regimes": [d.regime for d in coverage.declared_regimes(model)]})

    @extend_schema(request=RegimesIn, responses=RegimesOut)
    @idempotent
    def put(self, request, slug):
        model = _model(request, slug)
        values = validated(RegimesIn, request.data)
        names = services.declare_regimes(model, actor=request.user, regimes=values["regimes"])
        return Response({"model": model.slug, "regimes": names})


class BundleIn(StrictSerializer):
    regime = serializers.CharField(required=False, allow_null=True, max_length=60,
                                   help_text="One regime's coverage instead of every declared one's.")


class EvidenceBundle(GenericAPIView):
    """The model's signed evidence bundle as a zip (``application/zip``); verify it offline with
    ``python manage.py verify_evidence_bundle FILE.zip``. Compliance, Legal and Model Risk only."""

    serializer_class = BundleIn

    @extend_schema(request=BundleIn, responses={(200, "application/zip"): OpenApiTypes.BINARY})
    def post(self, request, slug):
        from django.http import HttpResponse

        from reporting.bundle.export import export_evidence_bundle

        model = _model(request, slug)
        values = validated(BundleIn, request.data)
        bundle = export_evidence_bundle(model, actor=request.user, regime=values.get("regime") or None)
        response = HttpResponse(bundle.content, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{bundle.filename}"'
        return response
