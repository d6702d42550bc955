"""With no broker (the embedded default) a report renders in a thread after the request has committed, so the
request returns at once with the report queued, and the report is done a few seconds later."""

import time

import pytest

from reporting import reports
from reporting.models import Report
from tests.factories import make_people
from tests.governance.test_reports import restricted_incident

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_request_returns_before_the_pdf_is_rendered_and_the_thread_finishes_it(settings):
    settings.REPORTS_RENDER_AFTER_RESPONSE = True
    people = make_people()
    incident = restricted_incident(people, overdue=0)
    report = reports.request_report(actor=people["legal"], kind="INCIDENT_REPORT", subject_id=incident.pk)
    # Rendering inside the request would have stored the file before returning; here it is still being prepared.
    assert Report.objects.get(pk=report.pk).is_pending
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        report.refresh_from_db()
        if not report.is_pending:
            break
        time.sleep(0.2)
    assert report.status == "DONE", report.error
    assert report.file and report.sha256 and Report.objects.filter(kind="INCIDENT_REPORT").count() == 1
