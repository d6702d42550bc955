"""Inventory endpoints: input and output serializers kept apart; services do the writing."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from governance.inventory import selectors, services
from governance.inventory.filtersets import ModelFilterSet
from governance.inventory.models import (
    SHA256_RE,
    Feature,
    FeatureSource,
    MLModel,
    ModelVersion,
    ProxyRiskStatus,
    RiskTier,
    sha256_validator,
)
from governance.kernel.api_inputs import StrictListQuery, StrictSerializer, validated
from governance.kernel.idempotency import idempotent
from governance.kernel.models import User
from governance.kernel.permissions import require


class FeatureOut(serializers.ModelSerializer):
    missing_controls = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Feature
        fields = ["name", "description", "source", "vendor", "is_critical", "proxy_risk_status", "proxy_risk_ref",
                  "vendor_sla_ref", "drift_monitor_ref", "missing_controls"]


class VersionOut(serializers.ModelSerializer):
    features = FeatureOut(many=True, read_only=True)
    model: "serializers.SlugRelatedField[MLModel]" = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = ModelVersion
        fields = ["id", "model", "version", "artifact_sha256", "git_commit", "training_data_ref", "model_card",
                  "created_at", "features"]


class ModelOut(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)

    class Meta:
        model = MLModel
        fields = ["slug", "name", "owner", "business_use", "risk_tier", "regulatory_scope", "protected_attributes",
                  "created_at", "updated_at"]


VERSIONS_IN_DETAIL = 10


class ModelDetailOut(ModelOut):
    versions = VersionOut(many=True, read_only=True, source="newest_versions",
                          help_text=f"The {VERSIONS_IN_DETAIL} newest versions; every version, a page at a time, "
                                    "from the model's versions endpoint.")
    version_count = serializers.IntegerField(read_only=True, help_text="How many versions the model has in all.")

    class Meta(ModelOut.Meta):
        fields = [*ModelOut.Meta.fields, "version_count", "versions"]


class ModelIn(StrictSerializer):
    slug = serializers.CharField(max_length=80)
    name = serializers.CharField(max_length=200)
    owner = serializers.SlugRelatedField(slug_field="username", queryset=User.objects.filter(is_active=True))
    business_use = serializers.CharField()
    risk_tier = serializers.ChoiceField(choices=RiskTier.choices)
    regulatory_scope = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    protected_attributes = serializers.ListField(
        child=serializers.CharField(max_length=60), required=False, default=list, max_length=50
    )


class FeatureIn(StrictSerializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    source = serializers.ChoiceField(choices=FeatureSource.choices, default=FeatureSource.INTERNAL)  # type: ignore[assignment]  # a declared field, not Field.source
    vendor = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    is_critical = serializers.BooleanField(required=False, default=False)
    proxy_risk_status = serializers.ChoiceField(choices=ProxyRiskStatus.choices, default=ProxyRiskStatus.NOT_ASSESSED)
    proxy_risk_ref = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    vendor_sla_ref = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    drift_monitor_ref = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class VersionIn(StrictSerializer):
    version = serializers.CharField(max_length=60)
    # the pattern is in the schema, so a client learns the shape before it is refused for it
    artifact_sha256 = serializers.RegexField(SHA256_RE, max_length=64, error_messages={
        "invalid": sha256_validator.message})
    git_commit = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    training_data_ref = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    model_card = serializers.CharField(required=False, allow_blank=True, default="", max_length=200_000)
    features = FeatureIn(many=True, required=False, default=list, max_length=2000)  # type: ignore[call-arg]  # many=True hands max_length to the ListSerializer


class ModelListCreate(GenericAPIView):
    serializer_class = ModelOut
    filterset_class = ModelFilterSet
    queryset = MLModel.objects.none()  # for the schema generator only; reads go through selectors

    @extend_schema(responses=ModelOut(many=True))
    def get(self, request):
        require(request.user, "model.view")
        qs = self.filter_queryset(selectors.inventory())
        model_ids = getattr(request.user, "model_ids", None)
        if model_ids is not None:  # a token limited to some models lists only those
            qs = qs.filter(pk__in=model_ids)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(ModelOut(page, many=True).data)

    @extend_schema(request=ModelIn, responses={201: ModelOut})
    @idempotent
    def post(self, request):
        require(request.user, "model.create")
        model = services.create_model(actor=request.user, **validated(ModelIn, request.data))
        return Response(ModelOut(model).data, status=201)


class ModelDetail(GenericAPIView):
    serializer_class = ModelDetailOut

    def get(self, request, slug):
        model = get_object_or_404(MLModel.objects.select_related("owner"), slug=slug)
        require(request.user, "model.view", model)
        # A model retrained weekly for years has hundreds of versions: the newest here, the rest paginated.
        versions = selectors.model_versions(model).select_related("model")
        model.version_count = versions.count()  # type: ignore[attr-defined]  # read by ModelDetailOut
        model.newest_versions = list(versions[:VERSIONS_IN_DETAIL])  # type: ignore[attr-defined]
        return Response(ModelDetailOut(model).data)


class VersionCreate(GenericAPIView):
    serializer_class = VersionOut
    query_serializer_class = StrictListQuery
    queryset = ModelVersion.objects.none()  # for the schema generator only; reads go through selectors

    @extend_schema(responses=VersionOut(many=True))
    def get(self, request, slug):
        """Every version of the model, newest first, a page at a time."""
        model = get_object_or_404(MLModel, slug=slug)
        require(request.user, "model.view", model)
        validated(self.query_serializer_class, request.query_params)
        page = self.paginate_queryset(selectors.model_versions(model).select_related("model"))
        return self.get_paginated_response(VersionOut(page, many=True).data)

    @extend_schema(request=VersionIn, responses={201: VersionOut})
    @idempotent
    def post(self, request, slug):
        model = get_object_or_404(MLModel, slug=slug)
        require(request.user, "version.create", model)
        version = services.create_version(model, actor=request.user, **validated(VersionIn, request.data))
        return Response(VersionOut(version).data, status=201)
