"""Seeded records carry their story's effective times, never the moment the seeding ran.

Every stored moment of every seeded row is checked against the wall-clock interval in which seeding ran. Only
the fields that record when a row was physically written (and say so by their meaning) may fall inside it.
"""

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import models
from django.utils import timezone

pytestmark = pytest.mark.django_db

# Fields that record when a row was written, not when the act it records happened: the audit log's own write
# time beside its effective time, automatic update stamps, the moment Gatehouse received a delivery, and the
# records of work the seeding itself does now (rendering reports, anchoring the chain, issuing demo tokens).
WRITTEN_AT = {
    "governance.AuditEvent.created_at", "readiness.Observation.received_at",
    "governance.AuditAnchor.anchored_at", "governance.AuditAnchor.created_at",
}
WRITTEN_AT_MODELS = {"reporting.Report", "sessions.Session", "axes.AccessAttempt", "axes.AccessLog",
                     "axes.AccessFailureLog", "admin.LogEntry", "governance.IdempotencyRecord",
                     "governance.ApiToken", "django_celery_beat.PeriodicTask"}


def moments():
    for model in apps.get_models():
        label = model._meta.label
        if label in WRITTEN_AT_MODELS:
            continue
        for field in model._meta.concrete_fields:
            if not isinstance(field, models.DateTimeField) or getattr(field, "auto_now", False):
                continue
            if f"{label}.{field.name}" in WRITTEN_AT:
                continue
            yield model, field


def test_no_seeded_moment_is_the_seeding_instant():
    started = timezone.now()
    call_command("seed_examples", verbosity=0)
    finished = timezone.now()
    found = {}
    for model, field in moments():
        rows = model.objects.filter(**{f"{field.name}__gte": started, f"{field.name}__lte": finished})
        count = rows.count()
        if count:
            found[f"{model._meta.label}.{field.name}"] = count
    assert not found, f"seeded moments equal to the seeding instant: {found}"
