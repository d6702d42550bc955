"""Endpoints to record an incident's impact and obligations: counts of decisions and customers affected, customer
remediation, regulatory notifications, and the committee's asks. Thin: a serializer declares the input, a service
in postmortems.obligations checks and writes; GET lists an incident's records a page at a time, as the API's other
lists do. An incident the caller may not see answers 404, the same answer as for one that does not exist."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from governance.kernel.api_inputs import AwareDateTimeField, StrictListQuery, StrictSerializer, validated
from governance.kernel.idempotency import idempotent
from governance.kernel.permissions import require

from . import obligations
from .api import _visible_or_404
from .models import (
    AffectedMeasure,
    AskKind,
    CommitteeAsk,
    CustomerRemediation,
    ImpactCount,
    Incident,
    RegulatoryNotification,
    RemediationStatus,
)


class ImpactCountIn(StrictSerializer):
    # validate() below: counted from observations (decisions only), or entered, with the count.
    schema_rules = {"oneOf": [
        {"required": ["count_from_observations"],
         "properties": {"count_from_observations": {"enum": [True]}, "measure": {"enum": [AffectedMeasure.DECISIONS.value]}}},
        {"required": ["count"], "properties": {"count_from_observations": {"enum": [False]}}},
    ]}
    measure = serializers.ChoiceField(choices=AffectedMeasure.choices)
    count = serializers.IntegerField(min_value=0, max_value=10**12, required=False)
    source_detail = serializers.CharField(max_length=400, required=False, allow_blank=True)
    count_from_observations = serializers.BooleanField(
        default=False, help_text="Count decisions from the launch's 'decisions' observations instead of entering them.")

    def validate(self, attrs):
        if attrs["count_from_observations"]:
            if attrs["measure"] != AffectedMeasure.DECISIONS:
                raise serializers.ValidationError({"measure": "Only decisions can be counted from observations."})
        elif attrs.get("count") is None:
            raise serializers.ValidationError({"count": "Give the count, or ask for it to be counted from "
                                                        "observations."})
        return attrs


class ImpactCountOut(serializers.ModelSerializer):
    class Meta:
        model = ImpactCount
        fields = ["measure", "count", "source", "source_detail", "recorded_by", "recorded_at"]


class RemediationIn(StrictSerializer):
    action = serializers.CharField(max_length=300)
    customers = serializers.IntegerField(min_value=0, max_value=10**12, required=False, allow_null=True)
    status = serializers.ChoiceField(choices=RemediationStatus.choices, default=RemediationStatus.PLANNED)
    due_date = serializers.DateField(required=False, allow_null=True)


class RemediationOut(serializers.ModelSerializer):
    class Meta:
        model = CustomerRemediation
        fields = ["id", "action", "customers", "status", "due_date", "completed_at"]


class NotificationIn(StrictSerializer):
    recipient = serializers.CharField(max_length=200)
    basis = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    due_at = AwareDateTimeField()
    sent_at = AwareDateTimeField(required=False, allow_null=True)
    reference = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class NotificationOut(serializers.ModelSerializer):
    class Meta:
        model = RegulatoryNotification
        fields = ["id", "recipient", "basis", "due_at", "sent_at", "reference"]


class AskIn(StrictSerializer):
    kind = serializers.ChoiceField(choices=AskKind.choices)
    text = serializers.CharField(max_length=2000)


class AskOut(serializers.ModelSerializer):
    class Meta:
        model = CommitteeAsk
        fields = ["id", "kind", "text", "created_by", "created_at"]


def _incident(request, pk, action="incident.edit"):
    incident = _visible_or_404(request.user, pk)
    require(request.user, action, incident)
    return incident


class _IncidentRecords(GenericAPIView):
    """An incident's records of one kind, a page at a time like every API list."""

    queryset = Incident.objects.none()  # for the schema generator (the path's pk); reads go through visibility
    query_serializer_class = StrictListQuery
    record_model: Any = ImpactCount
    ordering: tuple[str, ...] = ("pk",)

    def records(self, request, pk):
        incident = _incident(request, pk, "incident.view")
        validated(self.query_serializer_class, request.query_params)
        rows = self.record_model.objects.filter(incident=incident).order_by(*self.ordering)
        page = self.paginate_queryset(rows) or []
        return self.get_paginated_response(self.get_serializer_class()(page, many=True).data)


class ImpactCountListCreate(_IncidentRecords):
    serializer_class = ImpactCountOut
    record_model = ImpactCount
    ordering = ("measure",)

    @extend_schema(responses=ImpactCountOut(many=True))
    def get(self, request, pk):
        return self.records(request, pk)

    @extend_schema(request=ImpactCountIn, responses={201: ImpactCountOut})
    @idempotent
    def post(self, request, pk):
        incident = _incident(request, pk)
        values = validated(ImpactCountIn, request.data)
        if values["count_from_observations"]:
            row = obligations.count_affected_decisions(incident, actor=request.user)
        else:
            row = obligations.enter_affected_count(incident, actor=request.user, measure=values["measure"],
                                                   count=values["count"],
                                                   source_detail=values.get("source_detail", ""))
        return Response(ImpactCountOut(row).data, status=201)


class RemediationListCreate(_IncidentRecords):
    serializer_class = RemediationOut
    record_model = CustomerRemediation
    ordering = ("created_at", "pk")

    @extend_schema(responses=RemediationOut(many=True))
    def get(self, request, pk):
        return self.records(request, pk)

    @extend_schema(request=RemediationIn, responses={201: RemediationOut})
    @idempotent
    def post(self, request, pk):
        incident = _incident(request, pk)
        row = obligations.add_remediation(incident, actor=request.user, **validated(RemediationIn, request.data))
        return Response(RemediationOut(row).data, status=201)


class NotificationListCreate(_IncidentRecords):
    serializer_class = NotificationOut
    record_model = RegulatoryNotification
    ordering = ("due_at", "pk")

    @extend_schema(responses=NotificationOut(many=True))
    def get(self, request, pk):
        return self.records(request, pk)

    @extend_schema(request=NotificationIn, responses={201: NotificationOut})
    @idempotent
    def post(self, request, pk):
        incident = _incident(request, pk)
        row = obligations.add_notification(incident, actor=request.user, **validated(NotificationIn, request.data))
        return Response(NotificationOut(row).data, status=201)


class AskListCreate(_IncidentRecords):
    serializer_class = AskOut
    record_model = CommitteeAsk
    ordering = ("created_at", "pk")

    @extend_schema(responses=AskOut(many=True))
    def get(self, request, pk):
        return self.records(request, pk)

    @extend_schema(request=AskIn, responses={201: AskOut})
    @idempotent
    def post(self, request, pk):
        incident = _incident(request, pk)
        row = obligations.add_incident_ask(incident, actor=request.user, **validated(AskIn, request.data))
        return Response(AskOut(row).data, status=201)
