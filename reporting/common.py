"""Constants shared by the report modules."""

from datetime import timedelta

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
STALE_AFTER = timedelta(minutes=30)


# -- periods (pure) ----------------------------------------------------------------------------------------
