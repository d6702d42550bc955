"""The validator's pages and the model page's model-risk section run the same number of queries whatever a model's
validation history: a model with five times the validations, findings and revalidation needs costs no more."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from governance.kernel import clock
from governance.kernel.roles import Role
from governance.validation.models import Finding, GateWaiver, RevalidationNeed, Validation
from tests.factories import MLModelFactory, make_user

pytestmark = pytest.mark.django_db


def history(model, validator, owner, n):
    for i in range(n):
        validation = Validation.objects.create(model=model, validator=validator, scope=["DATA"])
        for j in range(3):
            Finding.objects.create(validation=validation, model=model, severity="HIGH", title=f"F{i}.{j}",
                                   description="d", owner=owner, delegate=validator, due_date=clock.today())
        RevalidationNeed.objects.create(model=model, trigger="INCIDENT", source_type="postmortems.incident",
                                        source_id=str(i), source_label=f"Incident #{i}", due_date=clock.today())
        GateWaiver.objects.create(model=model, code="finding_overdue", reason="r", granted_by=validator,
                                  role=Role.MODEL_RISK, expires_at=clock.now() + timedelta(days=1))
    return validation


def urls(model, validation):
    finding = validation.findings.first()
    return [model.get_absolute_url(), reverse("validation:validation_list"),
            reverse("validation:model_risk", args=[model.slug]), validation.get_absolute_url(),
            finding.get_absolute_url(), reverse("validation:finding_add", args=[validation.pk]),
            reverse("validation:validation_complete", args=[validation.pk]),
            reverse("validation:validation_start", args=[model.slug])]


def counts(client, model, validation):
    found = []
    for url in urls(model, validation):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200, url
        found.append(len(captured))
    return found


def test_validation_pages_run_the_same_queries_at_five_times_the_history(client):
    vera, owner = make_user("vera", Role.MODEL_RISK), make_user("olga", Role.DATA_SCIENCE)
    small, large = MLModelFactory(owner=owner), MLModelFactory(owner=owner)
    client.force_login(vera)
    at_one = counts(client, small, history(small, vera, owner, 4))
    at_five = counts(client, large, history(large, vera, owner, 20))
    assert at_one == at_five
