"""Reports API: ask for a report (202 while it is generated) and poll it. Services do the work.

A report the caller may not see answers 404, like a missing one. An identical request for unchanged content
answers 200 with the existing finished report instead of 202.
"""

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from governance.kernel.api_inputs import JSONObjectField, StrictListQuery, StrictSerializer, validated
from governance.kernel.errors import NotFound
from governance.kernel.idempotency import idempotent
from governance.kernel.permissions import require
from reporting import reports
from reporting.models import Report, ReportKind, ReportStatus
from reporting.periods import PERIOD_PATTERN

_DAY = {"type": "string", "format": "date"}
_ARCHIVAL = {"type": "boolean", "description": "PDF/A-3b, for records kept for years, instead of tagged PDF/UA-1"}


class ReportIn(StrictSerializer):
    # What each kind takes (reporting.services._subject, reporting.periods.pack_params): a dossier or an incident
    # report a subject and no parameters; a governance pack no subject and a period, or its first and last days.
    schema_rules = {"oneOf": [
        {"required": ["kind", "subject"], "properties": {
            "kind": {"enum": [ReportKind.LAUNCH_DOSSIER.value, ReportKind.INCIDENT_REPORT.value]},
            "subject": {"type": "integer", "minimum": 1},
            "params": {"type": "object", "properties": {"archival": _ARCHIVAL}, "additionalProperties": False}}},
        {"required": ["kind", "params"], "properties": {
            "kind": {"enum": [ReportKind.GOVERNANCE_PACK.value]},
            "subject": {"type": "integer", "nullable": True, "enum": [None]},
            "params": {"type": "object", "additionalProperties": False,
                       "properties": {"period": {"type": "string", "pattern": PERIOD_PATTERN}, "start": _DAY,
                                      "end": _DAY, "archival": _ARCHIVAL},
                       "oneOf": [{"required": ["period"]}, {"required": ["start", "end"]}]}}},
    ]}
    kind = serializers.ChoiceField(choices=ReportKind.choices)
    subject = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                       help_text="Launch number (LAUNCH_DOSSIER) or incident number (INCIDENT_REPORT).")
    params = JSONObjectField(required=False, default=dict,
                                   help_text='GOVERNANCE_PACK: {"period": "2026-Q3"} (also 2026-W40, 2026-07) or '
                                             '{"start": "2026-07-01", "end": "2026-09-30"}.')


class ReportOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    title = serializers.CharField()
    subject = serializers.SerializerMethodField()
    params = serializers.JSONField()
    status = serializers.CharField()
    error = serializers.CharField()
    attempts = serializers.IntegerField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)
    page_count = serializers.IntegerField(allow_null=True)
    content_hash = serializers.CharField()
    requested_by = serializers.CharField(source="requested_by_label")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    def get_subject(self, report) -> int | None:
        return report.launch_id or report.incident_id

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    def get_url(self, report) -> str:
        return self._absolute(reverse("api-report-detail", args=[report.pk]))

    def get_download_url(self, report) -> str | None:
        if report.status != ReportStatus.DONE:
            return None
        return self._absolute(reverse("reporting:report_download", args=[report.pk]))


class ReportListCreate(GenericAPIView):
    serializer_class = ReportOut
    query_serializer_class = StrictListQuery
    queryset = Report.objects.none()  # for the schema generator only; reads go through reports.visible_reports

    @extend_schema(responses=ReportOut(many=True))
    def get(self, request):
        require(request.user, "report.view")
        validated(self.query_serializer_class, request.query_params)
        page = self.paginate_queryset(reports.visible_reports(request.user))
        return self.get_paginated_response(ReportOut(page, many=True, context={"request": request}).data)

    @extend_schema(request=ReportIn, responses={202: ReportOut, 200: ReportOut})
    @idempotent
    def post(self, request):
        require(request.user, "report.request")
        values = validated(ReportIn, request.data)
        report = reports.request_report(actor=request.user, kind=values["kind"], subject_id=values.get("subject"),
                                        params=values.get("params") or None)
        status = 200 if report.status == ReportStatus.DONE else 202
        return Response(ReportOut(report, context={"request": request}).data, status=status)


class ReportDetail(GenericAPIView):
    serializer_class = ReportOut

    def get(self, request, pk):
        report = Report.objects.select_related("incident", "launch__version").filter(pk=pk).first()
        if report is None or not reports.report_visible_to(request.user, report):
            raise NotFound("No such report.", code="report_not_found")
        return Response(ReportOut(report, context={"request": request}).data)
