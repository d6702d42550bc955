"""The validator's API: declared inputs, 400s that name the field, 404 for a missing record, 409 for a conflict with
the record's state, and every write through the services."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from governance.inventory import services as inventory
from governance.kernel import clock
from governance.kernel.roles import Role
from governance.validation import services
from governance.validation.models import Finding, FindingStatus, Validation, ValidationStatus
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
    model = MLModelFactory(owner=dan, risk_tier="TIER_1")
    inventory.set_materiality(model, actor=vera, password=PASSWORD, exposure="LOW", purpose="INTERNAL", reason="Internal insight")
    return model


def as_user(api_client, user):
    api_client.force_authenticate(user)
    return api_client


def test_validator_day_over_the_api(api_client, vera, dan, model):
    c = as_user(api_client, vera)
    answer = c.post(f"/api/v1/models/{model.slug}/validations/",
                    {"scope": ["CONCEPTUAL_SOUNDNESS", "MONITORING_PLAN"]}, format="json")
    assert answer.status_code == 201, answer.json()
    vid = answer.json()["id"]
    due = (clock.today() + timedelta(days=10)).isoformat()
    answer = c.post(f"/api/v1/validations/{vid}/findings/", {
        "severity": "MEDIUM", "title": "Limits undocumented", "description": "d", "owner": "dan", "due_date": due},
        format="json")
    assert answer.status_code == 201 and answer.json()["owner"] == "dan"
    fid = answer.json()["id"]
    # not the owner: 403, nothing changes
    assert c.post(f"/api/v1/findings/{fid}/remediate/", {"evidence": "x"}, format="json").status_code == 403
    c = as_user(api_client, dan)
    assert c.post(f"/api/v1/findings/{fid}/remediate/", {"evidence": "Doc v2"}, format="json").status_code == 200
    # remediating twice is a conflict with the finding's state
    answer = c.post(f"/api/v1/findings/{fid}/remediate/", {"evidence": "again"}, format="json")
    assert answer.status_code == 409 and answer.json()["code"] == "finding_not_open"
    c = as_user(api_client, vera)
    answer = c.post(f"/api/v1/findings/{fid}/retest/", {"passed": True, "note": "Read it"}, format="json")
    assert answer.json()["status"] == FindingStatus.CLOSED
    answer = c.post(f"/api/v1/validations/{vid}/sign/", {
        "outcome": "APPROVED", "summary": "Fine", "report": SimpleUploadedFile("r.txt", b"report"),
        "password": PASSWORD}, format="multipart")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["status"] == ValidationStatus.COMPLETED and len(answer.json()["report_sha256"]) == 64
    detail = c.get(f"/api/v1/validations/{vid}/").json()
    assert [f["id"] for f in detail["findings"]] == [fid]
    assert c.get(f"/api/v1/models/{model.slug}/validations/").json()["count"] == 1


def test_unknown_scope_area_is_a_400_naming_the_field(api_client, vera, model):
    answer = as_user(api_client, vera).post(f"/api/v1/models/{model.slug}/validations/", {"scope": ["VIBES"]},
                                            format="json")
    assert answer.status_code == 400 and [e["field"] for e in answer.json()["errors"]] == ["scope[0]"]
    assert not Validation.objects.exists()


def test_undeclared_field_is_refused(api_client, vera, model):
    answer = as_user(api_client, vera).post(f"/api/v1/models/{model.slug}/validations/",
                                            {"scope": ["DATA"], "validator": "dan"}, format="json")
    assert answer.status_code == 400 and answer.json()["code"] == "unknown_field"


def test_model_owner_cannot_validate_over_the_api(api_client, dan, model):
    make_user("mo", Role.MODEL_RISK)
    dan_mrm = make_user("dmrm", Role.MODEL_RISK)
    model.owner = dan_mrm
    model.save()
    answer = as_user(api_client, dan_mrm).post(f"/api/v1/models/{model.slug}/validations/", {"scope": ["DATA"]},
                                               format="json")
    assert answer.status_code == 403 and answer.json()["code"] == "validator_not_independent"


def test_missing_records_are_404(api_client, vera):
    c = as_user(api_client, vera)
    assert c.get("/api/v1/validations/999/").status_code == 404
    assert c.get("/api/v1/findings/999/").status_code == 404
    assert c.post("/api/v1/models/nope/validations/", {"scope": ["DATA"]}, format="json").status_code == 404


def test_signing_twice_is_a_conflict(api_client, vera, model):
    validation = services.start_validation(model, actor=vera, scope=["CONCEPTUAL_SOUNDNESS", "MONITORING_PLAN"])
    c = as_user(api_client, vera)
    body = {"outcome": "APPROVED", "summary": "Fine", "password": PASSWORD}
    first = c.post(f"/api/v1/validations/{validation.pk}/sign/", {**body, "report": SimpleUploadedFile("r", b"1")},
                   format="multipart")
    again = c.post(f"/api/v1/validations/{validation.pk}/sign/", {**body, "report": SimpleUploadedFile("r", b"1")},
                   format="multipart")
    assert first.status_code == 200 and again.status_code == 409
    assert again.json()["code"] == "validation_completed"


def test_materiality_and_waiver_over_the_api(api_client, vera, model):
    c = as_user(api_client, vera)
    answer = c.post(f"/api/v1/models/{model.slug}/materiality/",
                    {"exposure": "HIGH", "purpose": "CUSTOMER_DECISION", "reason": "Credit", "password": PASSWORD}, format="json")
    assert answer.status_code == 200 and answer.json()["materiality"] == "HIGH"
    answer = c.post(f"/api/v1/models/{model.slug}/is-model/", {"is_model": True, "reason": "Scores"}, format="json")
    assert answer.json()["is_model"] is True
    expires = (clock.now() + timedelta(days=5)).isoformat()
    answer = c.post(f"/api/v1/models/{model.slug}/validation-waivers/", {
        "code": "no_current_validation", "reason": "Committee", "expires_at": expires, "password": "wrong"},
        format="json")
    assert answer.status_code == 400
    answer = c.post(f"/api/v1/models/{model.slug}/validation-waivers/", {
        "code": "no_current_validation", "reason": "Committee", "expires_at": expires, "password": PASSWORD},
        format="json")
    assert answer.status_code == 201


def test_findings_reopened_by_a_restricted_incident_hide_the_reason(api_client, vera, dan, model):
    validation = services.start_validation(model, actor=vera, scope=["CONCEPTUAL_SOUNDNESS"])
    finding = services.add_finding(validation, actor=vera, severity="HIGH", title="t", description="d", owner=dan,
                                   due_date=clock.today())
    from tests.postmortems.helpers import open_incident

    incident = open_incident(make_user("lee", Role.LEGAL), restricted=True)
    Finding.objects.filter(pk=finding.pk).update(reopen_reason="SECRET", source_incident_id=incident.pk)
    body = as_user(api_client, dan).get(f"/api/v1/findings/{finding.pk}/").json()
    assert "SECRET" not in str(body)
