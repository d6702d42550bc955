"""The model inventory: models, their versions and the features each version reads, with provenance."""

import re

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from governance.inventory.materiality import Exposure, Materiality, Purpose

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
GIT_COMMIT_RE = re.compile(r"^[0-9a-f]{7,40}$")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

sha256_validator = RegexValidator(SHA256_RE, "Enter a sha256 digest: 64 lower-case hexadecimal characters.")
git_commit_validator = RegexValidator(GIT_COMMIT_RE, "Enter a git commit: 7 to 40 lower-case hexadecimal characters.")
version_validator = RegexValidator(
    re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,59}$"),
    "Use letters, digits, dots, hyphens, underscores or plus signs (e.g. 2.1.0), starting with a letter or digit.",
)
slug_validator = RegexValidator(SLUG_RE, "Use lower-case letters, digits and single hyphens (e.g. credit-line-v2).")


class RiskTier(models.TextChoices):
    # The same words as governance.kernel.formatting.TIERS (a test holds them equal).
    TIER_1 = "TIER_1", "Tier 1 (high risk)"
    TIER_2 = "TIER_2", "Tier 2 (medium risk)"
    TIER_3 = "TIER_3", "Tier 3 (low risk)"


class MLModel(models.Model):
    """An inventory entry: one model with a business use, an owner and a risk tier."""

    slug = models.CharField(max_length=80, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_models")
    business_use = models.TextField()
    risk_tier = models.CharField(max_length=10, choices=RiskTier.choices)
    regulatory_scope = models.CharField(
        max_length=300, blank=True, help_text="Laws and rules that apply, e.g. ECOA / Regulation B, FCRA."
    )
    protected_attributes = models.JSONField(
        default=list, blank=True, help_text="Protected attributes monitored for this model, e.g. race, sex, age."
    )
    # Model risk inventory: whether the entry is a model in the guidance's sense (a recorded decision with its
    # reason), who supplies it, when it was retired, and its materiality with the inputs it was set from.
    vendor = models.CharField(max_length=120, blank=True, help_text="The supplier of a vendor model; blank when "
                              "built in house.")
    is_model = models.BooleanField(null=True, blank=True, help_text="Whether this is a model in the model risk "
                                   "guidance's sense; unknown until decided.")
    is_model_reason = models.TextField(blank=True)
    is_model_decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                            blank=True, related_name="+")
    is_model_decided_at = models.DateTimeField(null=True, blank=True)
    materiality = models.CharField(max_length=10, choices=Materiality.choices, blank=True)
    materiality_exposure = models.CharField(max_length=10, choices=Exposure.choices, blank=True)
    materiality_purpose = models.CharField(max_length=20, choices=Purpose.choices, blank=True)
    materiality_reason = models.TextField(blank=True)
    materiality_set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                           blank=True, related_name="+")
    materiality_set_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    retired_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        verbose_name = "model"

    def __str__(self):
        return self.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("governance:model_detail", args=[self.slug])


class ModelVersion(models.Model):
    model = models.ForeignKey(MLModel, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(max_length=60, validators=[version_validator])
    artifact_sha256 = models.CharField(max_length=64, validators=[sha256_validator])
    git_commit = models.CharField(max_length=40, blank=True, validators=[git_commit_validator])
    training_data_ref = models.CharField(max_length=300, blank=True)
    model_card = models.TextField(blank=True, help_text="Markdown.")
    # Model risk management (MRM) documentation, printed in the launch dossier's model risk sections.
    intended_use = models.TextField(blank=True, help_text="The decisions and population the version is built for.")
    out_of_scope_use = models.TextField(blank=True, help_text="Uses the version must not be put to.")
    methodology = models.TextField(blank=True, help_text="Algorithm, training and validation approach.")
    limitations = models.TextField(blank=True, help_text="Known weaknesses and conditions where it may fail.")
    training_data_sha256 = models.CharField(max_length=64, blank=True, validators=[sha256_validator],
                                            help_text="sha256 of the training data snapshot named by the reference.")
    fairness_group_attributes = models.JSONField(
        default=dict, blank=True,
        help_text="Which protected attribute each fairness group in an evaluation stands for, e.g. "
                  '{"group_b": "race"}.')
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["model", "-created_at"]
        constraints = [models.UniqueConstraint(fields=["model", "version"], name="unique_version_per_model")]

    def __str__(self):
        return f"{self.model.slug} {self.version}"


class FeatureSource(models.TextChoices):
    INTERNAL = "INTERNAL", "Internal"
    THIRD_PARTY = "THIRD_PARTY", "Third party"


class ProxyRiskStatus(models.TextChoices):
    NOT_ASSESSED = "NOT_ASSESSED", "Not assessed"
    IN_PROGRESS = "IN_PROGRESS", "In progress"
    ASSESSED_ACCEPTABLE = "ASSESSED_ACCEPTABLE", "Assessed — acceptable"
    ASSESSED_MITIGATED = "ASSESSED_MITIGATED", "Assessed — mitigated"
    ASSESSED_REJECTED = "ASSESSED_REJECTED", "Assessed — not acceptable"


ASSESSED_OK = (ProxyRiskStatus.ASSESSED_ACCEPTABLE, ProxyRiskStatus.ASSESSED_MITIGATED)


class Feature(models.Model):
    """An input of a model version with its provenance.

    For third-party features the lending incident lacked three controls: a proxy-risk assessment,
    a vendor schema-stability SLA and a drift monitor. They are recorded here so readiness can demand them.
    """

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="features")
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True)
    source = models.CharField(max_length=12, choices=FeatureSource.choices, default=FeatureSource.INTERNAL)
    vendor = models.CharField(max_length=120, blank=True)
    is_critical = models.BooleanField(default=False, help_text="Critical features are held to the PSI limit.")
    proxy_risk_status = models.CharField(
        max_length=20, choices=ProxyRiskStatus.choices, default=ProxyRiskStatus.NOT_ASSESSED
    )
    proxy_risk_ref = models.CharField("proxy-risk assessment reference", max_length=300, blank=True)
    proxy_risk_assessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                               blank=True, related_name="+")
    proxy_risk_assessed_at = models.DateTimeField(null=True, blank=True)
    vendor_sla_ref = models.CharField("vendor schema-stability SLA reference", max_length=300, blank=True)
    drift_monitor_ref = models.CharField("drift monitor reference", max_length=300, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["version", "name"], name="unique_feature_per_version")]

    def __str__(self):
        return self.name

    @property
    def is_third_party(self) -> bool:
        return self.source == FeatureSource.THIRD_PARTY

    @property
    def proxy_risk_assessed(self) -> bool:
        return self.proxy_risk_status in ASSESSED_OK

    @property
    def missing_controls(self) -> list[str]:
        """The third-party controls this feature still lacks (empty for internal features)."""
        if not self.is_third_party:
            return []
        missing = []
        if not self.proxy_risk_assessed:
            missing.append("proxy-risk assessment")
        if not self.vendor_sla_ref:
            missing.append("vendor schema-stability SLA")
        if not self.drift_monitor_ref:
            missing.append("drift monitor")
        return missing
