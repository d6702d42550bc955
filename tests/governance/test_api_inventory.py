"""Inventory API and token rules: 401 without or with a dead token, 403 for a missing scope or model."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.kernel.principals import SystemActor
from governance.kernel.services import revoke_api_token
from governance.models import ApiToken, AuditEvent, MLModel
from tests.factories import MLModelFactory, make_user, sha

pytestmark = pytest.mark.django_db


def auth(client, secret):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def owner(db):
    return make_user("owner")


def new_model(**overrides):
    body = {"slug": "churn", "name": "Churn", "owner": "owner", "business_use": "Predicts churn.",
            "risk_tier": "TIER_3"}
    body.update(overrides)
    return body


def test_unauthenticated_calls_get_401(api_client):
    response = api_client.get("/api/v1/models/")
    assert response.status_code == 401 and response.json()["code"]


def test_token_with_scope_registers_a_model_and_a_version(api_client, token_for, owner):
    _, secret = token_for("models:write", "models:read")
    auth(api_client, secret)
    assert api_client.post("/api/v1/models/", new_model(), format="json").status_code == 201
    response = api_client.post("/api/v1/models/churn/versions/", {
        "version": "1.0.0", "artifact_sha256": sha("churn"), "git_commit": "abc1234",
        "features": [{"name": "tenure"}, {"name": "device_score", "source": "THIRD_PARTY", "vendor": "DeviceCo"}],
    }, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [f["name"] for f in body["features"]] == ["device_score", "tenure"]
    assert body["features"][0]["missing_controls"] == ["proxy-risk assessment", "vendor schema-stability SLA",
                                                       "drift monitor"]
    detail = api_client.get("/api/v1/models/churn/").json()
    assert detail["versions"][0]["version"] == "1.0.0"
    assert AuditEvent.objects.get(verb="version.created").actor_label.startswith("token:")


@pytest.mark.parametrize("body,field", [
    (new_model(slug="Bad Slug"), "slug"),
    (new_model(risk_tier="TIER_9"), "risk_tier"),
    (new_model(name=""), "name"),
    ({"slug": "x"}, "name"),
])
def test_bad_model_input_names_the_field(api_client, token_for, owner, body, field):
    _, secret = token_for("models:write")
    response = auth(api_client, secret).post("/api/v1/models/", body, format="json")
    assert response.status_code == 400
    assert field in {e["field"] for e in response.json().get("errors", [response.json()])}
    assert not MLModel.objects.exists()


def test_an_unknown_owner_is_a_404_naming_the_field(api_client, token_for, owner):
    _, secret = token_for("models:write")
    response = auth(api_client, secret).post("/api/v1/models/", new_model(owner="nobody"), format="json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert "owner" in {e["field"] for e in response.json()["errors"]}
    assert not MLModel.objects.exists()


def test_duplicate_slug_is_a_409_on_slug(api_client, token_for, owner):
    MLModelFactory(slug="churn")
    _, secret = token_for("models:write")
    response = auth(api_client, secret).post("/api/v1/models/", new_model(), format="json")
    assert response.status_code == 409 and response.json()["field"] == "slug"


@pytest.mark.parametrize("sha256", ["xyz", "g" * 64, "0" * 63, ""])
def test_malformed_sha256_is_refused(api_client, token_for, sha256):
    model = MLModelFactory(slug="churn")
    _, secret = token_for("models:write")
    response = auth(api_client, secret).post(f"/api/v1/models/{model.slug}/versions/",
                                             {"version": "1", "artifact_sha256": sha256}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "artifact_sha256"
    assert not model.versions.exists()


def test_wrong_scope_is_403(api_client, token_for, owner):
    _, secret = token_for("gate:read")
    response = auth(api_client, secret).post("/api/v1/models/", new_model(), format="json")
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


def test_token_limited_to_other_models_is_403(api_client, token_for):
    mine, theirs = MLModelFactory(slug="mine"), MLModelFactory(slug="theirs")
    _, secret = token_for("models:write", models=[mine])
    response = auth(api_client, secret).post("/api/v1/models/theirs/versions/",
                                             {"version": "1", "artifact_sha256": sha("x")}, format="json")
    assert response.status_code == 403
    assert not theirs.versions.exists()


def test_expired_token_is_401(api_client, token_for):
    token, secret = token_for("models:read")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = auth(api_client, secret).get("/api/v1/models/")
    assert (response.status_code, response.json()["code"]) == (401, "token_expired")


def test_revoked_token_is_401(api_client, token_for):
    token, secret = token_for("models:read")
    revoke_api_token(token, actor=SystemActor("tests"))
    response = auth(api_client, secret).get("/api/v1/models/")
    assert (response.status_code, response.json()["code"]) == (401, "token_revoked")


def test_forged_secret_with_a_real_prefix_is_401(api_client, token_for):
    token, secret = token_for("models:read")
    response = auth(api_client, secret[:-4] + "AAAA").get("/api/v1/models/")
    assert response.status_code == 401


def test_secret_is_stored_only_as_a_hash_and_never_audited(token_for):
    token, secret = token_for("models:read")
    stored = ApiToken.objects.get(pk=token.pk)
    assert secret not in stored.secret_hash and len(stored.secret_hash) == 64
    for event in AuditEvent.objects.all():
        assert secret not in str(event.after) and stored.secret_hash not in str(event.after)


def test_create_api_token_command_prints_the_secret_once(capsys):
    from django.core.management import call_command

    MLModelFactory(slug="lending")
    call_command("create_api_token", "pipeline", "--scopes", "gate:read,evaluations:write", "--models", "lending",
                 "--expires-days", "30")
    secret = capsys.readouterr().out.strip()
    token = ApiToken.objects.get(name="pipeline")
    assert secret.startswith("gth_") and token.scopes == ["evaluations:write", "gate:read"]
    assert [m.slug for m in token.allowed_models.all()] == ["lending"]
    assert token.expires_at is not None


def test_create_api_token_rejects_unknown_scope():
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError) as caught:
        call_command("create_api_token", "pipeline", "--scopes", "everything")
    assert caught.value.code == "unknown_scope"
    assert not ApiToken.objects.exists()


def test_idempotency_key_replays_the_first_answer(api_client, token_for, owner):
    _, secret = token_for("models:write")
    auth(api_client, secret)
    first = api_client.post("/api/v1/models/", new_model(), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = api_client.post("/api/v1/models/", new_model(), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert MLModel.objects.count() == 1
    other = api_client.post("/api/v1/models/", new_model(name="Other"), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert other.status_code == 409


def test_schema_and_docs_are_served_without_a_cdn(client):
    user = make_user("reader")
    client.force_login(user)
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200 and b"/api/v1/models/" in schema.content
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower() and "//unpkg" not in docs


def test_a_model_limited_token_cannot_register_a_model_it_could_not_see(api_client, token_for, owner):
    limited = MLModelFactory(slug="credit-line")
    _, secret = token_for("models:write", "models:read", models=[limited])
    response = auth(api_client, secret).post("/api/v1/models/", new_model(), format="json")
    assert response.status_code == 403 and response.json()["code"] == "token_model_limit"
    assert not MLModel.objects.filter(slug="churn").exists()


def test_a_model_limited_token_cannot_open_an_incident_outside_its_limit(api_client, token_for):
    from postmortems.models import Incident

    limited, other = MLModelFactory(slug="credit-line"), MLModelFactory(slug="churn-other")
    _, secret = token_for("incidents:write", "incidents:read", models=[limited])
    client = auth(api_client, secret)
    body = {"title": "Drift", "severity": "SEV3", "detection_source": "MONITORING"}
    response = client.post("/api/v1/incidents/", body, format="json")
    assert response.status_code == 403 and response.json()["code"] == "token_model_limit"
    response = client.post("/api/v1/incidents/", {**body, "models": [other.slug]}, format="json")
    assert response.status_code == 403
    assert not Incident.objects.exists()
    response = client.post("/api/v1/incidents/", {**body, "models": [limited.slug]}, format="json")
    assert response.status_code == 201, response.json()
