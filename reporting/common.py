"""Constants shared by the report modules."""

from datetime import timedelta

from django.conf import settings

from readiness.models import LaunchStatus
from reporting.models import ReportKind

TEMPLATES = {ReportKind.LAUNCH_DOSSIER: "pdf/launch_dossier.html", ReportKind.INCIDENT_REPORT: "pdf/incident_report.html",
             ReportKind.GOVERNANCE_PACK: "pdf/governance_pack.html"}
RESTRICTED_CLASSIFICATION = "Confidential — prepared at the direction of counsel"
PACK_RESTRICTED_CLASSIFICATION = "Confidential — includes matters under legal privilege"
INTERNAL_CLASSIFICATION = "Internal — for governance and board committees"
IN_FLIGHT = (LaunchStatus.IN_REVIEW, LaunchStatus.APPROVED, LaunchStatus.ROLLING_OUT)
MAX_PERIOD_DAYS = 400
SPARK_POINTS = 300
AUDIT_EXCERPT = 40
TOOL_CALL_EXCERPT = 25  # the latest deploy-tool calls a dossier lists (with the count of all)
PENDING_EXCERPT = 20
STALE_AFTER = timedelta(minutes=30)
# A rendering worker touches its report every HEARTBEAT_EVERY; one silent for HEARTBEAT_LOST died, and the
# periodic requeue (every REQUEUE_EVERY) takes the report up again: a lost render restarts within
# HEARTBEAT_LOST + REQUEUE_EVERY (90 seconds by default), while a live one (three missed beats of margin) is never
# taken. Both periods are settings (REPORT_HEARTBEAT_SECONDS, REPORT_REQUEUE_SECONDS).
HEARTBEAT_EVERY = timedelta(seconds=settings.REPORT_HEARTBEAT_SECONDS)
HEARTBEAT_LOST = 4 * HEARTBEAT_EVERY
REQUEUE_EVERY = timedelta(seconds=settings.REPORT_REQUEUE_SECONDS)


# -- periods (pure) ----------------------------------------------------------------------------------------
