"""Incidents, their timelines, contributing factors and action items, and the blameless postmortem document.

Durations (time to detect, mitigate, resolve) are derived from the recorded times and never stored, so
they cannot disagree with the timeline. Every write goes through postmortems.services.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from governance.kernel.roles import Role


class Severity(models.TextChoices):
    SEV1 = "SEV1", "SEV 1 — critical"
    SEV2 = "SEV2", "SEV 2 — major"
    SEV3 = "SEV3", "SEV 3 — minor"
    SEV4 = "SEV4", "SEV 4 — low"


class IncidentStatus(models.TextChoices):
    INVESTIGATING = "INVESTIGATING", "Investigating"
    MITIGATED = "MITIGATED", "Mitigated"
    RESOLVED = "RESOLVED", "Resolved"
    CLOSED = "CLOSED", "Closed"


_S = IncidentStatus
# The incident state machine: the only moves postmortems.services.transition_incident accepts.
TRANSITIONS = {
    _S.INVESTIGATING: {_S.MITIGATED},
    _S.MITIGATED: {_S.RESOLVED},
    _S.RESOLVED: {_S.CLOSED},
    _S.CLOSED: set(),
}
OPEN_STATUSES = (_S.INVESTIGATING, _S.MITIGATED)


class DetectionSource(models.TextChoices):
    MONITORING = "MONITORING", "Monitoring"
    ALERT = "ALERT", "Guardrail or alert"
    COMPLIANCE_REVIEW = "COMPLIANCE_REVIEW", "Compliance review"
    CUSTOMER = "CUSTOMER", "Customer report"
    OTHER = "OTHER", "Other"


class Incident(models.Model):
    """Something went wrong in production. ``restricted`` marks matters under legal privilege."""

    title = models.CharField(max_length=200)
    severity = models.CharField(max_length=4, choices=Severity.choices)
    status = models.CharField(max_length=13, choices=IncidentStatus.choices, default=IncidentStatus.INVESTIGATING)
    began_at = models.DateTimeField(null=True, blank=True, help_text="When the harm started, if known.")
    detected_at = models.DateTimeField()
    mitigated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    detection_source = models.CharField(max_length=17, choices=DetectionSource.choices)
    summary = models.TextField(blank=True)
    impact_text = models.TextField("impact", blank=True)
    impact_figures = models.JSONField(default=dict, blank=True)
    fair_lending = models.BooleanField("fair-lending matter", default=False)
    consumer_harm = models.BooleanField(default=False)
    restricted = models.BooleanField(
        default=False, help_text="Under legal privilege: only named members, Legal and Compliance can see it."
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="incident_memberships")
    launch = models.ForeignKey("readiness.LaunchRequest", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="incidents")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    opened_by = models.CharField(max_length=200, blank=True, help_text="Who opened it: a person, token or system.")
    created_at = models.DateTimeField(default=timezone.now)
    recurrence_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True,
                                      related_name="recurrences")
    # Named as DESIGN.md names it; declared last because it shadows the ``models`` module in this class body.
    models = models.ManyToManyField("governance.MLModel", blank=True, related_name="incidents")

    # Set by the selectors that read an incident for a page, not stored: its members' ids (for the visibility
    # rule) and, for a recurrence, what it shares with the incident it recurs.
    _member_ids: set[int]
    shared_categories: list[str]
    shared_models: list[str]
    shared_features: list[str]

    class Meta:
        ordering = ["-detected_at", "-pk"]
        indexes = [
            models.Index(fields=["status"], name="incident_status_idx"),
            models.Index(fields=["detected_at"], name="incident_detected_idx"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("postmortems:incident_detail", args=[self.pk])

    @property
    def source_incident_id(self):
        """Audit events about an incident carry its content (governance.kernel.visibility)."""
        return self.pk

    @property
    def started_at(self):
        """The earliest known moment of the incident: when it began, else when it was detected."""
        return self.began_at or self.detected_at

    @property
    def time_to_detect(self) -> timedelta | None:
        """From the start of the harm to its detection."""
        if self.began_at is None or self.detected_at is None:
            return None
        return self.detected_at - self.began_at

    @property
    def time_to_mitigate(self) -> timedelta | None:
        """From detection to mitigation (the harm stopped growing)."""
        if self.mitigated_at is None or self.detected_at is None:
            return None
        return self.mitigated_at - self.detected_at

    @property
    def time_to_resolve(self) -> timedelta | None:
        """From detection to resolution."""
        if self.resolved_at is None or self.detected_at is None:
            return None
        return self.resolved_at - self.detected_at

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def has_regulatory_flag(self) -> bool:
        return self.fair_lending or self.consumer_harm

    @property
    def next_statuses(self) -> list[str]:
        return sorted(TRANSITIONS[IncidentStatus(self.status)])


class TimelineEvent(models.Model):
    class Kind(models.TextChoices):
        DETECTION = "DETECTION", "Detection"
        ESCALATION = "ESCALATION", "Escalation"
        MITIGATION = "MITIGATION", "Mitigation"
        COMMUNICATION = "COMMUNICATION", "Communication"
        DECISION = "DECISION", "Decision"
        OTHER = "OTHER", "Other"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField()
    kind = models.CharField(max_length=13, choices=Kind.choices)
    text = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+")
    author_label = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["incident", "at"], name="timeline_incident_at_idx")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_kind_display()}"

    @property
    def source_incident_id(self):
        return self.incident_id


class FactorCategory(models.TextChoices):
    DATA_VENDOR_CHANGE = "DATA_VENDOR_CHANGE", "Data or vendor change"
    MONITORING_GAP = "MONITORING_GAP", "Monitoring gap"
    PROCESS = "PROCESS", "Process"
    MODEL = "MODEL", "Model"
    INFRASTRUCTURE = "INFRASTRUCTURE", "Infrastructure"
    ORGANISATIONAL_PRESSURE = "ORGANISATIONAL_PRESSURE", "Organisational pressure"


class ContributingFactor(models.Model):
    """One of several conditions that together allowed the incident; there is no single root-cause person."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="factors")
    category = models.CharField(max_length=23, choices=FactorCategory.choices)
    description = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["category", "pk"]

    def __str__(self):
        return f"{self.get_category_display()}: {self.description[:60]}"

    @property
    def source_incident_id(self):
        return self.incident_id


class ActionItem(models.Model):
    class Kind(models.TextChoices):
        PREVENT = "PREVENT", "Prevent"
        DETECT = "DETECT", "Detect"
        MITIGATE = "MITIGATE", "Mitigate"
        PROCESS = "PROCESS", "Process"

    class Priority(models.TextChoices):
        P1 = "P1", "P1 — urgent"
        P2 = "P2", "P2 — high"
        P3 = "P3", "P3 — normal"

    class Status(models.TextChoices):
        OPEN = "OPEN", "Open"
        IN_PROGRESS = "IN_PROGRESS", "In progress"
        DONE = "DONE", "Done"
        WONT_DO = "WONT_DO", "Won't do"

    OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS)

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="action_items")
    title = models.CharField(max_length=300)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="action_items")
    due_date = models.DateField()
    priority = models.CharField(max_length=2, choices=Priority.choices, default=Priority.P2)
    status = models.CharField(max_length=11, choices=Status.choices, default=Status.OPEN)
    completed_at = models.DateTimeField(null=True, blank=True)
    policy_change = models.ForeignKey("governance.PolicyChange", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="action_items",
                                      help_text="A proposed change to a tier policy that carries out this item.")
    last_reminded_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["status", "due_date", "pk"]
        indexes = [models.Index(fields=["status", "due_date"], name="action_item_due_idx")]

    def __str__(self):
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("postmortems:action_item", args=[self.incident_id, self.pk])

    @property
    def source_incident_id(self):
        return self.incident_id

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_date < timezone.localdate()

    @property
    def completed_on_time(self) -> bool | None:
        if self.status != self.Status.DONE or self.completed_at is None:
            return None
        return timezone.localdate(self.completed_at) <= self.due_date


class PostmortemStatus(models.TextChoices):
    DRAFT = "DRAFT", "Draft"
    IN_REVIEW = "IN_REVIEW", "In review"
    PUBLISHED = "PUBLISHED", "Published"


_P = PostmortemStatus
POSTMORTEM_TRANSITIONS = {
    _P.DRAFT: {_P.IN_REVIEW},
    _P.IN_REVIEW: {_P.DRAFT, _P.PUBLISHED},
    _P.PUBLISHED: set(),
}

# The narrative sections, in the order a reader meets them. All are Markdown.
NARRATIVE_FIELDS = ("summary", "impact", "root_cause", "what_went_well", "what_went_badly",
                    "where_we_got_lucky", "lessons")
# The sections a postmortem needs before review: the form marks them, submit_postmortem refuses without them.
REQUIRED_FOR_REVIEW = ("summary", "impact", "root_cause", "lessons")


class Postmortem(models.Model):
    """The blameless write-up of one incident. Published documents change only by recorded amendment."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="postmortem")
    summary = models.TextField(blank=True)
    impact = models.TextField(blank=True)
    root_cause = models.TextField("root cause and contributing factors", blank=True)
    what_went_well = models.TextField(blank=True)
    what_went_badly = models.TextField(blank=True)
    where_we_got_lucky = models.TextField(blank=True)
    lessons = models.TextField(blank=True)
    status = models.CharField(max_length=9, choices=PostmortemStatus.choices, default=PostmortemStatus.DRAFT)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    review_round = models.PositiveIntegerField(default=0, help_text="Incremented at each submission for review.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Postmortem of {self.incident}"

    def get_absolute_url(self) -> str:
        return reverse("postmortems:postmortem", args=[self.incident_id])

    @property
    def source_incident_id(self):
        return self.incident_id

    @property
    def sections(self) -> list[tuple[str, str, str]]:
        """(field, label, text) for each narrative section."""
        return [(name, self._meta.get_field(name).verbose_name.capitalize(), getattr(self, name))  # type: ignore[union-attr]  # text fields, never relations
                for name in NARRATIVE_FIELDS]


class PostmortemReview(models.Model):
    class Decision(models.TextChoices):
        APPROVE = "APPROVE", "Approve"
        REQUEST_CHANGES = "REQUEST_CHANGES", "Request changes"

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=20, choices=Role.choices)
    decision = models.CharField(max_length=15, choices=Decision.choices)
    comment = models.TextField(blank=True)
    round = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["postmortem", "reviewer", "round"],
                                               name="one_review_per_reviewer_per_round")]

    def __str__(self):
        return f"{self.reviewer} ({self.get_role_display()}): {self.get_decision_display()}"

    @property
    def incident(self):
        return self.postmortem.incident


class PostmortemAmendment(models.Model):
    """A recorded change to a published postmortem: what changed, from what, and why."""

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="amendments")
    field = models.CharField(max_length=30)
    before = models.TextField(blank=True)
    after = models.TextField(blank=True)
    reason = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"Amendment of {self.field} on {self.created_at:%Y-%m-%d}"


# -- impact and obligations: what a board risk committee and an examiner ask first ----------------------------

class AffectedMeasure(models.TextChoices):
    DECISIONS = "DECISIONS", "Decisions affected"
    CUSTOMERS = "CUSTOMERS", "Customers affected"


class CountSource(models.TextChoices):
    COUNTED = "COUNTED", "Counted by Gatehouse"
    ENTERED = "ENTERED", "Entered"


class ImpactCount(models.Model):
    """How many decisions or customers an incident affected, with where the number comes from: counted by
    Gatehouse from the observations it holds, or entered by a person who names the source."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="impact_counts")
    measure = models.CharField(max_length=9, choices=AffectedMeasure.choices)
    count = models.PositiveBigIntegerField()
    source = models.CharField(max_length=7, choices=CountSource.choices)
    source_detail = models.CharField(max_length=400, help_text="Where the number comes from.")
    recorded_by = models.CharField(max_length=200)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["measure"]
        constraints = [models.UniqueConstraint(fields=["incident", "measure"], name="one_count_per_measure")]

    def __str__(self):
        return f"{self.get_measure_display()}: {self.count:,}"


class RemediationStatus(models.TextChoices):
    PLANNED = "PLANNED", "Planned"
    IN_PROGRESS = "IN_PROGRESS", "In progress"
    DONE = "DONE", "Done"


class CustomerRemediation(models.Model):
    """What is done for the customers an incident harmed (a re-review, adverse-action notices re-sent)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="remediations")
    action = models.CharField(max_length=300)
    customers = models.PositiveBigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=11, choices=RemediationStatus.choices, default=RemediationStatus.PLANNED)
    due_date = models.DateField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return self.action


class RegulatoryNotification(models.Model):
    """A notification a regulator (or another authority) is owed: to whom, on what basis, due when, sent when."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="notifications")
    recipient = models.CharField(max_length=200, help_text="To whom, e.g. the prudential supervisor.")
    basis = models.CharField(max_length=300, blank=True, help_text="The rule or agreement that requires it.")
    due_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    reference = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_at", "pk"]

    def __str__(self):
        return f"Notification to {self.recipient}"

    def is_overdue(self, now) -> bool:
        return self.sent_at is None and self.due_at < now


class AskKind(models.TextChoices):
    NOTE = "NOTE", "Note"
    APPROVE = "APPROVE", "Approve"
    DECIDE = "DECIDE", "Decide"


class CommitteeAsk(models.Model):
    """What the board risk committee is asked to do: note, approve or decide. On an incident (its report) or on
    a period (the governance pack covering it)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="committee_asks")
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    kind = models.CharField(max_length=7, choices=AskKind.choices)
    text = models.TextField()
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [models.CheckConstraint(
            condition=models.Q(incident__isnull=False) | models.Q(period_start__isnull=False, period_end__isnull=False),
            name="ask_on_incident_or_period")]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.text[:60]}"
