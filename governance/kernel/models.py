"""The kernel's records: people and their roles, API tokens, the audit log and idempotency records.

Nothing here may import the inventory, the policies or any app above them; other records are referred
to by their "app.Model" label only."""

from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.fields.json import KeyTransform
from django.utils import timezone

from governance.kernel.roles import Role


class User(AbstractUser):
    """A person. Roles come from RoleMembership rows; a person may hold several.

    A person who signs in through the company's identity provider carries its issuer and subject: that pair,
    not a user name or an e-mail address, is who they are, and their roles follow the provider's groups."""

    sso_issuer = models.CharField(max_length=300, blank=True)
    sso_subject = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["last_name", "first_name", "username"]
        constraints = [models.UniqueConstraint(fields=["sso_issuer", "sso_subject"], condition=~models.Q(sso_subject=""),
                                               name="one_person_per_sso_subject")]

    @property
    def uses_sso(self) -> bool:
        return bool(self.sso_subject)

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    def __str__(self) -> str:
        return self.display_name


class RoleMembership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="unique_role_per_user")]
        ordering = ["role"]

    def __str__(self) -> str:
        return f"{self.user} as {self.get_role_display()}"


class AuditEvent(models.Model):
    """Append-only, hash-chained record of every state change.

    ``hash`` is sha256(prev_hash + canonical JSON of the event's fields); ``seq`` is gap-free, so an
    edited row breaks its own hash and a removed row breaks the sequence and the next row's prev_hash.
    ``created_at`` is when the row was written; ``effective_at`` is set only when a trusted historical caller
    (the seeds, an import) replayed an act that happened earlier (see governance.kernel.clock).
    """

    seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField()
    effective_at = models.DateTimeField(null=True, blank=True)
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
        indexes = [
            models.Index(fields=["object_type", "object_id", "seq"], name="audit_object_idx"),
            # A launch page lists the events about the launch and about what hangs off it (sign-offs, items,
            # rollout), which carry the launch's id in ``after``; without this the page scans the whole log.
            models.Index(KeyTransform("launch", "after"), name="audit_after_launch_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.actor_label} {self.verb} {self.object_repr}"

    @property
    def occurred_at(self) -> datetime:
        """When the act happened: the effective time where one was given, else when it was recorded."""
        return self.effective_at or self.created_at


class AuditSource(models.Model):
    """The incident whose content an audit event carries (its title, timeline text, a rationale...).

    Written with the event and never changed. It is a classification, not evidence, so it sits beside the chain
    rather than in it: the hash of events written before it existed stays valid, and a reader's right to see an
    event is decided from it at read time (governance.kernel.visibility.visible_events).
    """

    event = models.OneToOneField(AuditEvent, on_delete=models.PROTECT, primary_key=True, related_name="source")
    incident_id = models.BigIntegerField(db_index=True)

    def __str__(self) -> str:
        return f"#{self.event_id} from incident #{self.incident_id}"


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
        VALIDATIONS_READ = "validations:read", "Read model validations, findings and revalidation needs"

    name = models.CharField(max_length=100, unique=True)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    allowed_models = models.ManyToManyField("governance.MLModel", blank=True, related_name="api_tokens",
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

    def __str__(self) -> str:
        return self.name

    def is_usable(self, now: datetime | None = None) -> bool:
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

    def __str__(self) -> str:
        return f"{self.owner} {self.key}"


class BeatLease(models.Model):
    """Who runs the periodic schedule: one Celery beat holds the lease and renews it; another beat started by
    mistake finds it held and sends nothing until it lapses (governance.kernel.beat)."""

    name = models.CharField(max_length=50, primary_key=True)
    holder = models.CharField(max_length=200)
    acquired_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder} until {self.expires_at:%Y-%m-%d %H:%M:%S}"
