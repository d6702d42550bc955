"""A model's risk tier and its materiality decide what its launches must pass (the tier's policy, the validation
the gate asks for), so changing either is a decision in someone's name: the person re-authenticates as an
approver of a policy change does, and a missing or wrong password changes nothing."""

import time

import pytest
from django.urls import reverse

from governance.inventory import services
from governance.kernel.errors import PermissionDenied, ValidationFailed
from governance.kernel.models import AuditEvent, User
from governance.kernel.principals import SystemActor
from governance.kernel.roles import Role
from tests.factories import PASSWORD, MLModelFactory, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def dana(db):
    return make_user("dana", Role.DATA_SCIENCE)


@pytest.fixture
def mara(db):
    return make_user("mara", Role.MODEL_RISK)


@pytest.mark.parametrize(("password", "code"), [(None, "password_required"), ("", "password_required"),
                                                ("wrong horse", "invalid")])
def test_changing_the_tier_asks_for_the_password(dana, password, code):
    model = MLModelFactory(risk_tier="TIER_2")
    with pytest.raises(ValidationFailed) as refused:
        services.update_model(model, actor=dana, risk_tier="TIER_3", password=password)
    assert refused.value.field == "password" and refused.value.code == code
    model.refresh_from_db()
    assert model.risk_tier == "TIER_2"
    assert not AuditEvent.objects.filter(verb="model.updated").exists()


def test_a_confirmed_tier_change_records_how_it_was_confirmed(dana):
    model = MLModelFactory(risk_tier="TIER_2")
    services.update_model(model, actor=dana, risk_tier="TIER_1", password=PASSWORD)
    model.refresh_from_db()
    assert model.risk_tier == "TIER_1"
    event = AuditEvent.objects.get(verb="model.updated")
    assert event.before == {"risk_tier": "TIER_2"}
    assert event.after["risk_tier"] == "TIER_1" and event.after["confirmed_by"] == "password"


def test_edits_that_keep_the_tier_ask_for_nothing(dana):
    model = MLModelFactory(risk_tier="TIER_2", name="Old")
    services.update_model(model, actor=dana, name="New", risk_tier="TIER_2")
    event = AuditEvent.objects.get(verb="model.updated")
    assert event.after == {"name": "New"}


def test_only_a_person_changes_a_tier(db):
    model = MLModelFactory(risk_tier="TIER_2")
    with pytest.raises(PermissionDenied) as refused:
        services.update_model(model, actor=SystemActor("import"), risk_tier="TIER_1")
    assert refused.value.code == "person_required"


def test_the_edit_page_asks_for_the_password_when_the_tier_changes(client, dana):
    model = MLModelFactory(risk_tier="TIER_2", owner=dana)
    client.force_login(dana)
    url = reverse("governance:model_edit", args=[model.slug])
    form = {"name": model.name, "owner": dana.pk, "business_use": model.business_use, "risk_tier": "TIER_1",
            "regulatory_scope": model.regulatory_scope, "protected_attributes": ""}
    page = client.get(url)
    assert 'name="password"' in page.content.decode()
    refused = client.post(url, form)
    assert refused.status_code == 200 and "password" in refused.context["form"].errors
    model.refresh_from_db()
    assert model.risk_tier == "TIER_2"
    assert client.post(url, {**form, "password": PASSWORD}).status_code == 302
    model.refresh_from_db()
    assert model.risk_tier == "TIER_1"


@pytest.mark.parametrize(("password", "code"), [(None, "password_required"), ("wrong horse", "invalid")])
def test_setting_materiality_asks_for_the_password(mara, password, code):
    model = MLModelFactory(risk_tier="TIER_1")
    with pytest.raises(ValidationFailed) as refused:
        services.set_materiality(model, actor=mara, exposure="HIGH", purpose="CUSTOMER_DECISION", reason="Credit",
                                 password=password)
    assert refused.value.field == "password" and refused.value.code == code
    model.refresh_from_db()
    assert model.materiality == ""
    assert not AuditEvent.objects.filter(verb="model.materiality_set").exists()


def test_confirmed_materiality_records_how_it_was_confirmed(mara):
    model = MLModelFactory(risk_tier="TIER_1")
    services.set_materiality(model, actor=mara, exposure="HIGH", purpose="CUSTOMER_DECISION", reason="Credit",
                             password=PASSWORD)
    event = AuditEvent.objects.get(verb="model.materiality_set")
    assert event.after["materiality"] == model.__class__.objects.get(pk=model.pk).materiality
    assert event.after["confirmed_by"] == "password"


def test_single_sign_on_people_confirm_a_tier_change_at_the_provider(dana, settings):
    issuer = "https://idp.example"
    User.objects.filter(pk=dana.pk).update(sso_issuer=issuer, sso_subject="subject-dana")
    dana.refresh_from_db()
    model = MLModelFactory(risk_tier="TIER_2")
    with pytest.raises(ValidationFailed) as refused:
        services.update_model(model, actor=dana, risk_tier="TIER_1", password=PASSWORD)
    assert refused.value.code == "reauthentication_required"
    proof = {"iss": issuer, "sub": "subject-dana", "auth_time": int(time.time())}
    services.update_model(model, actor=dana, risk_tier="TIER_1", sso_proof=proof)
    event = AuditEvent.objects.get(verb="model.updated")
    assert event.after["confirmed_by"] == "identity provider"
