"""Builders for the postmortems tests: incidents through the service, launches straight into the table."""

from datetime import timedelta

from django.utils import timezone

from governance.kernel.principals import SystemActor
from governance.policies.services import current_version
from postmortems import services
from readiness.models import LaunchRequest
from tests.factories import ModelVersionFactory

SYSTEM = SystemActor("tests")


def ago(**delta):
    return timezone.now() - timedelta(**delta)


def open_incident(actor=SYSTEM, **overrides):
    data = {"title": "Approval rates shifted by segment", "severity": "SEV2", "detection_source": "MONITORING"}
    data.update(overrides)
    return services.open_incident(actor=actor, **data)


def make_launch(*, author, model=None, **fields):
    version = ModelVersionFactory(model=model) if model is not None else ModelVersionFactory()
    fields.setdefault("status", "LAUNCHED")
    return LaunchRequest.objects.create(
        version=version, policy_version=current_version(version.model.risk_tier),
        title=fields.pop("title", f"Launch {version}"), author=author, **fields,
    )
