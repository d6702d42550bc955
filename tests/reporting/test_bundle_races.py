"""Races on PostgreSQL: two identical requests for a model's evidence bundle at once make one bundle."""

import pytest

from governance.kernel.audit import verify_chain
from reporting.bundle import records
from reporting.models import EvidenceBundle
from tests.factories import MLModelFactory
from tests.postmortems.helpers import open_incident
from tests.readiness.test_concurrency import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("attempt", range(3))
def test_two_identical_requests_at_once_share_one_pending_bundle(people, attempt):
    model = MLModelFactory()
    open_incident(title="Restricted matter", models=[model], restricted=True, severity="SEV1")

    def asks(person, regime=None):
        return lambda: records.request_bundle(model, actor=people[person], regime=regime, enqueue=False)

    # Legal and Compliance see the same (every restricted matter): one view, one bundle.
    first, second = run_together(asks("legal"), asks("compliance"))
    assert {first.created, second.created} == {True, False}
    assert first.bundle.pk == second.bundle.pk
    assert EvidenceBundle.objects.filter(model=model).count() == 1
    # Model Risk does not see the restricted incident: another view, another bundle, even at the same moment.
    third, fourth = run_together(asks("model_risk"), asks("legal", "eu-ai-act"))
    assert third.created and fourth.created
    assert EvidenceBundle.objects.filter(model=model).count() == 3
    assert verify_chain()[1] is None
