import re

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from .roles import Role

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


class User(AbstractUser):
    """A person. Roles come from RoleMembership rows; a person may hold several."""

    class Meta:
        ordering = ["last_name", "first_name", "username"]

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    def __str__(self):
        return self.display_name


class RoleMembership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="unique_role_per_user")]
        ordering = ["role"]

    def __str__(self):
        return f"{self.user} as {self.get_role_display()}"


class RiskTier(models.TextChoices):
    TIER_1 = "TIER_1", "Tier 1 — high (e.g. credit decisions)"
    TIER_2 = "TIER_2", "Tier 2 — medium"
    TIER_3 = "TIER_3", "Tier 3 — low"


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
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        verbose_name = "model"

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("governance:model_detail", args=[self.slug])


class ModelVersion(models.Model):
    model = models.ForeignKey(MLModel, on_delete=models.CASCADE, related_name="versions")
    version = models.CharField(max_length=60, validators=[version_validator])
    artifact_sha256 = models.CharField(max_length=64, validators=[sha256_validator])
    git_commit = models.CharField(max_length=40, blank=True, validators=[git_commit_validator])
    training_data_ref = models.CharField(max_length=300, blank=True)
    model_card = models.TextField(blank=True, help_text="Markdown.")
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


class AuditEvent(models.Model):
    """Append-only, hash-chained record of every state change.

    ``hash`` is sha256(prev_hash + canonical JSON of the event's fields); ``seq`` is gap-free, so an
    edited row breaks its own hash and a removed row breaks the sequence and the next row's prev_hash.
    """

    seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    verb = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=80)
    object_repr = models.CharField(max_length=300)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["object_type", "object_id", "seq"], name="audit_object_idx")]

    def __str__(self):
        return f"#{self.seq} {self.actor_label} {self.verb} {self.object_repr}"


class ApiToken(models.Model):
    """A credential for CI and monitoring. The secret is shown once and stored only as a sha256."""

    class Scope(models.TextChoices):
        GATE_READ = "gate:read", "Ask the launch gate"
        MODELS_READ = "models:read", "Read the model inventory"
        MODELS_WRITE = "models:write", "Register models and versions"
        LAUNCHES_READ = "launches:read", "Read launches"
        LAUNCHES_WRITE = "launches:write", "Create launches"
        EVALUATIONS_WRITE = "evaluations:write", "Submit evaluations"
        OBSERVATIONS_WRITE = "observations:write", "Post guardrail observations"
        ROLLOUTS_WRITE = "rollouts:write", "Advance or roll back rollouts"
        INCIDENTS_READ = "incidents:read", "Read incidents"
        INCIDENTS_WRITE = "incidents:write", "Open incidents and add timeline events"
        REPORTS_WRITE = "reports:write", "Request reports"

    name = models.CharField(max_length=100, unique=True)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    allowed_models = models.ManyToManyField(MLModel, blank=True, related_name="api_tokens",
                                    help_text="Empty means every model.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "API token"

    def __str__(self):
        return self.name

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class IdempotencyRecord(models.Model):
    """The first answer to a POST carrying an Idempotency-Key, replayed to retries of the same request."""

    owner = models.CharField(max_length=200)  # who sent it: a username or token label
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64)  # sha256 of method, path and body
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "key"], name="unique_idempotency_key")]

    def __str__(self):
        return f"{self.owner} {self.key}"


class TierPolicy(models.Model):
    """The rules for launching a model of one risk tier. Its content lives in versions; changes need approval."""

    tier = models.CharField(max_length=10, choices=RiskTier.choices, unique=True)
    current = models.ForeignKey("TierPolicyVersion", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")

    class Meta:
        ordering = ["tier"]
        verbose_name = "tier policy"
        verbose_name_plural = "tier policies"

    def __str__(self):
        return f"{self.get_tier_display()} policy"


class TierPolicyVersion(models.Model):
    """One immutable version of a tier policy: required roles, thresholds, checklist and rollout templates."""

    policy = models.ForeignKey(TierPolicy, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    content = models.JSONField()
    content_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    change = models.OneToOneField("PolicyChange", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="resulting_version")

    class Meta:
        ordering = ["policy", "-number"]
        constraints = [models.UniqueConstraint(fields=["policy", "number"], name="unique_policy_version")]

    def __str__(self):
        return f"{self.policy.tier} v{self.number}"

    @property
    def required_roles(self) -> list[str]:
        return list(self.content.get("required_roles", []))

    @property
    def thresholds(self) -> dict:
        return dict(self.content.get("thresholds", {}))


class PolicyChange(models.Model):
    """A proposed change to a tier policy. It takes effect only when a second person approves it."""

    class Operation(models.TextChoices):
        ADD_CHECKLIST_ITEM = "ADD_CHECKLIST_ITEM", "Add a checklist item"
        ADD_GUARDRAIL = "ADD_GUARDRAIL", "Add a guardrail to the rollout template"
        SET_REQUIRED_ROLES = "SET_REQUIRED_ROLES", "Set the required sign-off roles"
        SET_THRESHOLDS = "SET_THRESHOLDS", "Set statistical thresholds"
        SET_ROLLOUT = "SET_ROLLOUT", "Replace the rollout template"
        REPLACE = "REPLACE", "Replace the whole policy"

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending approval"
        APPROVED = "APPROVED", "Approved"
        REJECTED = "REJECTED", "Rejected"
        WITHDRAWN = "WITHDRAWN", "Withdrawn"

    policy = models.ForeignKey(TierPolicy, on_delete=models.CASCADE, related_name="changes")
    operation = models.CharField(max_length=24, choices=Operation.choices)
    payload = models.JSONField()
    rationale = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-proposed_at"]

    def __str__(self):
        return f"{self.get_operation_display()} ({self.policy.tier}, {self.get_status_display().lower()})"

    @property
    def summary(self) -> str:
        payload = self.payload or {}
        if self.operation == self.Operation.ADD_CHECKLIST_ITEM:
            return f"Add checklist item “{payload.get('title', payload.get('key', ''))}”"
        if self.operation == self.Operation.ADD_GUARDRAIL:
            return (f"Add guardrail {payload.get('metric')} {payload.get('comparator')} {payload.get('threshold')}"
                    f" → {payload.get('action')}")
        if self.operation == self.Operation.SET_REQUIRED_ROLES:
            return "Require sign-off by " + ", ".join(payload.get("required_roles", []))
        if self.operation == self.Operation.SET_THRESHOLDS:
            return "Set thresholds " + ", ".join(f"{k} = {v}" for k, v in sorted(payload.items()))
        return self.get_operation_display()
from .report_models import Report  # noqa: E402,F401
