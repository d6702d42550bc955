"""Regimes as data: the crosswalks load with their sources, a model declares its regimes through the audited
service, and coverage is computed from the records, so removing a record turns its requirement missing."""

import json

import pytest
from django.utils import timezone

from governance.kernel.errors import PermissionDenied, ValidationFailed
from governance.kernel.models import AuditEvent
from governance.kernel.principals import SystemActor
from governance.validation.models import Validation, ValidationStatus
from reporting.regimes import coverage, crosswalk, services
from reporting.regimes.evidence import KINDS
from tests.factories import MLModelFactory, ModelVersionFactory
from tests.postmortems.helpers import open_incident

SYSTEM = SystemActor("tests")


def row(file, regime, requirement):
    found = next(c for c in file.regimes if c.regime.name == regime)
    return next(r for r in found.rows if r.requirement.id == requirement)


def test_every_shipped_crosswalk_loads_with_its_source_and_effective_dates():
    regimes = crosswalk.regimes()
    assert {"eu-ai-act", "us-model-risk-2026", "ecoa-reg-b", "colorado-2026", "iso-42001", "nist-ai-rmf"} <= set(regimes)
    eu = regimes["eu-ai-act"]
    assert str(eu.effective_from) == "2027-12-02" and eu.source.url
    ids = {q.id for q in eu.requirements}
    assert {f"annex-iv-{n}" for n in range(1, 10)} | {"art-9", "art-10", "art-11", "art-12", "art-13", "art-14",
                                                       "art-15", "art-17", "art-26", "art-27", "art-72",
                                                       "art-73"} <= ids
    for regime in regimes.values():
        for requirement in regime.requirements:
            assert requirement.citation and set(requirement.evidence) <= set(KINDS)
    assert str(regimes["colorado-2026"].effective_from) == "2027-01-01"


def test_a_crosswalk_naming_an_unknown_evidence_kind_is_refused():
    document = json.loads(crosswalk.crosswalk_document("nist-ai-rmf"))
    document["requirements"][0]["evidence"] = ["model_cards"]
    with pytest.raises(crosswalk.CrosswalkError) as refused:
        crosswalk.parse(document, evidence_kinds=frozenset(KINDS))
    assert refused.value.code == "crosswalk_invalid"


@pytest.mark.django_db
def test_compliance_declares_regimes_and_the_change_is_audited(people):
    model = MLModelFactory(risk_tier="TIER_1")
    names = services.declare_regimes(model, actor=people["compliance"], regimes=["eu-ai-act", "us-model-risk-2026"])
    assert names == ["eu-ai-act", "us-model-risk-2026"]
    event = AuditEvent.objects.filter(verb="model.regimes_declared").latest("seq")
    assert event.after["regimes"] == names and event.before == {"regimes": []}
    services.declare_regimes(model, actor=people["compliance"], regimes=["eu-ai-act"])
    assert [d.regime for d in coverage.declared_regimes(model)] == ["eu-ai-act"]


@pytest.mark.django_db
def test_a_data_scientist_cannot_declare_regimes_nor_anyone_an_unknown_one(people):
    model = MLModelFactory()
    with pytest.raises(PermissionDenied):
        services.declare_regimes(model, actor=people["data_science"], regimes=["eu-ai-act"])
    with pytest.raises(ValidationFailed) as refused:
        services.declare_regimes(model, actor=people["legal"], regimes=["eu-ai-act", "gdpr"])
    assert (refused.value.code, refused.value.field) == ("unknown_regime", "regimes")
    assert not coverage.declared_regimes(model)


@pytest.mark.django_db
def test_removing_the_validation_turns_its_requirement_missing_with_whose_job_it_is(people):
    model = MLModelFactory(risk_tier="TIER_1")
    services.declare_regimes(model, actor=SYSTEM, regimes=["us-model-risk-2026"])
    validation = Validation.objects.create(model=model, validator=people["model_risk"],
                                           status=ValidationStatus.COMPLETED, outcome="APPROVED",
                                           completed_at=timezone.now())
    present = row(coverage.model_coverage(model, viewer=people["viewer"]), "us-model-risk-2026",
                  "independent-validation")
    assert present.state == coverage.PRESENT
    assert [item.object_id for item in present.evidence] == [str(validation.pk)]
    validation.delete()
    missing = row(coverage.model_coverage(model, viewer=people["viewer"]), "us-model-risk-2026",
                  "independent-validation")
    assert (missing.state, missing.missing_kinds, missing.requirement.owner) == (
        coverage.MISSING, ("validation",), "MODEL_RISK")


@pytest.mark.django_db
def test_a_model_card_evidences_the_general_description_until_it_is_emptied(people):
    model = MLModelFactory(risk_tier="TIER_1")
    version = ModelVersionFactory(model=model, intended_use="Credit lines.", methodology="GBM.",
                                  limitations="Thin files.")
    services.declare_regimes(model, actor=SYSTEM, regimes=["eu-ai-act"])
    assert row(coverage.model_coverage(model, viewer=SYSTEM), "eu-ai-act", "annex-iv-1").state == coverage.PRESENT
    type(version).objects.filter(pk=version.pk).update(model_card="")
    assert row(coverage.model_coverage(model, viewer=SYSTEM), "eu-ai-act", "annex-iv-1").state == coverage.MISSING


@pytest.mark.django_db
def test_not_applicable_requirements_say_why(people):
    model = MLModelFactory(risk_tier="TIER_2")
    services.declare_regimes(model, actor=SYSTEM, regimes=["eu-ai-act", "ecoa-reg-b"])
    file = coverage.model_coverage(model, viewer=people["viewer"])
    fria = row(file, "eu-ai-act", "art-27")
    assert fria.state == coverage.NOT_APPLICABLE and "Tier 1" in fria.reason
    assert row(file, "eu-ai-act", "art-73").state == coverage.NOT_APPLICABLE  # no incident to report
    reg_b = next(c for c in file.regimes if c.regime.name == "ecoa-reg-b")
    assert not reg_b.applies and reg_b.not_applicable == len(reg_b.rows)


@pytest.mark.django_db
def test_a_restricted_incident_evidences_art_73_without_its_title_reaching_an_outsider(people):
    model = MLModelFactory(risk_tier="TIER_1")
    services.declare_regimes(model, actor=SYSTEM, regimes=["eu-ai-act"])
    open_incident(title="Privileged canary title", models=[model], restricted=True, severity="SEV1")
    outsider = row(coverage.model_coverage(model, viewer=people["viewer"]), "eu-ai-act", "art-73")
    assert outsider.state == coverage.MISSING  # no notification yet: Compliance's job
    assert outsider.restricted == 1 and not outsider.evidence
    assert outsider.missing_kinds == ("regulatory_notification",)
    insider = row(coverage.model_coverage(model, viewer=people["legal"]), "eu-ai-act", "art-73")
    assert [item.label for item in insider.evidence] == [f"Incident #{model.incidents.get().pk} (SEV1): "
                                                         "Privileged canary title"]


@pytest.mark.django_db
def test_the_file_page_and_the_api_show_coverage(people, client, api_client):
    model = MLModelFactory(risk_tier="TIER_1")
    client.force_login(people["compliance"])
    response = client.post(f"/models/{model.slug}/file/regimes/", {"regimes": ["eu-ai-act", "nist-ai-rmf"]})
    assert response.status_code == 302
    page = client.get(f"/models/{model.slug}/file/")
    assert page.status_code == 200 and b"req-eu-ai-act-art-15" in page.content
    assert b'id="examiner-file"' in client.get(f"/models/{model.slug}/").content
    api_client.force_login(people["viewer"])
    body = api_client.get(f"/api/v1/models/{model.slug}/coverage/").json()
    assert [c["regime"] for c in body["regimes"]] == ["eu-ai-act", "nist-ai-rmf"]
    art_15 = next(q for q in body["regimes"][0]["requirements"] if q["id"] == "art-15")
    assert art_15["state"] == "MISSING" and art_15["owner"] == "MODEL_RISK"


@pytest.mark.django_db
def test_bad_regime_input_is_a_400_naming_the_field(people, api_client):
    model = MLModelFactory()
    api_client.force_login(people["compliance"])
    response = api_client.put(f"/api/v1/models/{model.slug}/regimes/", {"regimes": ["nope"]}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "regimes"
    response = api_client.put(f"/api/v1/models/{model.slug}/regimes/", {"regimes": "eu-ai-act", "x": 1},
                              format="json")
    assert response.status_code == 400
    assert api_client.get(f"/api/v1/models/{model.slug}/coverage/?regime=nope").status_code == 400
    api_client.force_login(people["viewer"])
    response = api_client.put(f"/api/v1/models/{model.slug}/regimes/", {"regimes": ["eu-ai-act"]}, format="json")
    assert response.status_code == 403 and not coverage.declared_regimes(model)


@pytest.mark.django_db
def test_the_file_page_keeps_a_constant_number_of_queries(people, client, django_assert_max_num_queries):
    model = MLModelFactory(risk_tier="TIER_1")
    services.declare_regimes(model, actor=SYSTEM, regimes=list(crosswalk.regimes()))
    for n in range(5):
        version = ModelVersionFactory(model=model, intended_use="x", methodology="y", limitations="z")
        Validation.objects.create(model=model, version=version, validator=people["model_risk"],
                                  status=ValidationStatus.COMPLETED, completed_at=timezone.now())
        open_incident(title=f"Incident {n}", models=[model])
    client.force_login(people["viewer"])
    with django_assert_max_num_queries(40):
        assert client.get(f"/models/{model.slug}/file/").status_code == 200


@pytest.mark.django_db
def test_the_launch_dossier_carries_the_coverage_annex_and_counts_itself_as_the_dossier(people):
    from reporting.gather import gather
    from reporting.present import render
    from tests.factories import make_launch

    launch = make_launch(author=people["author"])
    services.declare_regimes(launch.version.model, actor=SYSTEM, regimes=["eu-ai-act"])
    data = gather("LAUNCH_DOSSIER", viewer=people["compliance"], launch_id=launch.pk)
    art_11 = next(q for q in data["regimes"][0]["requirements"] if q["id"] == "art-11")
    assert art_11["state"] == "PRESENT" and "This dossier" in [e["label"] for e in art_11["evidence"]]
    result, _digest = render(data, requested_by="tests")
    assert result.page_count > 1
