"""Model Risk may dismiss a revalidation need by hand, with a reason kept on the need and in the audit log; nobody
else may, an empty reason changes nothing, and a need already resolved cannot be dismissed again."""

import pytest
from django.urls import reverse

from governance.inventory import services as inventory
from governance.kernel.errors import Conflict, PermissionDenied, ValidationFailed
from governance.kernel.roles import Role
from governance.models import AuditEvent
from governance.validation import selectors, services
from governance.validation.models import RevalidationNeed
from governance.validation.selectors import gate_reasons
from tests.factories import PASSWORD, MLModelFactory, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def vera(db):
    return make_user("vera", Role.MODEL_RISK)


@pytest.fixture
def dan(db):
    return make_user("dan", Role.DATA_SCIENCE)


@pytest.fixture
def model(dan, vera):
    model = MLModelFactory(owner=dan, risk_tier="TIER_2")
    inventory.set_materiality(model, actor=vera, password=PASSWORD, exposure="LOW", purpose="INTERNAL",
                              reason="Internal insight")
    return model


@pytest.fixture
def need(model, vera):
    need, opened = services.trigger_drift(model, actor=vera, evaluation_id=7, feature="income")
    assert opened
    return need


def test_model_risk_dismisses_a_need_with_a_reason(vera, model, need):
    services.dismiss_revalidation_need(need, actor=vera, reason="Income is not an input of this version")
    need.refresh_from_db()
    assert need.resolved_at is not None and need.resolved_by is None
    assert need.dismissed_by == vera and need.dismiss_reason == "Income is not an input of this version"
    assert not selectors.model_open_needs(model).exists()
    event = AuditEvent.objects.filter(verb="revalidation.dismissed").get()
    assert event.object_id == str(need.pk) and event.after["reason"] == "Income is not an input of this version"


def test_a_dismissed_need_no_longer_holds_the_gate(vera, model, need):
    RevalidationNeed.objects.filter(pk=need.pk).update(due_date="2020-01-01")
    assert "revalidation_overdue" in [r["code"] for r in gate_reasons(model.slug)]
    services.dismiss_revalidation_need(need, actor=vera, reason="Duplicate of the incident's need")
    assert "revalidation_overdue" not in [r["code"] for r in gate_reasons(model.slug)]


def test_the_same_source_does_not_reopen_a_dismissed_need(vera, model, need):
    services.dismiss_revalidation_need(need, actor=vera, reason="Not relevant")
    again, opened = services.trigger_drift(model, actor=vera, evaluation_id=7, feature="income")
    assert not opened and again.pk == need.pk and again.resolved_at is not None


def test_only_model_risk_may_dismiss(dan, need):
    with pytest.raises(PermissionDenied):
        services.dismiss_revalidation_need(need, actor=dan, reason="I say so")
    need.refresh_from_db()
    assert need.resolved_at is None and not AuditEvent.objects.filter(verb="revalidation.dismissed").exists()


def test_a_reason_is_required(vera, need):
    with pytest.raises(ValidationFailed) as refused:
        services.dismiss_revalidation_need(need, actor=vera, reason="   ")
    assert refused.value.field == "reason"
    need.refresh_from_db()
    assert need.resolved_at is None


def test_a_resolved_need_cannot_be_dismissed_again(vera, need):
    services.dismiss_revalidation_need(need, actor=vera, reason="Not relevant")
    with pytest.raises(Conflict) as refused:
        services.dismiss_revalidation_need(need, actor=vera, reason="Twice")
    assert refused.value.code == "need_resolved"
    assert AuditEvent.objects.filter(verb="revalidation.dismissed").count() == 1


# --- The API -------------------------------------------------------------------------------------------------

def test_api_dismisses_and_answers_with_the_need(api_client, vera, need):
    api_client.force_authenticate(vera)
    answer = api_client.post(f"/api/v1/revalidation-needs/{need.pk}/dismiss/", {"reason": "Not relevant"},
                             format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["dismissed_by"] == "vera" and answer.json()["resolved_at"] is not None
    answer = api_client.post(f"/api/v1/revalidation-needs/{need.pk}/dismiss/", {"reason": "Again"}, format="json")
    assert answer.status_code == 409 and answer.json()["code"] == "need_resolved"


def test_api_refusals(api_client, vera, dan, need):
    api_client.force_authenticate(vera)
    answer = api_client.post(f"/api/v1/revalidation-needs/{need.pk}/dismiss/", {"reason": ""}, format="json")
    assert answer.status_code == 400 and [e["field"] for e in answer.json()["errors"]] == ["reason"]
    answer = api_client.post(f"/api/v1/revalidation-needs/{need.pk}/dismiss/", {"reason": "x", "who": "me"},
                             format="json")
    assert answer.status_code == 400 and answer.json()["code"] == "unknown_field"
    assert api_client.post("/api/v1/revalidation-needs/999999/dismiss/", {"reason": "x"},
                           format="json").status_code == 404
    api_client.force_authenticate(dan)
    answer = api_client.post(f"/api/v1/revalidation-needs/{need.pk}/dismiss/", {"reason": "x"}, format="json")
    assert answer.status_code == 403
    need.refresh_from_db()
    assert need.resolved_at is None


# --- The pages -----------------------------------------------------------------------------------------------

def test_dismiss_from_the_queue_returns_to_the_queue(client, vera, need):
    client.force_login(vera)
    page = client.get(reverse("validation:validation_list"))
    assert reverse("validation:need_dismiss", args=[need.pk]).encode() in page.content
    response = client.post(reverse("validation:need_dismiss", args=[need.pk]),
                           {"reason": "Duplicate", "back": "queue"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("validation:validation_list"))
    need.refresh_from_db()
    assert need.dismissed_by == vera


def test_dismiss_from_the_model_page_without_a_reason_changes_nothing(client, vera, model, need):
    client.force_login(vera)
    response = client.post(reverse("validation:need_dismiss", args=[need.pk]), {"reason": "", "back": "model"},
                           follow=True)
    assert b"Give the reason the revalidation need is dismissed" in response.content
    need.refresh_from_db()
    assert need.resolved_at is None


def test_others_see_no_dismiss_form_and_are_refused(client, dan, model, need):
    client.force_login(dan)
    page = client.get(reverse("validation:model_risk", args=[model.slug]))
    assert reverse("validation:need_dismiss", args=[need.pk]).encode() not in page.content
    assert client.post(reverse("validation:need_dismiss", args=[need.pk]), {"reason": "x"}).status_code == 403
