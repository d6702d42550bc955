"""Model risk endpoints: a validator's working day over the API. Inputs are declared serializers; every write is
one service call, whose refusals become 400 (bad input), 403, 404 or 409 (a conflict with the record's state) in
the one exception handler."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from governance.inventory import services as inventory
from governance.inventory.materiality import Exposure, Purpose
from governance.inventory.models import MLModel
from governance.kernel import input_guard, visibility
from governance.kernel.api_inputs import AwareDateTimeField, StrictListQuery, StrictSerializer, validated
from governance.kernel.idempotency import idempotent
from governance.kernel.models import User
from governance.kernel.permissions import require
from governance.validation import selectors, services
from governance.validation.models import (
    Finding,
    FindingSeverity,
    GateWaiver,
    Outcome,
    RevalidationNeed,
    ScopeArea,
    Validation,
)


def _username(field: str) -> Any:
    return serializers.CharField(source=f"{field}.username", read_only=True, default=None)


class FindingOut(serializers.ModelSerializer[Finding]):
    validation = serializers.IntegerField(source="validation_id", read_only=True)
    model = serializers.CharField(source="model.slug", read_only=True)
    owner = _username("owner")
    delegate = _username("delegate")
    remediated_by = _username("remediated_by")
    retested_by = _username("retested_by")
    reopen_reason = serializers.CharField(source="shown_reopen_reason", read_only=True,
                                          help_text="Withheld when the incident that re-opened it is restricted.")

    class Meta:
        model = Finding
        fields = ["id", "validation", "model", "severity", "title", "description", "owner", "delegate", "due_date",
                  "status", "evidence", "remediated_by", "remediated_at", "retest_note", "retested_by", "closed_at",
                  "reopened_count", "reopen_reason", "source_incident_id", "created_at"]


class ValidationOut(serializers.ModelSerializer[Validation]):
    model = serializers.CharField(source="model.slug", read_only=True)
    version = serializers.CharField(source="version.version", read_only=True, default=None)
    validator = _username("validator")

    class Meta:
        model = Validation
        fields = ["id", "model", "version", "validator", "scope", "status", "outcome", "summary", "report_sha256",
                  "started_at", "completed_at", "valid_until"]


class ValidationDetailOut(ValidationOut):
    findings = FindingOut(many=True, read_only=True, source="shown_findings")

    class Meta(ValidationOut.Meta):
        fields = [*ValidationOut.Meta.fields, "findings"]


class NeedOut(serializers.ModelSerializer[RevalidationNeed]):
    model = serializers.CharField(source="model.slug", read_only=True)
    resolved_by = serializers.IntegerField(source="resolved_by_id", read_only=True, default=None)
    dismissed_by = _username("dismissed_by")

    class Meta:
        model = RevalidationNeed
        fields = ["id", "model", "trigger", "source_type", "source_id", "source_label", "opened_at", "due_date",
                  "resolved_by", "resolved_at", "dismissed_by", "dismiss_reason"]


class WaiverOut(serializers.ModelSerializer[GateWaiver]):
    model = serializers.CharField(source="model.slug", read_only=True)
    granted_by = _username("granted_by")

    class Meta:
        model = GateWaiver
        fields = ["id", "model", "code", "reason", "granted_by", "role", "expires_at", "created_at"]


class ClassificationOut(serializers.ModelSerializer[MLModel]):
    class Meta:
        model = MLModel
        fields = ["slug", "risk_tier", "is_model", "is_model_reason", "materiality", "materiality_exposure",
                  "materiality_purpose", "materiality_reason"]


def _people() -> Any:
    return serializers.SlugRelatedField(slug_field="username", queryset=User.objects.filter(is_active=True))


class ValidationIn(StrictSerializer):
    scope = serializers.ListField(child=serializers.ChoiceField(choices=ScopeArea.choices), allow_empty=False,
                                  max_length=len(ScopeArea.values))
    version = serializers.CharField(max_length=60, required=False, allow_null=True, default=None,
                                    help_text="The version validated; omit to validate the model as a whole.")


class FindingIn(StrictSerializer):
    severity = serializers.ChoiceField(choices=FindingSeverity.choices)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=20_000)
    owner = _people()
    due_date = serializers.DateField()


class SignIn(StrictSerializer):
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    summary = serializers.CharField(max_length=20_000)
    report = serializers.FileField(help_text="The validation report; its sha256 is recorded.")
    password = serializers.CharField(max_length=200, required=False, allow_null=True, default=None,
                                     style={"input_type": "password"}, help_text="Re-authentication.")


class RemediateIn(StrictSerializer):
    evidence = serializers.CharField(max_length=5_000)


class RetestIn(StrictSerializer):
    passed = serializers.BooleanField()
    note = serializers.CharField(max_length=5_000)


class DelegateIn(StrictSerializer):
    delegate = serializers.SlugRelatedField(slug_field="username", queryset=User.objects.filter(is_active=True),
                                            allow_null=True, help_text="null removes the delegate.")


class ReopenIn(StrictSerializer):
    reason = serializers.CharField(max_length=5_000)
    due_date = serializers.DateField()


class MaterialityIn(StrictSerializer):
    exposure = serializers.ChoiceField(choices=Exposure.choices)
    purpose = serializers.ChoiceField(choices=Purpose.choices)
    reason = serializers.CharField(max_length=5_000)
    password = serializers.CharField(max_length=200, required=False, allow_null=True, default=None,
                                     style={"input_type": "password"}, help_text="Re-authentication.")


class IsModelIn(StrictSerializer):
    is_model = serializers.BooleanField()
    reason = serializers.CharField(max_length=5_000)


class DismissNeedIn(StrictSerializer):
    reason = serializers.CharField(max_length=5_000)


class WaiverIn(StrictSerializer):
    code = serializers.ChoiceField(choices=sorted(services.WAIVABLE_CODES))
    reason = serializers.CharField(max_length=5_000)
    expires_at = AwareDateTimeField()
    password = serializers.CharField(max_length=200, required=False, allow_null=True, default=None,
                                     style={"input_type": "password"}, help_text="Re-authentication.")


def _model(request: Any, slug: str, action: str = "validation.view") -> MLModel:
    model = get_object_or_404(MLModel, slug=slug)
    require(request.user, action, model)
    return model


def _shown(request: Any, findings: list[Finding]) -> list[Finding]:
    hidden = visibility.hidden_incident_ids(request.user) if any(f.source_incident_id for f in findings) else set()
    for finding in findings:
        finding.shown_reopen_reason = visibility.redact(  # type: ignore[attr-defined]  # read by FindingOut
            finding.reopen_reason, finding.source_incident_id, hidden)
    return findings


def _validation(request: Any, validation_id: int) -> Validation:
    try:
        validation = selectors.validation_detail(validation_id)
    except Validation.DoesNotExist:
        from django.http import Http404

        raise Http404("No such validation.") from None
    require(request.user, "validation.view", validation.model)
    validation.shown_findings = _shown(request, list(validation.findings.all()))  # type: ignore[attr-defined]
    return validation


def _finding(request: Any, finding_id: int) -> Finding:
    try:
        finding = selectors.finding_detail(finding_id)
    except Finding.DoesNotExist:
        from django.http import Http404

        raise Http404("No such finding.") from None
    require(request.user, "validation.view", finding.model)
    return _shown(request, [finding])[0]


class ModelValidations(GenericAPIView):
    serializer_class = ValidationOut
    query_serializer_class = StrictListQuery
    queryset = Validation.objects.none()  # for the schema generator only; reads go through selectors

    @extend_schema(responses=ValidationOut(many=True))
    def get(self, request, slug):
        """The model's validations, newest first, a page at a time."""
        model = _model(request, slug)
        validated(self.query_serializer_class, request.query_params)
        page = self.paginate_queryset(selectors.model_validations(model).select_related("model"))
        return self.get_paginated_response(ValidationOut(page, many=True).data)

    @extend_schema(request=ValidationIn, responses={201: ValidationOut})
    @idempotent
    def post(self, request, slug):
        """Open a validation (Model Risk, independent of the model's development)."""
        model = _model(request, slug, "validation.perform")
        data = validated(ValidationIn, request.data)
        version = None
        if data["version"]:
            version = get_object_or_404(model.versions, version=data["version"])
        validation = services.start_validation(model, actor=request.user, scope=data["scope"], version=version)
        return Response(ValidationOut(validation).data, status=201)


class ValidationDetail(GenericAPIView):
    serializer_class = ValidationDetailOut

    def get(self, request, validation_id):
        return Response(ValidationDetailOut(_validation(request, validation_id)).data)


class FindingCreate(GenericAPIView):
    serializer_class = FindingOut

    @extend_schema(request=FindingIn, responses={201: FindingOut})
    @idempotent
    def post(self, request, validation_id):
        """Record a finding with its named owner and due date (the validator only)."""
        validation = _validation(request, validation_id)
        finding = services.add_finding(validation, actor=request.user, **validated(FindingIn, request.data))
        return Response(FindingOut(_shown(request, [finding])[0]).data, status=201)


class ValidationSign(GenericAPIView):
    serializer_class = ValidationOut
    parser_classes = [input_guard.MultiPartParser]  # the report is a file

    @extend_schema(request={"multipart/form-data": SignIn}, responses={200: ValidationOut})
    @idempotent
    def post(self, request, validation_id):
        """Sign the validation: outcome, conclusions and report (its sha256 recorded), after re-authenticating."""
        validation = _validation(request, validation_id)
        data = validated(SignIn, request.data)
        from governance.kernel.reauth import sso_proof

        validation = services.complete_validation(validation, actor=request.user, outcome=data["outcome"],
                                                  summary=data["summary"], report=data["report"],
                                                  password=data["password"], sso_proof=sso_proof(request))
        return Response(ValidationOut(validation).data)


class FindingDetail(GenericAPIView):
    serializer_class = FindingOut

    def get(self, request, finding_id):
        return Response(FindingOut(_finding(request, finding_id)).data)


class _FindingAction(GenericAPIView):
    serializer_class = FindingOut
    input_class: type[StrictSerializer]

    def act(self, request: Any, finding: Finding, data: dict[str, Any]) -> Finding:
        raise NotImplementedError

    def _post(self, request, finding_id):
        finding = _finding(request, finding_id)
        finding = self.act(request, finding, validated(self.input_class, request.data))
        return Response(FindingOut(_shown(request, [selectors.finding_detail(finding.pk)])[0]).data)


class FindingRemediate(_FindingAction):
    input_class = RemediateIn

    @extend_schema(request=RemediateIn, responses={200: FindingOut})
    @idempotent
    def post(self, request, finding_id):
        """The owner, or the delegate they recorded, says what remediated the finding."""
        return self._post(request, finding_id)

    def act(self, request, finding, data):
        return services.remediate_finding(finding, actor=request.user, evidence=data["evidence"])


class FindingRetest(_FindingAction):
    input_class = RetestIn

    @extend_schema(request=RetestIn, responses={200: FindingOut})
    @idempotent
    def post(self, request, finding_id):
        """The validator re-tests a remediated finding: a pass closes it, a fail sends it back to its owner."""
        return self._post(request, finding_id)

    def act(self, request, finding, data):
        return services.retest_finding(finding, actor=request.user, passed=data["passed"], note=data["note"])


class FindingDelegate(_FindingAction):
    input_class = DelegateIn

    @extend_schema(request=DelegateIn, responses={200: FindingOut})
    @idempotent
    def post(self, request, finding_id):
        """The owner records (or removes) a delegate who may remediate on their behalf."""
        return self._post(request, finding_id)

    def act(self, request, finding, data):
        return services.delegate_finding(finding, actor=request.user, delegate=data["delegate"])


class FindingReopen(_FindingAction):
    input_class = ReopenIn

    @extend_schema(request=ReopenIn, responses={200: FindingOut})
    @idempotent
    def post(self, request, finding_id):
        """Model Risk re-opens a remediated or closed finding, with a reason and a new due date."""
        return self._post(request, finding_id)

    def act(self, request, finding, data):
        return services.reopen_finding(finding, actor=request.user, reason=data["reason"],
                                       due_date=data["due_date"])


class ModelRevalidationNeeds(GenericAPIView):
    serializer_class = NeedOut
    query_serializer_class = StrictListQuery
    queryset = RevalidationNeed.objects.none()  # for the schema generator only

    @extend_schema(responses=NeedOut(many=True))
    def get(self, request, slug):
        """The model's open revalidation needs, soonest due first; signing a validation resolves them."""
        model = _model(request, slug)
        validated(self.query_serializer_class, request.query_params)
        page = self.paginate_queryset(selectors.model_open_needs(model).select_related("model"))
        return self.get_paginated_response(NeedOut(page, many=True).data)


class ModelMateriality(GenericAPIView):
    serializer_class = ClassificationOut

    @extend_schema(request=MaterialityIn, responses={200: ClassificationOut})
    @idempotent
    def post(self, request, slug):
        """Model Risk sets the model's materiality from its exposure and purpose, with a reason."""
        model = _model(request, slug, "model.classify")
        from governance.kernel.reauth import sso_proof

        model = inventory.set_materiality(model, actor=request.user, **validated(MaterialityIn, request.data),
                                          sso_proof=sso_proof(request), request=request)
        return Response(ClassificationOut(model).data)


class ModelIsModel(GenericAPIView):
    serializer_class = ClassificationOut

    @extend_schema(request=IsModelIn, responses={200: ClassificationOut})
    @idempotent
    def post(self, request, slug):
        """Model Risk records whether the entry is a model in the guidance's sense, and why."""
        model = _model(request, slug, "model.classify")
        model = inventory.decide_is_model(model, actor=request.user, **validated(IsModelIn, request.data))
        return Response(ClassificationOut(model).data)


class ModelWaiverCreate(GenericAPIView):
    serializer_class = WaiverOut

    @extend_schema(request=WaiverIn, responses={201: WaiverOut})
    @idempotent
    def post(self, request, slug):
        """Model Risk or Compliance waives one model-risk gate reason until an expiry, after re-authenticating."""
        from governance.kernel.reauth import sso_proof

        model = _model(request, slug, "validation.waive")
        data = validated(WaiverIn, request.data)
        waiver = services.waive_gate_reason(model, actor=request.user, code=data["code"], reason=data["reason"],
                                            expires_at=data["expires_at"], password=data["password"],
                                            sso_proof=sso_proof(request))
        return Response(WaiverOut(waiver).data, status=201)


class RevalidationNeedDismiss(GenericAPIView):
    serializer_class = NeedOut

    @extend_schema(request=DismissNeedIn, responses={200: NeedOut})
    @idempotent
    def post(self, request, need_id):
        """Model Risk dismisses a revalidation need by hand, with a reason: it is resolved without a validation."""
        need = get_object_or_404(RevalidationNeed.objects.select_related("model"), pk=need_id)
        require(request.user, "validation.view", need.model)
        need = services.dismiss_revalidation_need(need, actor=request.user, **validated(DismissNeedIn, request.data))
        return Response(NeedOut(need).data)
