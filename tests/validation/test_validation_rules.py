"""Model risk validation: independence, triggers that open exactly one revalidation need, and the gate's reasons."""

from datetime import timedelta

import pytest

from governance.inventory import services as inventory
from governance.kernel import clock
from governance.kernel.errors import PermissionDenied
from governance.kernel.roles import Role
from governance.validation import services
from governance.validation.models import RevalidationNeed, Trigger
from governance.validation.selectors import gate_reasons
from tests.factories import PASSWORD, MLModelFactory, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def mrm(db):
    return make_user("vera", Role.MODEL_RISK)


def test_model_owner_cannot_validate_own_model(mrm):
    model = MLModelFactory(owner=mrm)
    with pytest.raises(PermissionDenied) as error:
        services.start_validation(model, actor=mrm, scope=["CONCEPTUAL_SOUNDNESS"])
    assert error.value.code == "validator_not_independent"


def test_independent_validator_opens_a_validation(mrm):
    model = MLModelFactory()
    validation = services.start_validation(model, actor=mrm, scope=["DATA", "CONCEPTUAL_SOUNDNESS"])
    assert validation.scope == ["CONCEPTUAL_SOUNDNESS", "DATA"]


def test_the_same_incident_opens_exactly_one_revalidation_need(mrm):
    model = MLModelFactory()
    first, opened = services.trigger_incident(model, actor=mrm, incident_id=7)
    again, opened_again = services.trigger_incident(model, actor=mrm, incident_id=7)
    assert opened and not opened_again and first.pk == again.pk
    assert RevalidationNeed.objects.filter(model=model, trigger=Trigger.INCIDENT).count() == 1


def test_overdue_revalidation_need_denies_the_gate_and_a_waiver_lifts_it(mrm):
    model = MLModelFactory(risk_tier="TIER_3")
    inventory.set_materiality(model, actor=mrm, password=PASSWORD, exposure="LOW", purpose="INTERNAL", reason="Internal insight")
    services.open_revalidation_need(model, actor=mrm, trigger=Trigger.DRIFT, source_type="readiness.evaluation",
                                    source_id="1:income", source_label="Drift on income",
                                    due_date=clock.today())
    later = clock.now() + timedelta(days=2)
    assert [r["code"] for r in gate_reasons(model.slug, now=later)] == ["revalidation_overdue"]
    services.waive_gate_reason(model, actor=mrm, code="revalidation_overdue", reason="Reviewed by committee",
                               expires_at=clock.now() + timedelta(days=30), password=PASSWORD)
    assert gate_reasons(model.slug, now=later) == []


def test_assessed_tier_1_model_without_validation_is_denied(mrm):
    model = MLModelFactory(risk_tier="TIER_1")
    assert gate_reasons(model.slug) == []
    inventory.set_materiality(model, actor=mrm, exposure="HIGH", purpose="CUSTOMER_DECISION", reason="Credit",
                            password=PASSWORD)
    assert [r["code"] for r in gate_reasons(model.slug)] == ["no_current_validation"]


def test_gate_reasons_read_in_one_query(mrm, django_assert_max_num_queries):
    model = MLModelFactory()
    with django_assert_max_num_queries(1):
        gate_reasons(model.slug)


def test_an_overdue_open_finding_denies_from_the_configured_severity(mrm, settings):
    owner = make_user("olga", Role.DATA_SCIENCE)
    model = MLModelFactory()
    validation = services.start_validation(model, actor=mrm, scope=["DATA"])
    services.add_finding(validation, actor=mrm, severity="MEDIUM", title="t", description="d", owner=owner,
                         due_date=clock.today())
    later = clock.now() + timedelta(days=2)
    assert gate_reasons(model.slug, now=later) == []  # HIGH by default: a medium finding does not stop it
    settings.VALIDATION_GATE_SEVERITY = "MEDIUM"
    assert [r["code"] for r in gate_reasons(model.slug, now=later)] == ["finding_overdue"]


def test_gate_reasons_stay_one_query_with_history(mrm, django_assert_max_num_queries):
    owner = make_user("olga", Role.DATA_SCIENCE)
    model = MLModelFactory()
    for _ in range(5):
        validation = services.start_validation(model, actor=mrm, scope=["DATA"])
        services.add_finding(validation, actor=mrm, severity="HIGH", title="t", description="d", owner=owner,
                             due_date=clock.today())
        services.trigger_incident(model, actor=mrm, incident_id=validation.pk)
    with django_assert_max_num_queries(1):
        gate_reasons(model.slug, now=clock.now() + timedelta(days=2))


def test_a_need_on_a_model_outside_the_programme_is_listed_but_does_not_deny(mrm):
    model = MLModelFactory(risk_tier="TIER_3")
    services.trigger_incident(model, actor=mrm, incident_id=3)
    later = clock.now() + timedelta(days=60)
    assert gate_reasons(model.slug, now=later) == []
    inventory.set_materiality(model, actor=mrm, password=PASSWORD, exposure="LOW", purpose="INTERNAL", reason="Internal insight")
    assert [r["code"] for r in gate_reasons(model.slug, now=later)] == ["revalidation_overdue"]
