"""A validator's working day on the pages: each form posts to its service, refusals show beside the field, and
only the named owner (or their delegate) may clear a finding."""

import hashlib
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from governance.inventory import services as inventory
from governance.kernel import clock
from governance.kernel.roles import Role
from governance.validation import services
from governance.validation.models import Finding, FindingStatus, GateWaiver, Validation, ValidationStatus
from tests.factories import PASSWORD, MLModelFactory, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(db):
    return {"vera": make_user("vera", Role.MODEL_RISK), "dan": make_user("dan", Role.DATA_SCIENCE),
            "eve": make_user("eve", Role.ENGINEERING), "cora": make_user("cora", Role.COMPLIANCE)}


@pytest.fixture
def model(people):
    return MLModelFactory(owner=people["dan"], risk_tier="TIER_1")


def client_for(client, user):
    client.force_login(user)
    return client


def test_validator_sets_materiality_and_decides_it_is_a_model(client, people, model):
    c = client_for(client, people["vera"])
    response = c.post(reverse("validation:materiality_set", args=[model.slug]),
                      {"exposure": "HIGH", "purpose": "CUSTOMER_DECISION", "reason": "Credit decisions", "password": PASSWORD})
    assert response.status_code == 302
    response = c.post(reverse("validation:is_model_decide", args=[model.slug]), {"is_model": "yes",
                                                                                   "reason": "Scores applicants"})
    assert response.status_code == 302
    model.refresh_from_db()
    assert (model.materiality, model.is_model, model.materiality_set_by) == ("HIGH", True, people["vera"])
    page = c.get(reverse("validation:model_risk", args=[model.slug])).content.decode()
    assert "no_current_validation" in page


def test_materiality_refusal_is_shown_beside_the_field(client, people):
    lax = MLModelFactory(risk_tier="TIER_3")
    response = client_for(client, people["vera"]).post(
        reverse("validation:materiality_set", args=[lax.slug]),
        {"exposure": "HIGH", "purpose": "CUSTOMER_DECISION", "reason": "Credit", "password": PASSWORD})
    assert response.status_code == 400
    assert "risk_tier" not in response.context["form"].errors  # shown above the form: the form has no tier field
    assert response.context["form"].non_field_errors()
    lax.refresh_from_db()
    assert lax.materiality == ""


def test_validator_day_through_the_pages(client, people, model):
    vera, dan, eve = people["vera"], people["dan"], people["eve"]
    inventory.set_materiality(model, actor=vera, password=PASSWORD, exposure="HIGH", purpose="CUSTOMER_DECISION", reason="Credit")
    c = client_for(client, vera)
    response = c.post(reverse("validation:validation_start", args=[model.slug]),
                      {"scope": ["CONCEPTUAL_SOUNDNESS", "DATA", "IMPLEMENTATION", "OUTCOMES_ANALYSIS",
                                 "MONITORING_PLAN", "LIMITATIONS"]})
    validation = Validation.objects.get(model=model)
    assert response.status_code == 302 and response["Location"] == validation.get_absolute_url()
    due = (clock.today() + timedelta(days=14)).isoformat()
    response = c.post(reverse("validation:finding_add", args=[validation.pk]), {
        "severity": "HIGH", "title": "Vendor field unmonitored", "description": "No drift monitor.",
        "owner": dan.pk, "due_date": due})
    assert response.status_code == 302
    finding = Finding.objects.get(validation=validation)

    # Not the owner: refused, and the page says who may clear it.
    c = client_for(client, eve)
    page = c.get(finding.get_absolute_url()).content.decode()
    assert "Only" in page and dan.display_name in page and 'id="r-evidence"' not in page
    c.post(reverse("validation:finding_remediate", args=[finding.pk]), {"r-evidence": "I fixed it"})
    finding.refresh_from_db()
    assert finding.status == FindingStatus.OPEN

    # The owner delegates to eve, who remediates.
    c = client_for(client, dan)
    c.post(reverse("validation:finding_delegate", args=[finding.pk]), {"d-delegate": eve.pk})
    c = client_for(client, eve)
    c.post(reverse("validation:finding_remediate", args=[finding.pk]), {"r-evidence": "Monitor DM-7 added"})
    finding.refresh_from_db()
    assert (finding.status, finding.remediated_by) == (FindingStatus.REMEDIATED, eve)

    c = client_for(client, vera)
    c.post(reverse("validation:finding_retest", args=[finding.pk]), {"t-passed": "yes", "t-note": "Alerts fire"})
    finding.refresh_from_db()
    assert finding.status == FindingStatus.CLOSED

    report = SimpleUploadedFile("report.txt", b"validation report")
    response = c.post(reverse("validation:validation_complete", args=[validation.pk]), {
        "outcome": "APPROVED", "summary": "Sound.", "report": report, "password": PASSWORD})
    assert response.status_code == 302
    validation.refresh_from_db()
    assert validation.status == ValidationStatus.COMPLETED
    assert validation.report_sha256 == hashlib.sha256(b"validation report").hexdigest()
    page = c.get(reverse("validation:model_risk", args=[model.slug])).content.decode()
    assert "No model-risk reason stops a launch" in page


def test_signing_without_the_password_changes_nothing(client, people, model):
    vera = people["vera"]
    inventory.set_materiality(model, actor=vera, password=PASSWORD, exposure="HIGH", purpose="CUSTOMER_DECISION", reason="Credit")
    validation = services.start_validation(model, actor=vera, scope=["CONCEPTUAL_SOUNDNESS"])
    response = client_for(client, vera).post(reverse("validation:validation_complete", args=[validation.pk]), {
        "outcome": "APPROVED", "summary": "Sound.", "report": SimpleUploadedFile("r.txt", b"x"),
        "password": "wrong password"})
    assert response.status_code == 400
    validation.refresh_from_db()
    assert validation.status == ValidationStatus.IN_PROGRESS


def test_waiver_page_requires_the_password_and_lifts_the_reason(client, people, model):
    vera, cora = people["vera"], people["cora"]
    inventory.set_materiality(model, actor=vera, password=PASSWORD, exposure="HIGH", purpose="CUSTOMER_DECISION", reason="Credit")
    c = client_for(client, cora)
    expires = (clock.now() + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    response = c.post(reverse("validation:waive", args=[model.slug]), {
        "code": "no_current_validation", "reason": "Committee accepted", "expires_at": expires, "password": "nope"})
    assert response.status_code == 400 and not GateWaiver.objects.exists()
    response = c.post(reverse("validation:waive", args=[model.slug]), {
        "code": "no_current_validation", "reason": "Committee accepted", "expires_at": expires, "password": PASSWORD})
    assert response.status_code == 302
    page = c.get(reverse("validation:model_risk", args=[model.slug])).content.decode()
    assert "No model-risk reason stops a launch" in page


def test_model_page_links_to_model_risk(client, people, model):
    page = client_for(client, people["eve"]).get(model.get_absolute_url()).content.decode()
    assert reverse("validation:model_risk", args=[model.slug]) in page


def test_only_model_risk_opens_a_validation_page(client, people, model):
    response = client_for(client, people["eve"]).get(reverse("validation:validation_start", args=[model.slug]))
    assert response.status_code == 403


def test_pages_for_missing_records_are_404(client, people):
    c = client_for(client, people["vera"])
    assert c.get(reverse("validation:validation_detail", args=[999])).status_code == 404
    assert c.get(reverse("validation:finding_detail", args=[999])).status_code == 404
    assert c.get(reverse("validation:model_risk", args=["nope"])).status_code == 404
