"""Incident endpoints for monitoring: open incidents and add timeline events. Input and output serializers
are kept apart; services do the writing; an incident the caller may not see answers 404."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from governance.kernel import input_guard
from governance.kernel.api_inputs import AwareDateTimeField, StrictSerializer, validated
from governance.kernel.idempotency import idempotent
from governance.kernel.permissions import incident_visible_to, require
from governance.models import MLModel, User
from readiness.models import LaunchRequest

from . import selectors, services
from .filtersets import IncidentFilterSet
from .inputs import ImpactFiguresIn
from .models import DetectionSource, FactorCategory, Incident, Severity, TimelineEvent


def _seconds(delta):
    return delta.total_seconds() if delta is not None else None


class TimelineEventOut(serializers.ModelSerializer):
    class Meta:
        model = TimelineEvent
        fields = ["id", "at", "kind", "text", "author_label", "created_at"]


class IncidentOut(serializers.ModelSerializer):
    models: "serializers.SlugRelatedField[MLModel]" = serializers.SlugRelatedField(slug_field="slug", many=True,
                                                                                  read_only=True)
    launch: "serializers.PrimaryKeyRelatedField[LaunchRequest]" = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True)
    recurrence_of = serializers.SerializerMethodField()
    time_to_detect_seconds = serializers.SerializerMethodField()
    time_to_mitigate_seconds = serializers.SerializerMethodField()
    time_to_resolve_seconds = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = ["id", "title", "severity", "status", "detection_source", "began_at", "detected_at",
                  "mitigated_at", "resolved_at", "closed_at", "time_to_detect_seconds", "time_to_mitigate_seconds",
                  "time_to_resolve_seconds", "summary", "impact_text", "impact_figures", "fair_lending",
                  "consumer_harm", "restricted", "models", "launch", "recurrence_of", "opened_by", "created_at",
                  "url"]

    def get_recurrence_of(self, obj) -> int | None:
        # Only name the earlier incident when the caller may see it.
        if obj.recurrence_of_id is None:
            return None
        visible_ids = self.context.get("visible_ids")
        if visible_ids is not None:
            return obj.recurrence_of_id if obj.recurrence_of_id in visible_ids else None
        return obj.recurrence_of_id if incident_visible_to(self.context.get("actor"), obj.recurrence_of) else None

    def get_time_to_detect_seconds(self, obj) -> float | None:
        return _seconds(obj.time_to_detect)

    def get_time_to_mitigate_seconds(self, obj) -> float | None:
        return _seconds(obj.time_to_mitigate)

    def get_time_to_resolve_seconds(self, obj) -> float | None:
        return _seconds(obj.time_to_resolve)

    def get_url(self, obj) -> str:
        return obj.get_absolute_url()


class IncidentDetailOut(IncidentOut):
    timeline = TimelineEventOut(many=True, read_only=True)

    class Meta(IncidentOut.Meta):
        fields = [*IncidentOut.Meta.fields, "timeline"]


class TimelineEventIn(StrictSerializer):
    at = AwareDateTimeField()
    kind = serializers.ChoiceField(choices=TimelineEvent.Kind.choices)
    text = serializers.CharField(max_length=5000)


class FactorIn(StrictSerializer):
    category = serializers.ChoiceField(choices=FactorCategory.choices)
    description = serializers.CharField(max_length=5000)


class IncidentIn(StrictSerializer):
    title = serializers.CharField(max_length=200)
    severity = serializers.ChoiceField(choices=Severity.choices)
    detection_source = serializers.ChoiceField(choices=DetectionSource.choices)
    detected_at = AwareDateTimeField(required=False, allow_null=True, default=None)
    began_at = AwareDateTimeField(required=False, allow_null=True, default=None)
    summary = serializers.CharField(required=False, allow_blank=True, default="", max_length=50_000)
    impact_text = serializers.CharField(required=False, allow_blank=True, default="", max_length=50_000)
    impact_figures = ImpactFiguresIn(required=False, default=dict)
    models = serializers.SlugRelatedField(slug_field="slug", queryset=MLModel.objects.all(), many=True,
                                          required=False, default=list)  # type: ignore[arg-type]  # many=True: a list
    launch = serializers.PrimaryKeyRelatedField(queryset=LaunchRequest.objects.select_related("version__model"),
                                                required=False, allow_null=True, default=None)
    members = serializers.SlugRelatedField(slug_field="username", queryset=User.objects.filter(is_active=True),
                                           many=True, required=False, default=list)  # type: ignore[arg-type]  # many=True: a list
    fair_lending = serializers.BooleanField(required=False, default=False)
    consumer_harm = serializers.BooleanField(required=False, default=False)
    restricted = serializers.BooleanField(required=False, default=False)
    timeline = TimelineEventIn(many=True, required=False, default=list, max_length=500)  # type: ignore[call-arg]  # many=True hands max_length to the ListSerializer
    factors = FactorIn(many=True, required=False, default=list, max_length=50)  # type: ignore[call-arg]  # many=True hands max_length to the ListSerializer


def _visible_or_404(user, pk, queryset=None) -> Incident:
    try:
        return selectors.get_visible_incident(user, pk, queryset)
    except Incident.DoesNotExist:
        raise Http404 from None


class IncidentListCreate(GenericAPIView):
    serializer_class = IncidentOut
    filterset_class = IncidentFilterSet
    parser_classes = [input_guard.JSONParser]  # a form cannot carry the list of factors; it would read as none
    queryset = Incident.objects.none()  # for the schema generator only; reads go through the visibility selector

    @extend_schema(responses=IncidentOut(many=True))
    def get(self, request):
        require(request.user, "incident.view")
        qs = selectors.visible_incidents(request.user).prefetch_related("models").order_by("-detected_at", "-pk")
        page = self.paginate_queryset(self.filter_queryset(qs)) or []
        earlier = {i.recurrence_of_id for i in page if i.recurrence_of_id}
        visible_ids = set(selectors.visible_incidents(request.user).filter(pk__in=earlier).values_list(
            "pk", flat=True)) if earlier else set()
        context = {"actor": request.user, "visible_ids": visible_ids}
        return self.get_paginated_response(IncidentOut(page, many=True, context=context).data)

    @extend_schema(request=IncidentIn, responses={201: IncidentDetailOut})
    @idempotent
    def post(self, request):
        require(request.user, "incident.create")
        incident = services.open_incident(actor=request.user, **validated(IncidentIn, request.data))
        incident = Incident.objects.prefetch_related("models", "timeline").get(pk=incident.pk)
        return Response(IncidentDetailOut(incident, context={"actor": request.user}).data, status=201)


class IncidentDetail(GenericAPIView):
    serializer_class = IncidentDetailOut

    def get(self, request, pk):
        incident = _visible_or_404(request.user, pk, Incident.objects.select_related("recurrence_of")
                                   .prefetch_related("models", "timeline"))
        require(request.user, "incident.view", incident)
        return Response(IncidentDetailOut(incident, context={"actor": request.user}).data)


class TimelineCreate(GenericAPIView):
    serializer_class = TimelineEventOut

    @extend_schema(request=TimelineEventIn, responses={201: TimelineEventOut})
    @idempotent
    def post(self, request, pk):
        incident = _visible_or_404(request.user, pk)
        require(request.user, "incident.edit", incident)
        event = services.add_timeline_event(incident, actor=request.user, **validated(TimelineEventIn, request.data))
        return Response(TimelineEventOut(event).data, status=201)
