"""Compliance and administrators issue and revoke API tokens from a page: scopes, model limit and expiry, the
secret shown once, the password re-entered, every act audited. Nobody else may."""

import pytest

from governance.kernel.canonical import sha256_hex
from governance.kernel.models import ApiToken
from governance.kernel.roles import Role
from governance.models import AuditEvent
from tests.factories import PASSWORD, MLModelFactory, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def cole(db):
    return make_user("cole_compliance", Role.COMPLIANCE)


def _issue(client, **extra):
    data = {"name": "credit CI", "scopes": ["gate:read", "evaluations:write"], "expires_days": "30",
            "password": PASSWORD, **extra}
    return client.post("/tokens/", data)


def test_compliance_issues_a_limited_token_and_sees_the_secret_once(client, cole, api_client):
    model = MLModelFactory(slug="credit-line-decisioning")
    client.force_login(cole)
    response = _issue(client, models=[model.pk])
    assert response.status_code == 200
    secret = response.context["secret"]
    token = ApiToken.objects.get(name="credit CI")
    assert token.secret_hash == sha256_hex(secret) and token.scopes == ["evaluations:write", "gate:read"]
    assert list(token.allowed_models.all()) == [model] and token.expires_at is not None
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(verb="token.issued")
    assert event.actor_label and event.after["confirmed_by"] == "password" and secret not in str(event.after)
    assert secret not in client.get("/tokens/").content.decode()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api_client.get("/api/v1/gate/?model=credit-line-decisioning&version=1&stage=canary").status_code == 200


def test_a_wrong_password_issues_nothing(client, cole):
    client.force_login(cole)
    response = _issue(client, password="not-it")
    assert response.status_code == 400 and "password" in response.context["form"].errors
    assert not ApiToken.objects.exists()


def test_a_token_without_a_scope_is_refused_beside_the_field(client, cole):
    client.force_login(cole)
    response = _issue(client, scopes=[])
    assert response.status_code == 400 and "scopes" in response.context["form"].errors
    assert not ApiToken.objects.exists()


def test_revoking_from_the_page_stops_the_token_and_is_audited(client, cole, api_client):
    client.force_login(cole)
    secret = _issue(client).context["secret"]
    token = ApiToken.objects.get()
    assert client.post(f"/tokens/{token.pk}/revoke/").status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(verb="token.revoked").count() == 1
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api_client.get("/api/v1/gate/?model=x&version=1&stage=canary").status_code == 401


@pytest.mark.parametrize("role", [Role.DATA_SCIENCE, Role.LEGAL, Role.VIEWER])
def test_other_roles_may_not_open_or_use_the_token_page(client, role):
    client.force_login(make_user("someone", role))
    assert client.get("/tokens/").status_code == 403
    assert _issue(client).status_code == 403
    assert not ApiToken.objects.exists()


def test_an_administrator_may_issue_tokens(client):
    client.force_login(make_user("root_admin", superuser=True))
    assert _issue(client).status_code == 200 and ApiToken.objects.count() == 1


def test_the_token_page_query_count_does_not_grow_with_tokens(client, cole, django_assert_max_num_queries):
    from governance.kernel.principals import SystemActor
    from governance.kernel.services import issue_api_token

    model = MLModelFactory()
    for n in range(25):
        issue_api_token(actor=SystemActor("tests"), name=f"t{n}", scopes=["gate:read"], models=[model])
    client.force_login(cole)
    with django_assert_max_num_queries(8):
        response = client.get("/tokens/")
    assert len(response.context["tokens"]) == 25
