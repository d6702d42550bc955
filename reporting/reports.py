"""Board-ready PDF reports: what each kind contains, how a request is made and deduplicated, how a file is made.

Three kinds. The launch dossier shows everything the signers vouched for and what each of them signed. The
incident report for the board risk committee opens with a one-page executive summary and ends with the residual
risk stated honestly. The governance pack covers a period. Gathering reads the database into plain data; the
sha256 of its canonical JSON is the report's content hash, printed in the document and used to answer an
identical request for unchanged content with the existing file.

Reports follow incident visibility: gathering reads incidents only through ``visible_incidents`` of the person
who asked, and a report is shown only to those who may see every restricted incident in it.
"""

from reporting import pdf
from reporting.gather import gather, report_visible_to, visible_reports
from reporting.periods import pack_params, parse_period, period_label
from reporting.present import render, report_title
from reporting.services import (
           generate_report,
           heartbeat,
           record_failure,
           request_report,
           requeue_stale_reports,
)

__all__ = ["gather", "generate_report", "pack_params", "parse_period", "pdf", "period_label", "record_failure",
           "heartbeat", "render", "report_title", "report_visible_to", "request_report", "requeue_stale_reports",
           "visible_reports"]
