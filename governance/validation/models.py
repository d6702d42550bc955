"""Model risk validation: independent validations of a model, their findings, the revalidation needs that events
open, the holds that higher layers raise, and waivers of the gate reasons these produce.

Records that carry an incident's content name it in ``source_incident_id`` (a plain id: this layer sits below
postmortems), so every read path can apply the one visibility rule.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from governance.inventory.materiality import SCOPE_AREAS
from governance.inventory.models import MLModel, ModelVersion


class ScopeArea(models.TextChoices):
    CONCEPTUAL_SOUNDNESS = "CONCEPTUAL_SOUNDNESS", "Conceptual soundness"
    DATA = "DATA", "Data"
    IMPLEMENTATION = "IMPLEMENTATION", "Implementation"
    OUTCOMES_ANALYSIS = "OUTCOMES_ANALYSIS", "Outcomes analysis"
    MONITORING_PLAN = "MONITORING_PLAN", "Ongoing monitoring plan"
    LIMITATIONS = "LIMITATIONS", "Limitations"


assert tuple(ScopeArea.values) == SCOPE_AREAS  # one list of areas: the requirements name the same ones


class ValidationStatus(models.TextChoices):
    IN_PROGRESS = "IN_PROGRESS", "In progress"
    COMPLETED = "COMPLETED", "Completed"


class Outcome(models.TextChoices):
    APPROVED = "APPROVED", "Approved"
    APPROVED_WITH_CONDITIONS = "APPROVED_WITH_CONDITIONS", "Approved with conditions"
    NOT_APPROVED = "NOT_APPROVED", "Not approved"


class Validation(models.Model):
    """One independent validation of a model (optionally of one version), signed by its validator."""

    model = models.ForeignKey(MLModel, on_delete=models.PROTECT, related_name="validations")
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="validations")
    validator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="validations")
    scope = models.JSONField(default=list)
    status = models.CharField(max_length=12, choices=ValidationStatus.choices, default=ValidationStatus.IN_PROGRESS)
    outcome = models.CharField(max_length=30, choices=Outcome.choices, blank=True)
    summary = models.TextField(blank=True)
    report = models.FileField(upload_to="validation-reports/", blank=True)
    report_sha256 = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True, help_text="When revalidation falls due by the calendar.")

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"Validation #{self.pk} of {self.model.slug}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("validation:validation_detail", args=[self.pk])


class FindingSeverity(models.TextChoices):
    LOW = "LOW", "Low"
    MEDIUM = "MEDIUM", "Medium"
    HIGH = "HIGH", "High"
    CRITICAL = "CRITICAL", "Critical"


SEVERITY_RANK = {FindingSeverity.LOW: 1, FindingSeverity.MEDIUM: 2, FindingSeverity.HIGH: 3,
                 FindingSeverity.CRITICAL: 4}


class FindingStatus(models.TextChoices):
    OPEN = "OPEN", "Open"
    REMEDIATED = "REMEDIATED", "Remediated, awaiting re-test"
    CLOSED = "CLOSED", "Closed"


class Finding(models.Model):
    """A weakness a validation found: a named owner must remediate it by its due date, and the validator closes it
    only after re-testing the evidence."""

    validation = models.ForeignKey(Validation, on_delete=models.PROTECT, related_name="findings")
    model = models.ForeignKey(MLModel, on_delete=models.PROTECT, related_name="findings")
    severity = models.CharField(max_length=10, choices=FindingSeverity.choices)
    severity_rank = models.PositiveSmallIntegerField(editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_findings")
    delegate = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="delegated_findings",
                                 help_text="Recorded by the owner: may remediate on the owner's behalf.")
    due_date = models.DateField()
    status = models.CharField(max_length=12, choices=FindingStatus.choices, default=FindingStatus.OPEN)
    evidence = models.TextField(blank=True, help_text="What remediated it (a link, a commit, a report).")
    remediated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+")
    remediated_at = models.DateTimeField(null=True, blank=True)
    retest_note = models.TextField(blank=True)
    retested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    reopened_count = models.PositiveIntegerField(default=0)
    reopen_reason = models.TextField(blank=True)
    source_incident_id = models.BigIntegerField(null=True, blank=True, db_index=True,
                                                help_text="The incident that re-opened it, when one did.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-severity_rank", "due_date", "pk"]
        indexes = [models.Index(fields=["model", "status", "due_date"], name="finding_model_status_due")]

    def __str__(self) -> str:
        return f"Finding #{self.pk}: {self.title}"

    def save(self, *args, **kwargs):
        self.severity_rank = SEVERITY_RANK[FindingSeverity(self.severity)]
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("validation:finding_detail", args=[self.pk])


class Trigger(models.TextChoices):
    SCHEDULE = "SCHEDULE", "Revalidation date reached"
    DRIFT = "DRIFT", "Drift at the act level on a feature"
    DATA_SOURCE = "DATA_SOURCE", "New or changed data source or feature"
    INCIDENT = "INCIDENT", "Incident on the model"
    VENDOR_UPDATE = "VENDOR_UPDATE", "Vendor model update"
    POLICY_CHANGE = "POLICY_CHANGE", "Policy change touching the model's tier"
    GUARDRAIL_BREACH = "GUARDRAIL_BREACH", "Guardrail breached"


class RevalidationNeed(models.Model):
    """An event asked for the model to be validated again. One per (model, trigger, source record): a trigger
    that fires twice for the same record opens nothing more. A completed validation resolves it; Model Risk may also
    dismiss it by hand with a reason (``dismissed_by``), which resolves it without a validation."""

    model = models.ForeignKey(MLModel, on_delete=models.PROTECT, related_name="revalidation_needs")
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    source_type = models.CharField(max_length=60, help_text="The kind of record that set it off, e.g. "
                                   "postmortems.incident.")
    source_id = models.CharField(max_length=60)
    source_label = models.CharField(max_length=300)
    source_incident_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    opened_at = models.DateTimeField(default=timezone.now)
    due_date = models.DateField()
    resolved_by = models.ForeignKey(Validation, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="resolved_needs")
    resolved_at = models.DateTimeField(null=True, blank=True)
    dismissed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", help_text="Model Risk closed it by hand, without a validation.")
    dismiss_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["due_date", "pk"]
        constraints = [models.UniqueConstraint(fields=["model", "trigger", "source_type", "source_id"],
                                               name="one_revalidation_need_per_source")]

    def __str__(self) -> str:
        return f"Revalidation of {self.model.slug}: {self.get_trigger_display()}"


class Hold(models.Model):
    """A hold a higher layer raised on a model, e.g. an incident's action item with a due date: it stops the
    gate once the due date has passed while it is still open."""

    model = models.ForeignKey(MLModel, on_delete=models.PROTECT, related_name="validation_holds")
    source_type = models.CharField(max_length=60)
    source_id = models.CharField(max_length=60)
    source_label = models.CharField(max_length=300)
    source_incident_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    due_date = models.DateField()
    raised_at = models.DateTimeField(default=timezone.now)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_date", "pk"]
        constraints = [models.UniqueConstraint(fields=["model", "source_type", "source_id"],
                                               name="one_hold_per_source")]

    def __str__(self) -> str:
        return f"Hold on {self.model.slug}: {self.source_label}"


class GateWaiver(models.Model):
    """Model Risk or Compliance lets the gate pass one model-risk reason for a while, with a reason."""

    model = models.ForeignKey(MLModel, on_delete=models.PROTECT, related_name="validation_waivers")
    code = models.CharField(max_length=60)
    reason = models.TextField()
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=20)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Waiver of {self.code} for {self.model.slug}"
