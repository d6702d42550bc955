"""Readiness API: launches, evaluations and the gate. Thin: parse, call a service, answer."""


import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import APIException
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from governance.kernel import input_guard, signing
from governance.kernel.api_inputs import (
    AwareDateTimeField,
    FiniteFloatField,
    JSONObjectField,
    StrictQuerySerializer,
    StrictSerializer,
    validated,
)
from governance.kernel.errors import DomainError, NotFound, PayloadTooLarge
from governance.kernel.idempotency import idempotent
from governance.kernel.permissions import require
from governance.models import MLModel, ModelVersion, User

from . import evaluations, gate, rollouts, selectors, services
from .filtersets import LaunchFilterSet
from .models import LaunchRequest

log = logging.getLogger(__name__)

class SignOffOut(serializers.Serializer):
    role = serializers.CharField()
    signer = serializers.CharField(source="signer.username")
    decision = serializers.CharField()
    conditions = serializers.CharField()
    dissent = serializers.CharField()
    content_hash = serializers.CharField()
    signed_at = serializers.DateTimeField()
    stale = serializers.BooleanField()


class ItemOut(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    category = serializers.CharField()
    blocking = serializers.BooleanField()
    kind = serializers.CharField()
    rule = serializers.CharField()
    status = serializers.CharField()
    result = serializers.JSONField()


class LaunchOut(serializers.Serializer):
    id = serializers.IntegerField()
    model = serializers.CharField(source="version.model.slug")
    version = serializers.CharField(source="version.version")
    title = serializers.CharField()
    status = serializers.CharField()
    required_roles = serializers.ListField(child=serializers.CharField())
    content_hash = serializers.CharField()
    decision = serializers.CharField()
    created_at = serializers.DateTimeField()
    url = serializers.CharField(source="get_absolute_url")


class LaunchDetailOut(LaunchOut):
    signoffs = SignOffOut(many=True, source="signoffs.all")
    checklist = ItemOut(many=True, source="items.all")


class LaunchIn(StrictSerializer):
    model = serializers.CharField(max_length=80)
    version = serializers.CharField(max_length=60)
    title = serializers.CharField(max_length=200)
    summary = serializers.CharField(required=False, allow_blank=True, default="", max_length=20_000)
    author = serializers.CharField(required=False, max_length=150,
                                   help_text="Username of the launch's author (token calls; default: the model owner)")


class LaunchList(GenericAPIView):
    serializer_class = LaunchOut
    filterset_class = LaunchFilterSet
    queryset = LaunchRequest.objects.none()  # for the schema generator only; reads go through selectors

    @extend_schema(operation_id="v1_launches_list", responses=LaunchOut(many=True))
    def get(self, request):
        require(request.user, "launch.view")
        qs = self.filter_queryset(selectors.launch_list())
        model_ids = getattr(request.user, "model_ids", None)
        if model_ids is not None:
            qs = qs.filter(version__model_id__in=model_ids)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(LaunchOut(page, many=True).data)

    @extend_schema(request=LaunchIn, responses={201: LaunchDetailOut})
    @idempotent
    def post(self, request):
        values = validated(LaunchIn, request.data)
        version = ModelVersion.objects.select_related("model__owner").filter(
            model__slug=values["model"], version=values["version"]).first()
        if version is None:
            raise NotFound(f"No version {values['version']!r} of model {values['model']!r}.", field="version",
                           code="unknown_version")
        require(request.user, "launch.create", version)
        author = request.user if isinstance(request.user, User) else None
        if author is None:
            username = values.get("author")
            author = (User.objects.filter(username=username, is_active=True).first() if username
                      else version.model.owner)
            if author is None:
                raise NotFound(f"No active person {username!r}.", field="author", code="unknown_person")
        launch = services.create_launch(version, actor=request.user, author=author, title=values["title"],
                                        summary=values["summary"])
        return Response(LaunchDetailOut(selectors.launch_detail(launch.pk)).data, status=201)


def _launch(request, pk, action):
    launch = get_object_or_404(LaunchRequest.objects.select_related("version__model"), pk=pk)
    require(request.user, action, launch)
    return launch


class LaunchDetail(GenericAPIView):
    serializer_class = LaunchDetailOut

    def get(self, request, pk):
        launch = _launch(request, pk, "launch.view")
        return Response(LaunchDetailOut(selectors.launch_detail(launch.pk)).data)


class EvaluationIn(StrictSerializer):
    metrics = JSONObjectField(required=False, help_text="Flat metric name → number, e.g. {\"auc\": 0.81, "
                                                        "\"psi.income\": 0.04}; JSON text in a multipart body")
    # An empty file is the evaluation service's to refuse, with the reason it gives for any file without rows.
    predictions = serializers.FileField(required=False, allow_empty_file=True,
                                        help_text="CSV: group, y_pred[, y_true, y_pred_champion, score]")
    baseline = serializers.FileField(required=False, allow_empty_file=True,
                                     help_text="CSV of feature values at training time (drift)")
    current = serializers.FileField(required=False, allow_empty_file=True,
                                    help_text="CSV of recent serving feature values (drift)")
    reference_group = serializers.CharField(required=False, max_length=200, trim_whitespace=False,
                                            help_text="The group each group's rates are compared with (a value "
                                                      "of the predictions' group column); by default the "
                                                      "group with the highest selection rate")


def _read_upload(upload, field):
    """The upload as the parser takes it: the path of the temporary file Django streamed it to, or the bytes of a
    small upload kept in memory (FILE_UPLOAD_MAX_MEMORY_SIZE), so a large file is never read whole into a worker."""
    if upload.size > settings.MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(f"{field} is {upload.size:,} bytes; the limit is {settings.MAX_UPLOAD_BYTES:,}.",
                              field=field, code="payload_too_large")
    if hasattr(upload, "temporary_file_path"):
        return upload.temporary_file_path()
    return upload.read()


class EvaluationCreate(GenericAPIView):
    parser_classes = [input_guard.JSONParser, input_guard.MultiPartParser]
    serializer_class = EvaluationIn

    @extend_schema(request={"application/json": EvaluationIn, "multipart/form-data": EvaluationIn},
                   responses={201: inline_serializer("EvaluationOut", {
                       "id": serializers.IntegerField(), "metrics": serializers.DictField(),
                       "report": serializers.JSONField(), "checklist": ItemOut(many=True),
                       "content_hash": serializers.CharField(), "status": serializers.CharField()})})
    def post(self, request, pk):
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > settings.MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(f"The request is {int(length):,} bytes; the limit is "
                                  f"{settings.MAX_UPLOAD_BYTES:,}.", field="predictions", code="payload_too_large")
        return self._create(request, pk)

    @idempotent
    def _create(self, request, pk):
        launch = _launch(request, pk, "evaluation.submit")
        values = validated(EvaluationIn, request.data)
        uploads = {name: _read_upload(values[name], name) for name in ("predictions", "baseline", "current")
                   if values.get(name) is not None}
        evaluation = evaluations.submit(launch, actor=request.user, metrics=values.get("metrics") or {},
                                        reference_group=values.get("reference_group"), **uploads)
        launch.refresh_from_db()
        items = launch.items.filter(kind="AUTOMATIC").order_by("position", "pk")
        return Response({"id": evaluation.pk, "metrics": evaluation.metrics, "report": evaluation.report,
                         "checklist": ItemOut(items, many=True).data, "content_hash": launch.content_hash,
                         "status": launch.status}, status=201)


class GateIn(StrictQuerySerializer):
    model = serializers.CharField(max_length=100, help_text="The model's slug")
    version = serializers.CharField(max_length=100)
    stage = serializers.CharField(max_length=100, help_text="The rollout stage the pipeline is about to enter")


GateOut = inline_serializer("GateVerdict", {
    "decision": serializers.ChoiceField(choices=["allow", "deny"]), "model": serializers.CharField(),
    "version": serializers.CharField(), "stage": serializers.CharField(),
    "launch": serializers.IntegerField(allow_null=True), "status": serializers.CharField(allow_null=True),
    "reasons": serializers.ListField(child=serializers.DictField()),
    "content_hash": serializers.CharField(allow_null=True),
    "artifact_sha256": serializers.CharField(allow_null=True), "evaluated_at": serializers.DateTimeField(),
    "receipt": serializers.CharField(allow_null=True),
    "pending_decision": serializers.DictField(allow_null=True, help_text=(
        "When the deny is inconclusive and a deploy tool handed it to a person: id, status (PENDING, ALLOWED, "
        "DENIED, EXPIRED), role and deadline"))})


class EvaluationGroupsCsv(GenericAPIView):
    """An evaluation's per-group fairness table as CSV (rates, AIR and error rates with their intervals)."""

    @extend_schema(responses={(200, "text/csv"): OpenApiResponse(description="One row a group")})
    def get(self, request, pk, evaluation_id):
        launch = _launch(request, pk, "launch.view")
        evaluation = get_object_or_404(launch.evaluations.only("pk", "report"), pk=evaluation_id)
        text = evaluations.groups_csv(evaluation.report)
        if text is None:
            raise Http404("This evaluation has no fairness report.")
        response = HttpResponse(text, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="evaluation-{evaluation.pk}-groups.csv"'
        return response


class Gate(GenericAPIView):
    """Fail closed, in JSON: a refused request (bad parameters, no credentials, no permission) is a 4xx like
    anywhere in the API; anything else — the database down, a receipt that cannot be signed — is a deny with the
    reason ``internal_error`` and status 503, so a pipeline that checks either the status or the decision stops."""

    serializer_class = None
    query_serializer_class = GateIn

    def handle_exception(self, exc):
        if isinstance(exc, APIException | DomainError | Http404 | DjangoPermissionDenied):
            return super().handle_exception(exc)
        if not isinstance(exc, gate.GateUndecided):
            log.error("gate could not decide; denying", exc_info=exc)
            params = {name: self.request.query_params.get(name, "") for name in ("model", "version", "stage")}
            exc = gate.undecided(**params)
        return Response(exc.verdict, status=503, headers={"Retry-After": str(exc.retry_after)})

    @extend_schema(parameters=[GateIn],
                   responses={200: GateOut, 503: OpenApiResponse(GateOut, description=(
                       "A deny with the reason internal_error: Gatehouse could not decide (e.g. its database is "
                       "down). The body is a complete, signed verdict; retry later."))})
    def get(self, request):
        params = validated(self.query_serializer_class, request.query_params)
        model = None
        if getattr(request.user, "model_ids", None) is not None:  # a token limited to some models
            model = MLModel.objects.filter(slug=params["model"]).only("pk").first()
        allowed_scope = "gate:read" in getattr(request.user, "scopes", ())
        require(request.user, "gate.read", model, message=f"This token may not ask the gate about {params['model']}."
                if model is not None and allowed_scope else None)
        return Response(gate.decide(**params))


KeySetOut = inline_serializer("ReceiptKeys", {"keys": serializers.ListField(child=inline_serializer("ReceiptKey", {
    "kty": serializers.CharField(), "crv": serializers.CharField(), "x": serializers.CharField(),
    "kid": serializers.CharField(), "use": serializers.CharField(), "alg": serializers.CharField(),
    "status": serializers.ChoiceField(choices=["active", "retired", "development"])}))})


class ReceiptKeys(GenericAPIView):
    """The public keys that sign gate receipts (JWKS, OKP/Ed25519), retired ones included and marked: anyone
    may verify a receipt with them, no account or secret needed."""

    serializer_class = None
    authentication_classes = []
    permission_classes = []

    @extend_schema(responses={200: KeySetOut})
    def get(self, request):
        return Response(signing.keyring().jwks())


class ReceiptExpectIn(StrictSerializer):
    model = serializers.CharField(required=False, max_length=100)
    version = serializers.CharField(required=False, max_length=100)
    stage = serializers.CharField(required=False, max_length=100)
    digest = serializers.RegexField(r"^[0-9a-f]{64}$", required=False)


class ReceiptVerifyIn(StrictSerializer):
    receipt = serializers.CharField(max_length=20_000)
    expect = ReceiptExpectIn(required=False)


ReceiptVerifyOut = inline_serializer("ReceiptCheck", {
    "status": serializers.ChoiceField(choices=["valid", "expired", "invalid"]), "code": serializers.CharField(),
    "reason": serializers.CharField(), "kid": serializers.CharField(allow_null=True),
    "key_status": serializers.CharField(allow_null=True), "verdict": serializers.DictField(allow_null=True)})


class ReceiptVerify(GenericAPIView):
    """Check a receipt as ``verify_gate_receipt --expect`` does: signature, validity window, and that it is for the
    model, version, stage and artifact digest about to ship. Public like the keys: checking needs no secret."""

    serializer_class = ReceiptVerifyIn
    authentication_classes = []
    permission_classes = []
    parser_classes = [input_guard.JSONParser]  # a form cannot carry the nested ``expect``; it would be dropped

    @extend_schema(request=ReceiptVerifyIn, responses={200: ReceiptVerifyOut})
    def post(self, request):
        data = validated(ReceiptVerifyIn, request.data)
        check = gate.verify_receipt(data["receipt"], expect=dict(data.get("expect") or {}))
        return Response({"status": check.status, "code": check.code, "reason": check.reason, "kid": check.kid,
                         "key_status": check.key_status, "verdict": check.verdict})


class ObservationIn(StrictSerializer):
    metric = serializers.CharField(max_length=100)
    value = FiniteFloatField()
    observed_at = AwareDateTimeField()
    segment = serializers.CharField(required=False, allow_blank=True, allow_null=True, default="", max_length=100)


class ObservationsIn(StrictSerializer):
    observations: "serializers.ListSerializer[Any]" = serializers.ListSerializer(
        child=ObservationIn(), allow_empty=False, max_length=rollouts.MAX_BATCH)


class ObservationsCreate(GenericAPIView):
    serializer_class = ObservationsIn
    parser_classes = [input_guard.JSONParser]  # a form cannot carry a list of objects; it would read as none

    @extend_schema(request=ObservationsIn, responses={201: inline_serializer("ObservationsOut", {
        "accepted": serializers.IntegerField(), "duplicates": serializers.IntegerField(),
        "status": serializers.CharField(), "guardrails": serializers.ListField(child=serializers.DictField()),
        "actions": serializers.ListField(child=serializers.DictField())})})
    @idempotent
    def post(self, request, pk):
        launch = _launch(request, pk, "observation.submit")
        values = validated(ObservationsIn, request.data)
        result = rollouts.record_observations(launch, actor=request.user,
                                              batch=[dict(entry) for entry in values["observations"]])
        return Response(result, status=201)


class AdvanceOut(serializers.Serializer):
    status = serializers.CharField()
    stage = serializers.CharField(allow_null=True)
    actions = serializers.ListField(child=serializers.DictField(), required=False)


class Advance(GenericAPIView):
    serializer_class = AdvanceOut

    @extend_schema(request=None, responses={200: AdvanceOut})
    @idempotent
    def post(self, request, pk):
        launch = _launch(request, pk, "rollout.advance")
        return Response(rollouts.advance_rollout(launch, actor=request.user))


class RollbackIn(StrictSerializer):
    reason = serializers.CharField(max_length=2000)


class Rollback(GenericAPIView):
    serializer_class = RollbackIn

    @extend_schema(request=RollbackIn, responses={200: inline_serializer("RollbackOut", {
        "status": serializers.CharField(), "incident": serializers.IntegerField(allow_null=True)})})
    @idempotent
    def post(self, request, pk):
        launch = _launch(request, pk, "rollout.rollback")
        values = validated(RollbackIn, request.data)
        result = rollouts.rollback(launch, actor=request.user, reason=values["reason"])
        return Response({"status": "ROLLED_BACK", "incident": result["incident"]})
