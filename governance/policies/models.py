"""Tier policies: one per risk tier, versioned; a change needs a second person's approval."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from governance.inventory.models import RiskTier
from governance.kernel import formatting as fmt


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

    shown_rationale: str  # set by the policy page, not stored: the rationale as the reader may see it

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
    # The incident an action item proposed this change for. Its rationale and decision note may carry that
    # incident's content, so they are shown only to those who may see the incident (the payload is policy text,
    # public once proposed). An id, not a foreign key: incidents live in a layer above.
    source_incident_id = models.BigIntegerField(null=True, blank=True, db_index=True)

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
            rule = fmt.rule(payload.get("metric"), payload.get("comparator"), payload.get("threshold"))
            return f"Add guardrail {rule}: {fmt.status(payload.get('action')).lower()}"
        if self.operation == self.Operation.SET_REQUIRED_ROLES:
            return "Require sign-off by " + fmt.roles(payload.get("required_roles", []))
        if self.operation == self.Operation.SET_THRESHOLDS:
            return "Set " + "; ".join(fmt.setting(k, v) for k, v in sorted(payload.items()))
        return self.get_operation_display()
