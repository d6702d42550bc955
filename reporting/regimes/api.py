"""The examiner's file over the API: a model's coverage per requirement, its declared regimes, its evidence bundle.
Declared inputs, one service or selector per call."""

from __future__ import annotations

from django.urls import reverse
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
from reporting.bundle import records
from reporting.models import BundleStatus
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


class BundleOut(serializers.Serializer):
    id = serializers.IntegerField()
    model = serializers.CharField(source="model.slug")
    regime = serializers.CharField(help_text="Empty: every declared regime.")
    status = serializers.ChoiceField(choices=BundleStatus.choices)
    error = serializers.CharField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)
    requested_by = serializers.CharField(source="requested_by.display_name")
    requested_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    def get_url(self, bundle) -> str:
        return self._absolute(reverse("api-evidence-bundle-detail", args=[bundle.pk]))

    def get_download_url(self, bundle) -> str | None:
        if bundle.status != BundleStatus.READY:
            return None
        return self._absolute(reverse("reporting:bundle_download", args=[bundle.pk]))


class EvidenceBundle(GenericAPIView):
    """Ask for the model's signed evidence bundle: 201 with the stored record (its ``url`` in ``Location``) while a
    worker builds it; 200 with the same record when an identical request is already queued or building. Poll the
    record; when READY, ``download_url`` streams the zip, which ``python manage.py verify_evidence_bundle FILE.zip``
    checks offline. Compliance, Legal and Model Risk only."""

    serializer_class = BundleIn

    @extend_schema(request=BundleIn, responses={201: BundleOut, 200: BundleOut})
    @idempotent
    def post(self, request, slug):
        model = _model(request, slug)
        values = validated(BundleIn, request.data)
        asked = records.request_bundle(model, actor=request.user, regime=values.get("regime") or None)
        body = BundleOut(asked.bundle, context={"request": request}).data
        return Response(body, status=201 if asked.created else 200, headers={"Location": body["url"]})


class EvidenceBundleDetail(GenericAPIView):
    """A stored evidence bundle's status. 404 to whoever may not export the model's evidence; 403
    ``bundle_view_differs`` to an exporter who sees other restricted matters than the requester did."""

    serializer_class = BundleOut

    def get(self, request, pk):
        bundle = records.readable_bundle(request.user, pk)
        return Response(BundleOut(bundle, context={"request": request}).data)
