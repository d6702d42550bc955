"""A generated PDF report: what was asked for, by whom, how generation went, and the file with its digest.

Rows are written only by reporting.reports (request, generation, failure). A report records every incident whose
content it carries (``source_incident_ids``), restricted or not when it was made; who may list and download it is
decided when it is read, by governance.kernel.visibility: only those who may see every one of those incidents now.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone


class ReportKind(models.TextChoices):
    LAUNCH_DOSSIER = "LAUNCH_DOSSIER", "Launch dossier"
    INCIDENT_REPORT = "INCIDENT_REPORT", "Incident report for the board risk committee"
    GOVERNANCE_PACK = "GOVERNANCE_PACK", "Governance pack"


class ReportStatus(models.TextChoices):
    QUEUED = "QUEUED", "Queued"
    RUNNING = "RUNNING", "Running"
    DONE = "DONE", "Done"
    FAILED = "FAILED", "Failed"


# A request is "live" while it is waiting, being rendered, or has its file: an identical request reuses it.
LIVE_STATUSES = (ReportStatus.QUEUED, ReportStatus.RUNNING, ReportStatus.DONE)


class Report(models.Model):
    Kind = ReportKind
    Status = ReportStatus

    kind = models.CharField(max_length=16, choices=ReportKind.choices)
    launch = models.ForeignKey("readiness.LaunchRequest", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="reports")
    incident = models.ForeignKey("postmortems.Incident", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="reports")
    params = models.JSONField(default=dict, blank=True)
    title = models.CharField(max_length=300)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    requested_by_token = models.ForeignKey("governance.ApiToken", on_delete=models.SET_NULL, null=True,
                                           blank=True, related_name="+")
    requested_by_label = models.CharField(max_length=200)
    status = models.CharField(max_length=8, choices=ReportStatus.choices, default=ReportStatus.QUEUED)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    file = models.FileField(upload_to="reports/%Y/%m/", max_length=300, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    # sha256 of the canonical JSON of the gathered data (what the document shows); printed in the document.
    content_hash = models.CharField(max_length=64)
    # sha256 over kind, subject, parameters and the content hash at request time: identical requests share it.
    dedupe_key = models.CharField(max_length=64)
    # Every incident whose content the report carries (title, timeline, rationale, rollback reason...), restricted
    # or not at the time: whoever reads the report must be able to see all of them when they read it.
    source_incident_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    # Touched by the rendering worker while it works; a RUNNING report whose heartbeat stopped lost its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    includes_restricted: bool  # not stored: set by reporting.gather.visible_reports for the reader

    class Meta:
        db_table = "governance_report"  # created by the governance app before reports had their own
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["dedupe_key"], name="report_dedupe_idx"),
                   models.Index(fields=["status", "started_at"], name="report_status_idx")]
        constraints = [
            # At most one live report per identical request: concurrent duplicates collapse into one.
            models.UniqueConstraint(fields=["dedupe_key"], condition=Q(status__in=LIVE_STATUSES),
                                    name="one_live_report_per_request"),
        ]

    def __str__(self):
        return self.title or f"Report #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("reporting:report_download", args=[self.pk])

    @property
    def source_incident_id(self):
        """Audit events about an incident report carry its incident's title (governance.kernel.audit)."""
        return self.incident_id

    @property
    def governed_model_id(self):
        """For API tokens limited to some models: a dossier belongs to its launch's model (incident reports and
        packs are checked through their source incidents and in reporting.gather)."""
        return self.launch.version.model_id if self.launch is not None else None

    @property
    def is_pending(self) -> bool:
        return self.status in (ReportStatus.QUEUED, ReportStatus.RUNNING)

    @property
    def subject_label(self) -> str:
        if self.kind == ReportKind.LAUNCH_DOSSIER:
            return f"Launch #{self.launch_id}"
        if self.kind == ReportKind.INCIDENT_REPORT:
            return f"Incident #{self.incident_id}"
        return (self.params or {}).get("label", "")


class ModelRegime(models.Model):
    """A regime a model is declared to fall under (a crosswalk in reporting/regimes/data), with who declared it.
    Rows are written only by reporting.regimes.services.declare_regimes, which audits the change."""

    model = models.ForeignKey("governance.MLModel", on_delete=models.CASCADE, related_name="regimes")
    regime = models.CharField(max_length=60)
    declared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    declared_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["model", "regime"]
        constraints = [models.UniqueConstraint(fields=["model", "regime"], name="one_declaration_per_regime")]

    def __str__(self):
        return f"{self.model} under {self.regime}"

    @property
    def governed_model_id(self):
        return self.model_id


class BundleStatus(models.TextChoices):
    QUEUED = "QUEUED", "Queued"
    BUILDING = "BUILDING", "Building"
    READY = "READY", "Ready"
    FAILED = "FAILED", "Failed"


# While a bundle is waiting or being built, an identical request (same model, regime and view) shares it.
PENDING_BUNDLE_STATUSES = (BundleStatus.QUEUED, BundleStatus.BUILDING)


class EvidenceBundle(models.Model):
    """A model's signed evidence bundle (reporting.bundle.export), built by a worker and kept in ``STORAGES``.

    A bundle is built with its requester's eyes, so it carries what they may see and counts what they may not. It
    records that view (``view_fingerprint``: which of the restricted incidents it could have carried the requester
    sees, ``view_incident_ids``) and the incidents whose content it carries (``source_incident_ids``, as a report
    does): it is handed only to a reader who may see all of those now and whose view of the others is the same.
    Rows are written only by reporting.bundle.records."""

    Status = BundleStatus

    model = models.ForeignKey("governance.MLModel", on_delete=models.PROTECT, related_name="evidence_bundles")
    regime = models.CharField(max_length=60, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=8, choices=BundleStatus.choices, default=BundleStatus.QUEUED)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    file = models.FileField(upload_to="bundles/%Y/%m/", max_length=300, blank=True)
    filename = models.CharField(max_length=200, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    # sha256 over the model and the restricted incidents in view_incident_ids that the requester may see.
    view_fingerprint = models.CharField(max_length=64)
    # The restricted incidents the bundle could carry when it was asked for (never shown: ids of restricted matters).
    view_incident_ids = models.JSONField(default=list, blank=True)
    source_incident_ids = models.JSONField(default=list, blank=True)
    # sha256 over model, regime and view fingerprint: identical pending requests share it.
    dedupe_key = models.CharField(max_length=64)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        indexes = [models.Index(fields=["model", "-requested_at"], name="bundle_model_idx")]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], condition=Q(status__in=PENDING_BUNDLE_STATUSES),
                                    name="one_pending_bundle_per_view"),
        ]

    def __str__(self):
        return f"Evidence bundle #{self.pk} of {self.model_id}"

    def get_absolute_url(self) -> str:
        return reverse("reporting:bundle_download", args=[self.pk])

    @property
    def governed_model_id(self):
        return self.model_id

    @property
    def is_pending(self) -> bool:
        return self.status in PENDING_BUNDLE_STATUSES
