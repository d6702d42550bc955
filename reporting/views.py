"""The reports page: ask for a report, watch it progress (htmx polls a partial), download the file.

``/reports/new/?kind=LAUNCH_DOSSIER&subject=ID`` (or ``kind=INCIDENT_REPORT``, or ``kind=GOVERNANCE_PACK&period=
2026-Q3``) opens the form prefilled, so launch and incident pages can link to it. A report the person may not see
answers 404, like a missing one.
"""

from pathlib import PurePosixPath

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import AuthenticationFailed

from governance.kernel.authentication import BearerTokenAuthentication
from governance.kernel.errors import DomainError
from governance.kernel.permissions import can
from governance.kernel.storage import stored_file_response
from governance.kernel.web import deny_unless, refusal_shown
from governance.validation.models import Validation
from reporting import reports
from reporting.models import Report, ReportKind, ReportStatus


class ReportRequestForm(forms.Form):
    kind = forms.ChoiceField(choices=ReportKind.choices)
    subject = forms.IntegerField(required=False, min_value=1, label="Launch or incident number",
                                 help_text="For a launch dossier, the launch number; for an incident report, the "
                                           "incident number.")
    period = forms.CharField(required=False, max_length=40, label="Period (governance pack)",
                             help_text="2026-Q3, 2026-W40 or 2026-07; or leave empty and give the dates.")
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    # Fields the service names, as this form calls them.
    FIELDS: dict[str | None, str | None] = {"params.period": "period", "params.start": "start", "params.end": "end", "params": "period"}

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        params = None
        if data["kind"] == ReportKind.GOVERNANCE_PACK:
            if data.get("period"):
                params = {"period": data["period"]}
            elif data.get("start") or data.get("end"):
                params = {"start": data.get("start") or "", "end": data.get("end") or ""}
        subject = data.get("subject") if data["kind"] != ReportKind.GOVERNANCE_PACK else None
        return {"kind": data["kind"], "subject_id": subject, "params": params}

    def service_error(self, error: DomainError) -> DomainError:
        """The service's refusal, naming this form's field (an ``adapt`` for ``refusal_shown``)."""
        error.field = self.FIELDS.get(error.field, error.field)
        return error


def _context(request, **extra) -> dict:
    rows = reports.visible_reports(request.user)
    return {"reports": rows, "polling": any(r.is_pending for r in rows),
            "can_request": can(request.user, "report.request"), **extra}


@login_required
def report_list(request):
    deny_unless(request.user, "report.view")
    return render(request, "governance/report_list.html", _context(request, form=ReportRequestForm()))


@login_required
def report_rows(request):
    """The table alone, for htmx polling while a report is queued or running."""
    deny_unless(request.user, "report.view")
    return render(request, "governance/_report_rows.html", _context(request))


@login_required
@require_http_methods(["GET", "POST"])
def report_new(request):
    deny_unless(request.user, "report.request")
    initial = {key: request.GET[key] for key in ("kind", "subject", "period") if request.GET.get(key)}
    form = ReportRequestForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        with refusal_shown(request, form=form, adapt=form.service_error) as refused:
            report = reports.request_report(actor=request.user, **form.service_arguments())
        if not refused:
            if report.status == ReportStatus.DONE:
                messages.success(request, f"“{report.title}” is unchanged since it was last generated; "
                                          "the existing file is listed below.")
            else:
                messages.success(request, f"“{report.title}” is being generated; it appears below when ready.")
            return redirect("reporting:report_list")
    return render(request, "governance/report_new.html", {"form": form})


def _requester(request):
    """The person (session) or API token (Bearer header) asking for a file; None when neither."""
    if request.user.is_authenticated:
        return request.user
    try:
        found = BearerTokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return None
    return found[0] if found else None


def report_download(request, pk):
    requester = _requester(request)
    if requester is None:
        return redirect_to_login(request.get_full_path())
    report = Report.objects.select_related("incident", "launch__version").filter(pk=pk).first()
    if report is None or report.status != ReportStatus.DONE or not reports.report_visible_to(requester, report):
        raise Http404("No such report.")
    return stored_file_response(report.file, content_type="application/pdf", sha256=report.sha256,
                                filename=f"{report.kind.lower().replace('_', '-')}-{report.pk}.pdf")


# -- evidence files ----------------------------------------------------------------------------------------------

def validation_report_download(request, pk):
    """A validation's signed report (the evidence a validator attached), streamed from the store to whoever may see
    the validation: the same answer, 404, whether it does not exist, has no file or may not be seen."""
    requester = _requester(request)
    if requester is None:
        return redirect_to_login(request.get_full_path())
    validation = Validation.objects.filter(pk=pk).exclude(report="").first()
    if validation is None or not can(requester, "validation.view", validation):
        raise Http404("No such validation report.")
    # Whatever the validator uploaded is handed over as an attachment of an inert type (a PDF stays a PDF), so an
    # uploaded HTML or SVG file never runs as a page of Gatehouse.
    extension = PurePosixPath(validation.report.name or "").suffix.lower()[:10]
    content_type = "application/pdf" if extension == ".pdf" else "application/octet-stream"
    return stored_file_response(validation.report, content_type=content_type, sha256=validation.report_sha256,
                                filename=f"validation-{validation.pk}-report{extension}", as_attachment=True)
