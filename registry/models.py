"""Links between Gatehouse's inventory and MLflow's Model Registry, and what Gatehouse did to it.

Kept in the registry app's own tables: the inventory (governance) knows nothing of MLflow.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from governance.models import MLModel, ModelVersion, RiskTier
from readiness.models import LaunchRequest


class RegistryLink(models.Model):
    """A Gatehouse model linked to one registered model on the MLflow tracking server."""

    model = models.OneToOneField(MLModel, on_delete=models.CASCADE, related_name="registry_link")
    registered_model = models.CharField(max_length=256, unique=True,
                                        help_text="The registered model's name in MLflow.")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=200)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_sync_error = models.TextField(blank=True)
    last_sync_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["registered_model"]

    def __str__(self):
        return f"{self.model.slug} ↔ MLflow {self.registered_model}"


class AliasMapping(models.Model):
    """When a launch of a model of ``tier`` enters rollout stage ``stage``, Gatehouse points ``alias`` at it."""

    tier = models.CharField(max_length=10, choices=RiskTier.choices)
    stage = models.CharField(max_length=40)
    alias = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["tier", "stage"]
        constraints = [
            models.UniqueConstraint(fields=["tier", "stage"], name="one_alias_per_tier_stage"),
            models.UniqueConstraint(fields=["tier", "alias"], name="one_stage_per_tier_alias"),
        ]

    def __str__(self):
        return f"{self.tier}: {self.stage} → @{self.alias}"


class SyncedVersion(models.Model):
    """One MLflow model version as last synced, and the Gatehouse version it became (once it has a digest)."""

    link = models.ForeignKey(RegistryLink, on_delete=models.CASCADE, related_name="versions")
    mlflow_version = models.PositiveIntegerField()
    model_version = models.OneToOneField(ModelVersion, on_delete=models.SET_NULL, null=True, blank=True,
                                         related_name="mlflow")
    run_id = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=1000, blank=True)
    status = models.CharField(max_length=40, blank=True)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=dict)
    metrics = models.JSONField(default=dict)
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    git_commit = models.CharField(max_length=40, blank=True)
    note = models.CharField(max_length=300, blank=True, help_text="Why it has no Gatehouse version yet.")
    mlflow_created_ms = models.BigIntegerField(default=0)
    mlflow_updated_ms = models.BigIntegerField(default=0)
    fingerprint = models.CharField(max_length=64, blank=True,
                                   help_text="sha256 of the version as MLflow last described it: unchanged means "
                                             "skipped (MLflow does not move its timestamp when a tag is set).")
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["link", "-mlflow_version"]
        constraints = [models.UniqueConstraint(fields=["link", "mlflow_version"], name="unique_mlflow_version")]

    def __str__(self):
        return f"{self.link.registered_model} v{self.mlflow_version}"


class AliasState(models.Model):
    """One governed alias: the version Gatehouse last set it to, and the version MLflow last reported."""

    link = models.ForeignKey(RegistryLink, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=255)
    expected_version = models.PositiveIntegerField(null=True, blank=True,
                                                   help_text="Set by Gatehouse; empty: Gatehouse removed it or "
                                                             "never set it.")
    expected_since = models.DateTimeField(null=True, blank=True)
    observed_version = models.PositiveIntegerField(null=True, blank=True)
    observed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["link", "alias"]
        constraints = [models.UniqueConstraint(fields=["link", "alias"], name="unique_alias_state")]

    def __str__(self):
        return f"{self.link.registered_model}@{self.alias}"

    @property
    def drifted(self) -> bool:
        return self.observed_at is not None and self.observed_version != self.expected_version


class AliasActuation(models.Model):
    """A change Gatehouse decided to make to an alias, recorded with the rollout change that caused it and
    applied to MLflow after that change commits (and retried until MLflow accepts or refuses it)."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        APPLIED = "APPLIED", "Applied"
        FAILED = "FAILED", "Refused by MLflow"
        SUPERSEDED = "SUPERSEDED", "Superseded"

    class Kind(models.TextChoices):
        STAGE = "STAGE", "Stage entered"
        ROLLBACK = "ROLLBACK", "Rollback"

    link = models.ForeignKey(RegistryLink, on_delete=models.CASCADE, related_name="actuations")
    launch = models.ForeignKey(LaunchRequest, on_delete=models.PROTECT, related_name="alias_actuations")
    alias = models.CharField(max_length=255)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    target_version = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: remove the alias.")
    previous_version = models.PositiveIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        indexes = [models.Index(fields=["status"], name="actuation_status_idx")]
        constraints = [
            # at most one change waiting per alias: a newer decision supersedes an older one still waiting
            models.UniqueConstraint(fields=["link", "alias"], condition=Q(status="PENDING"),
                                    name="one_pending_actuation_per_alias"),
        ]

    def __str__(self):
        target = f"v{self.target_version}" if self.target_version is not None else "(removed)"
        return f"{self.link.registered_model}@{self.alias} → {target}"
