"""Launch requests and what hangs off them: checklist items and their attestations, waivers, sign-offs,
evaluations, rollout plans and stages, guardrails and observations, with their status choices.

Rows are written only by the readiness services. May import the governance layers, never anything above
readiness.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from governance.kernel.roles import Role
from governance.models import ModelVersion, TierPolicyVersion


class LaunchStatus(models.TextChoices):
    DRAFT = "DRAFT", "Draft"
    IN_REVIEW = "IN_REVIEW", "In review"
    APPROVED = "APPROVED", "Approved"
    ROLLING_OUT = "ROLLING_OUT", "Rolling out"
    LAUNCHED = "LAUNCHED", "Launched"
    REJECTED = "REJECTED", "Rejected"
    ROLLED_BACK = "ROLLED_BACK", "Rolled back"
    WITHDRAWN = "WITHDRAWN", "Withdrawn"


# The state machine: the only transitions readiness.services.transition accepts.
TRANSITIONS = {
    LaunchStatus.DRAFT: {LaunchStatus.IN_REVIEW, LaunchStatus.WITHDRAWN},
    LaunchStatus.IN_REVIEW: {LaunchStatus.APPROVED, LaunchStatus.REJECTED, LaunchStatus.DRAFT, LaunchStatus.WITHDRAWN},
    LaunchStatus.APPROVED: {LaunchStatus.IN_REVIEW, LaunchStatus.ROLLING_OUT, LaunchStatus.REJECTED, LaunchStatus.WITHDRAWN},
    LaunchStatus.REJECTED: {LaunchStatus.DRAFT},
    LaunchStatus.ROLLING_OUT: {LaunchStatus.LAUNCHED, LaunchStatus.ROLLED_BACK},
    LaunchStatus.LAUNCHED: {LaunchStatus.ROLLED_BACK},
    LaunchStatus.ROLLED_BACK: set(),
    LaunchStatus.WITHDRAWN: set(),
}
# While these hold, the signed content may still change (and signatures go stale when it does).
# A launch is open until it reaches a state it can never leave; a version has at most one open launch, so
# evidence posted to "the launch for v3" and the gate's verdict on v3 are about the same document.
TERMINAL_STATUSES = frozenset(status for status, onward in TRANSITIONS.items() if not onward)
OPEN_STATUSES = frozenset(LaunchStatus) - TERMINAL_STATUSES

EDITABLE_STATUSES = {LaunchStatus.DRAFT, LaunchStatus.IN_REVIEW, LaunchStatus.APPROVED}


class Decision(models.TextChoices):
    SHIP = "SHIP", "Ship"
    HOLD = "HOLD", "Hold"
    MITIGATE = "MITIGATE", "Mitigate"


class LaunchRequest(models.Model):
    """The launch readiness document for one model version."""

    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="launches")
    policy_version = models.ForeignKey(TierPolicyVersion, on_delete=models.PROTECT, related_name="launches")
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="authored_launches")
    status = models.CharField(max_length=12, choices=LaunchStatus.choices, default=LaunchStatus.DRAFT)
    # decision memo
    options_considered = models.TextField(blank=True)
    expected_value = models.TextField(blank=True)
    risks = models.TextField(blank=True)
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    rationale = models.TextField(blank=True)
    required_roles = models.JSONField(default=list)
    content_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    rollout_started_at = models.DateTimeField(null=True, blank=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    rolled_back_at = models.DateTimeField(null=True, blank=True)
    rollback_reason = models.TextField(blank=True)
    rolled_back_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status"], name="launch_status_idx")]
        constraints = [
            models.UniqueConstraint(fields=["version"], condition=models.Q(status__in=sorted(OPEN_STATUSES)),
                                    name="one_open_launch_per_version"),
        ]

    def __str__(self):
        return f"{self.title} ({self.version})"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("readiness:launch_detail", args=[self.pk])

    @property
    def governed_model_id(self):
        return self.version.model_id

    @property
    def tier(self) -> str:
        return self.version.model.risk_tier

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATUSES


class ItemKind(models.TextChoices):
    MANUAL = "MANUAL", "Manual attestation"
    AUTOMATIC = "AUTOMATIC", "Automatic rule"


class ItemSource(models.TextChoices):
    TEMPLATE = "TEMPLATE", "Tier policy"
    FEATURE_CONTROL = "FEATURE_CONTROL", "Third-party feature control"
    CONDITION = "CONDITION", "Sign-off condition"


class ItemStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    PASS = "PASS", "Pass"
    FAIL = "FAIL", "Fail"
    INCONCLUSIVE = "INCONCLUSIVE", "Inconclusive"
    MISSING = "MISSING", "No data"


class ChecklistItem(models.Model):
    """One pre-flight item on a launch, copied from the tier's template, a feature control or a condition."""

    launch = models.ForeignKey(LaunchRequest, on_delete=models.CASCADE, related_name="items")
    key = models.CharField(max_length=120)
    title = models.CharField(max_length=300)
    guidance = models.TextField(blank=True)
    category = models.CharField(max_length=20)
    blocking = models.BooleanField(default=True)
    kind = models.CharField(max_length=10, choices=ItemKind.choices)
    rule = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=16, choices=ItemSource.choices, default=ItemSource.TEMPLATE)
    position = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=12, choices=ItemStatus.choices, default=ItemStatus.PENDING)
    result = models.JSONField(null=True, blank=True)  # automatic: the rule result; feature controls: the facts
    evidence_url = models.URLField(max_length=500, blank=True)
    evidence_text = models.TextField(blank=True)
    # sha256 of the evidence document the link points to, so a reader can tell it has not changed since.
    evidence_sha256 = models.CharField(max_length=64, blank=True)
    attested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    attested_at = models.DateTimeField(null=True, blank=True)
    added_by_signoff = models.ForeignKey("SignOff", on_delete=models.SET_NULL, null=True, blank=True,
                                         related_name="condition_items")
    # The rollout stage whose result the item attests (empty: a pre-flight item). Such an item can be attested
    # only once that stage has run its minimum duration, and it blocks leaving the stage, not approval.
    stage = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["launch", "key"], name="unique_item_key_per_launch")]

    def __str__(self):
        return self.title


class ChecklistResponse(models.Model):
    """The history of attestations on a manual item; the item carries the latest one."""

    item = models.ForeignKey(ChecklistItem, on_delete=models.CASCADE, related_name="responses")
    outcome = models.CharField(max_length=12, choices=ItemStatus.choices)
    evidence_url = models.URLField(max_length=500, blank=True)
    evidence_text = models.TextField(blank=True)
    responder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.outcome} by {self.responder}"


class Waiver(models.Model):
    """A risk role's decision to let a failing blocking item pass until ``expires_at``."""

    item = models.ForeignKey(ChecklistItem, on_delete=models.CASCADE, related_name="waivers")
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=20, choices=Role.choices)
    reason = models.TextField()
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Waiver of {self.item} until {self.expires_at:%Y-%m-%d}"

    def is_valid(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now


class SignDecision(models.TextChoices):
    APPROVE = "APPROVE", "Approve"
    APPROVE_WITH_CONDITIONS = "APPROVE_WITH_CONDITIONS", "Approve with conditions"
    REJECT = "REJECT", "Reject"


class SignOff(models.Model):
    """A person's signature, as one role, over one content hash of the launch."""

    launch = models.ForeignKey(LaunchRequest, on_delete=models.CASCADE, related_name="signoffs")
    role = models.CharField(max_length=20, choices=Role.choices)
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signoffs")
    decision = models.CharField(max_length=24, choices=SignDecision.choices)
    conditions = models.TextField(blank=True)
    dissent = models.TextField(blank=True, help_text="Recorded disagreement from a signer who commits anyway.")
    comment = models.TextField(blank=True)
    content_hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField(default=timezone.now)
    stale = models.BooleanField(default=False)
    staled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["signed_at"]
        constraints = [
            # One current signature per person per launch, and one per role.
            models.UniqueConstraint(fields=["launch", "signer"], condition=Q(stale=False),
                                    name="one_current_signature_per_person"),
            models.UniqueConstraint(fields=["launch", "role"], condition=Q(stale=False),
                                    name="one_current_signature_per_role"),
        ]

    def __str__(self):
        return f"{self.signer} as {self.role}: {self.decision}"

    @property
    def approves(self) -> bool:
        return self.decision in (SignDecision.APPROVE, SignDecision.APPROVE_WITH_CONDITIONS)


class ResignRequest(models.Model):
    """A signer asked to sign again because the content they signed changed: one per signer per content hash,
    so that asking again, or another change that leaves the content where it was, never repeats the message."""

    launch = models.ForeignKey(LaunchRequest, on_delete=models.CASCADE, related_name="resign_requests")
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="resign_requests")
    role = models.CharField(max_length=20, choices=Role.choices)
    content_hash = models.CharField(max_length=64, help_text="The content the signer is asked to sign.")
    asked_by = models.CharField(max_length=200, help_text="Who asked: a person, or the change that staled it.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["launch", "signer", "content_hash"],
                                               name="one_resign_request_per_content")]

    def __str__(self):
        return f"{self.signer} asked to re-sign {self.launch} ({self.content_hash[:12]})"


class Evaluation(models.Model):
    """Metrics measured for a launch: submitted by CI or computed by Gatehouse from uploaded data."""

    class Kind(models.TextChoices):
        METRICS = "METRICS", "Submitted metrics"
        PREDICTIONS = "PREDICTIONS", "Computed from predictions"

    launch = models.ForeignKey(LaunchRequest, on_delete=models.CASCADE, related_name="evaluations")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    metrics = models.JSONField()
    report = models.JSONField(null=True, blank=True)
    source_sha256 = models.CharField(max_length=64, blank=True)
    source_rows = models.PositiveIntegerField(null=True, blank=True)
    submitted_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        get_latest_by = ["created_at", "pk"]

    def __str__(self):
        return f"Evaluation #{self.pk} of {self.launch_id}"


class RolloutPlan(models.Model):
    launch = models.OneToOneField(LaunchRequest, on_delete=models.CASCADE, related_name="plan")
    current_stage = models.ForeignKey("RolloutStage", on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="+")
    stage_entered_at = models.DateTimeField(null=True, blank=True)
    paused = models.BooleanField(default=False)
    paused_reason = models.CharField(max_length=300, blank=True)
    # The periodic evaluation's last failure on this rollout (cleared by its next success): one bad rollout is
    # reported and retried, never a reason to leave the others unchecked.
    evaluation_error = models.CharField(max_length=500, blank=True)
    evaluation_failed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Rollout of {self.launch}"


class RolloutStage(models.Model):
    plan = models.ForeignKey(RolloutPlan, on_delete=models.CASCADE, related_name="stages")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=40)
    traffic_percent = models.FloatField()
    min_duration_minutes = models.PositiveIntegerField(default=0)
    approval_role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    entered_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "position"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "position"], name="unique_stage_position"),
            models.UniqueConstraint(fields=["plan", "name"], name="unique_stage_name"),
        ]

    def __str__(self):
        return f"{self.name} ({self.traffic_percent:g} %)"


EVERY_SEGMENT = "*"


def segment_label(segment: str) -> str:
    """How a guardrail's segment reads after its rule: nothing for untagged observations."""
    if not segment:
        return ""
    return " in every segment" if segment == EVERY_SEGMENT else f" in segment {segment}"


class Guardrail(models.Model):
    class Action(models.TextChoices):
        ROLLBACK = "ROLLBACK", "Roll back"
        PAUSE = "PAUSE", "Pause"
        ALERT = "ALERT", "Alert"

    class State(models.TextChoices):
        PASSING = "PASSING", "Passing"
        BREACHED = "BREACHED", "Breached"
        INSUFFICIENT_DATA = "INSUFFICIENT_DATA", "Insufficient data"

    plan = models.ForeignKey(RolloutPlan, on_delete=models.CASCADE, related_name="guardrails")
    stage = models.ForeignKey(RolloutStage, on_delete=models.CASCADE, null=True, blank=True,
                              related_name="guardrails", help_text="Empty: applies to every stage.")
    metric = models.CharField(max_length=100)
    comparator = models.CharField(max_length=2)
    threshold = models.FloatField()
    window_minutes = models.PositiveIntegerField(default=60)
    failure_limit = models.PositiveIntegerField(default=1)
    sustain_minutes = models.PositiveIntegerField(default=0)
    action = models.CharField(max_length=10, choices=Action.choices)
    segment = models.CharField(max_length=100, blank=True, default="", help_text=(
        "Empty: observations sent without a segment. A name: that segment's observations. "
        f"{EVERY_SEGMENT!r}: every segment, each evaluated on its own."))
    state = models.CharField(max_length=20, choices=State.choices, default=State.INSUFFICIENT_DATA)
    state_detail = models.JSONField(null=True, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "pk"]

    def __str__(self):
        return f"{self.metric} {self.comparator} {self.threshold:g}{segment_label(self.segment)} → {self.action}"


class Observation(models.Model):
    launch = models.ForeignKey(LaunchRequest, on_delete=models.CASCADE, related_name="observations")
    metric = models.CharField(max_length=100)
    segment = models.CharField(max_length=100, blank=True, default="")
    value = models.FloatField()
    observed_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    stage_name = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["observed_at"]
        constraints = [
            models.UniqueConstraint(fields=["launch", "metric", "observed_at", "segment"],
                                    name="unique_observation"),
        ]
        indexes = [models.Index(fields=["launch", "metric", "observed_at"], name="observation_window_idx")]

    def __str__(self):
        return f"{self.metric}={self.value:g} at {self.observed_at:%Y-%m-%d %H:%M}"


class DeployTool(models.TextChoices):
    """The deploy tools whose own contracts the gate answers (readiness.deploy, one module each)."""

    ARGO = "argo", "Argo Rollouts"
    KARGO = "kargo", "Kargo"
    FLAGGER = "flagger", "Flagger"
    SPINNAKER = "spinnaker", "Spinnaker"
    GITHUB = "github", "GitHub deployment protection rule"


class ToolDecisionValue(models.TextChoices):
    ALLOW = "allow", "Allow"
    DENY = "deny", "Deny"
    INCONCLUSIVE = "inconclusive", "Inconclusive"
    ERROR = "error", "Gatehouse could not decide"


class ToolCall(models.Model):
    """One question a deploy tool asked and the answer it got. A row per call, no audit event per call: polling
    tools ask every few seconds and must not serialise on the audit chain's lock (ToolDecisionState does that,
    once per change)."""

    tool = models.CharField(max_length=12, choices=DeployTool.choices)
    kind = models.CharField(max_length=40, blank=True, help_text="The tool's own name for the call, e.g. a "
                                                                  "Flagger hook type.")
    caller = models.CharField(max_length=200)
    launch = models.ForeignKey(LaunchRequest, on_delete=models.CASCADE, null=True, blank=True,
                               related_name="tool_calls")
    model = models.CharField(max_length=100)
    version = models.CharField(max_length=100, blank=True)
    digest = models.CharField(max_length=100, blank=True)
    stage = models.CharField(max_length=100)
    subject = models.CharField(max_length=300, blank=True, help_text="What the tool deploys, in its words "
                                                                      "(a canary's namespace/name, a pipeline).")
    decision = models.CharField(max_length=12, choices=ToolDecisionValue.choices)
    reasons = models.JSONField(default=list)
    receipt_id = models.CharField(max_length=100, blank=True)
    asked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-asked_at", "-pk"]
        indexes = [models.Index(fields=["launch", "-asked_at"], name="toolcall_launch_idx")]

    def __str__(self):
        return f"{self.get_tool_display()} asked {self.model} {self.version or self.digest} {self.stage}: {self.decision}"


class ToolDecisionState(models.Model):
    """The last decision each tool received for a launch's stage, so that a change (and only a change) is
    written to the audit chain."""

    launch = models.ForeignKey(LaunchRequest, on_delete=models.CASCADE, related_name="tool_states")
    stage = models.CharField(max_length=100)
    tool = models.CharField(max_length=12, choices=DeployTool.choices)
    decision = models.CharField(max_length=12, choices=ToolDecisionValue.choices)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["launch", "stage", "tool"], name="one_state_per_tool_stage")]

    def __str__(self):
        return f"{self.tool} {self.stage}: {self.decision}"


class FlaggerCanary(models.Model):
    """The pod-spec checksum a Flagger canary carried when it was last bound to a model version: a later call
    with another checksum is a different revision, which the gate has not been asked about."""

    namespace = models.CharField(max_length=253)
    name = models.CharField(max_length=253)
    checksum = models.CharField(max_length=200)
    model = models.CharField(max_length=100)
    version = models.CharField(max_length=100)
    bound_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["namespace", "name"], name="one_binding_per_canary")]

    def __str__(self):
        return f"{self.namespace}/{self.name} @ {self.checksum}"


class PendingStatus(models.TextChoices):
    PENDING = "PENDING", "Waiting for a person"
    ALLOWED = "ALLOWED", "Allowed by a person"
    DENIED = "DENIED", "Denied by a person"
    EXPIRED = "EXPIRED", "Deadline passed (denied)"


class PendingDecision(models.Model):
    """An inconclusive gate decision handed to a person: allow this stage for this content hash, or deny. It
    covers one content hash, like a signature, so a change of the launch's content leaves it behind."""

    launch = models.ForeignKey(LaunchRequest, on_delete=models.CASCADE, related_name="pending_decisions")
    stage = models.CharField(max_length=100)
    content_hash = models.CharField(max_length=64)
    role = models.CharField(max_length=20, choices=Role.choices)
    status = models.CharField(max_length=8, choices=PendingStatus.choices, default=PendingStatus.PENDING)
    reasons = models.JSONField(default=list, help_text="The inconclusive reasons the person decides over.")
    opened_by_tool = models.CharField(max_length=12, choices=DeployTool.choices)
    opened_at = models.DateTimeField(default=timezone.now)
    deadline = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["launch", "stage", "content_hash"],
                                               name="one_pending_decision_per_content")]

    def __str__(self):
        return f"Decision on {self.stage} of launch #{self.launch_id}: {self.status}"

    @property
    def governed_model_id(self):
        return self.launch.version.model_id


class GitHubReview(models.Model):
    """One ``deployment_protection_rule`` delivery from the Gatehouse GitHub App and the review Gatehouse sent
    back for it. The delivery id is unique: a replayed delivery is refused."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        WAITING = "waiting", "Waiting for a person (status comment posted)"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Callback failed (retried)"

    delivery_id = models.CharField(max_length=100, unique=True)
    installation_id = models.BigIntegerField()
    repository = models.CharField(max_length=200, help_text="owner/name")
    environment = models.CharField(max_length=255)
    run_id = models.BigIntegerField()
    sha = models.CharField(max_length=40)
    callback_url = models.URLField(max_length=500)
    model = models.CharField(max_length=100, blank=True)
    stage = models.CharField(max_length=100, blank=True)
    launch = models.ForeignKey(LaunchRequest, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="github_reviews")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    comment = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.repository} {self.environment} run {self.run_id}: {self.state}"
