"""Links between Gatehouse's inventory and MLflow's Model Registry, and what Gatehouse did to it.

Kept in the registry app's own tables: the inventory (governance) knows nothing of MLflow.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from governance.models import MLModel, ModelVersion, RiskTier
from readiness.models import LaunchRequest


class GuardMode(models.TextChoices):
    """What Gatehouse does when a governed alias points at a version it holds no allow for."""

    REVERT = "REVERT", "Put it back and open an incident"
    REPORT = "REPORT", "Report it only"


# Tier 1 and 2 models make or shape decisions about customers: a hand move there is undone, not only reported.
DEFAULT_GUARD_MODE = {"TIER_1": GuardMode.REVERT, "TIER_2": GuardMode.REVERT, "TIER_3": GuardMode.REPORT}


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
    guard_mode = models.CharField(max_length=6, choices=GuardMode.choices, blank=True,
                                  help_text="Empty: the tier's default (revert for Tier 1 and 2, report for Tier 3).")

    class Meta:
        ordering = ["registered_model"]

    def __str__(self):
        return f"{self.model.slug} ↔ MLflow {self.registered_model}"

    @property
    def default_guard_mode(self) -> str:
        """The guard mode of the model's tier, which an empty ``guard_mode`` follows."""
        return str(DEFAULT_GUARD_MODE.get(self.model.risk_tier, GuardMode.REVERT))

    @property
    def effective_guard_mode(self) -> str:
        return self.guard_mode or self.default_guard_mode

    @property
    def effective_guard_mode_label(self) -> str:
        return GuardMode(self.effective_guard_mode).label


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
    incident = models.ForeignKey("postmortems.Incident", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+", help_text="The incident opened for the hand move being undone.")

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
        GUARD = "GUARD", "Correction of a hand move"

    link = models.ForeignKey(RegistryLink, on_delete=models.CASCADE, related_name="actuations")
    launch = models.ForeignKey(LaunchRequest, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="alias_actuations", help_text="Empty for a correction with no launch.")
    alias = models.CharField(max_length=255)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    receipt_id = models.CharField(max_length=100, blank=True,
                                  help_text="Entering a stage: the id of the gate receipt set as the approval tag.")
    requested_by = models.CharField(max_length=200, blank=True,
                                    help_text="Who caused the change (the person who advanced or rolled back the "
                                              "launch, or the guard).")
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


class AliasMove(models.Model):
    """One position of a governed alias over time, as Gatehouse set it or saw it: the record that answers
    "which version was in production on date D"."""

    class By(models.TextChoices):
        GATEHOUSE = "GATEHOUSE", "Gatehouse"
        HAND = "HAND", "By hand in MLflow"

    link = models.ForeignKey(RegistryLink, on_delete=models.CASCADE, related_name="alias_moves")
    alias = models.CharField(max_length=255)
    version = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: the alias was removed.")
    at = models.DateTimeField(default=timezone.now)
    by = models.CharField(max_length=10, choices=By.choices)
    actor_label = models.CharField(max_length=200, blank=True)
    launch = models.ForeignKey(LaunchRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    response = models.CharField(max_length=300, blank=True, help_text="What Gatehouse did about a hand move.")

    class Meta:
        ordering = ["link", "alias", "-at", "-pk"]
        indexes = [models.Index(fields=["link", "alias", "at"], name="alias_move_at_idx")]

    def __str__(self):
        return f"{self.link.registered_model}@{self.alias} → {self.version}"


class ApprovalTag(models.Model):
    """The approval tag on an MLflow model version: when a launch enters a mapped stage, Gatehouse signs a gate
    receipt for that model, version and stage and sets the version tag ``gatehouse.<stage>`` to the receipt's id
    (its ``jti``). The receipt itself is kept here, so the guard (and anyone with the id) can check that a tag
    names a receipt Gatehouse signed for exactly that version and stage. A rollback removes the tag."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Waiting to be set"
        SET = "SET", "Set in MLflow"
        REMOVING = "REMOVING", "Waiting to be removed"
        REMOVED = "REMOVED", "Removed"
        FAILED = "FAILED", "Refused by MLflow"

    link = models.ForeignKey(RegistryLink, on_delete=models.CASCADE, related_name="approval_tags")
    launch = models.ForeignKey(LaunchRequest, on_delete=models.PROTECT, related_name="approval_tags")
    mlflow_version = models.PositiveIntegerField()
    stage = models.CharField(max_length=40)
    key = models.CharField(max_length=250, help_text="The MLflow tag key: gatehouse.<stage>.")
    receipt_id = models.CharField(max_length=100, unique=True, help_text="The tag's value: the receipt's jti.")
    receipt = models.TextField(help_text="The signed gate receipt (JWS compact form).")
    issued_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    set_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["link", "-issued_at", "-pk"]
        indexes = [models.Index(fields=["status"], name="approval_tag_status_idx")]

    def __str__(self):
        return f"{self.link.registered_model} v{self.mlflow_version} {self.key}={self.receipt_id}"


class WebhookDelivery(models.Model):
    """An MLflow webhook delivery id already accepted: the same delivery sent again is refused."""

    delivery_id = models.CharField(max_length=200, unique=True)
    received_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.delivery_id
