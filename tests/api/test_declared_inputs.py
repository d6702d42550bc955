"""Declared inputs: every endpoint refuses what it does not declare (a field, a query parameter), a filter value it
cannot take, a number that is not finite and a time without a zone, with a 400 whose ``code`` and ``field`` name
the fault, and nothing in the database changes."""

import pytest

from governance.kernel.models import AuditEvent
from governance.models import MLModel, ModelVersion
from governance.policies.services import ensure_default_policies
from postmortems.models import (
    CommitteeAsk,
    CustomerRemediation,
    ImpactCount,
    Incident,
    RegulatoryNotification,
    TimelineEvent,
)
from readiness.models import Evaluation, LaunchRequest, Observation
from reporting.models import Report
from tests.factories import make_launch
from tests.postmortems.helpers import open_incident

pytestmark = pytest.mark.django_db

RECORDS = [AuditEvent, MLModel, ModelVersion, LaunchRequest, Evaluation, Observation, Incident, TimelineEvent,
           ImpactCount, CustomerRemediation, RegulatoryNotification, CommitteeAsk, Report]


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in RECORDS}


@pytest.fixture
def world(people):
    ensure_default_policies()
    launch = make_launch(author=people["data_science"])
    incident = open_incident()
    return {"launch": launch, "incident": incident, "slug": launch.version.model.slug}


@pytest.fixture
def api(api_client, people):
    api_client.force_authenticate(user=people["admin"])
    return api_client


def refused(response, code, field):
    """A 400 in the API's error envelope, naming ``field`` with ``code`` (top level or for that field)."""
    assert response.status_code == 400, response.content[:400]
    body = response.json()
    codes = {item["field"]: item["code"] for item in body.get("errors", [])}
    assert body.get("field") == field or field in codes, body
    assert body["code"] == code or codes.get(field) == code, body
    return body


# -- query parameters --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url,field", [
    ("/api/v1/launches/?surprise=1", "surprise"),
    ("/api/v1/launches/?status=DRAFT&stauts=DRAFT", "stauts"),
    ("/api/v1/incidents/?statuz=RESOLVED", "statuz"),
    ("/api/v1/models/?tier=TIER_1", "tier"),
    ("/api/v1/reports/?kind=LAUNCH_DOSSIER", "kind"),
    ("/api/v1/gate/?model=m&version=1&stage=shadow&verbose=1", "verbose"),
])
def test_an_unknown_query_parameter_is_refused_by_name(api, world, url, field):
    before = counts()
    body = refused(api.get(url), "unknown_parameter", field)
    assert body["code"] == "unknown_parameter" and body["field"] == field
    assert counts() == before


@pytest.mark.parametrize("url,field", [
    ("/api/v1/launches/?status=NOPE", "status"),
    ("/api/v1/launches/?tier=TIER_9", "tier"),
    ("/api/v1/incidents/?status=NOPE", "status"),
    ("/api/v1/incidents/?severity=SEV9", "severity"),
    ("/api/v1/models/?risk_tier=NOPE", "risk_tier"),
])
def test_a_filter_value_outside_its_choices_is_refused_by_name(api, world, url, field):
    body = refused(api.get(url), "invalid", field)
    assert body["field"] == field and body["errors"][0]["code"] == "invalid_choice"


@pytest.mark.parametrize("url,field", [
    ("/api/v1/launches/?status=", "status"),
    ("/api/v1/launches/?tier=&offset=0", "tier"),
    ("/api/v1/incidents/?status=", "status"),
    ("/api/v1/incidents/?severity=", "severity"),
    ("/api/v1/models/?risk_tier=", "risk_tier"),
])
def test_an_empty_filter_is_refused_not_read_as_no_filter(api, world, url, field):
    """``?status=`` answered every launch as if no filter were given: a caller who meant a filter must hear so."""
    refused(api.get(url), "empty_parameter", field)


def test_a_receipt_check_takes_json_only_so_its_expectations_cannot_be_dropped(api, world):
    response = api.post("/api/v1/receipts/verify/", {"receipt": "x.y.z", "expect[version]": ""}, format="multipart")
    assert response.status_code == 415
    response = api.post("/api/v1/receipts/verify/", {"receipt": "x.y.z", "expect": {"version": ""}}, format="json")
    assert response.status_code == 400


def test_declared_filters_and_the_page_window_are_accepted(api, world):
    response = api.get("/api/v1/launches/?status=DRAFT&tier=TIER_1&limit=5&offset=0")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [world["launch"].pk]
    assert api.get("/api/v1/launches/?status=APPROVED").json()["results"] == []
    assert api.get("/api/v1/models/?risk_tier=TIER_1&limit=1").status_code == 200
    assert api.get("/api/v1/incidents/?severity=SEV2&status=INVESTIGATING").status_code == 200
    assert api.get("/api/v1/reports/?limit=1").status_code == 200
    assert api.get("/api/v1/incidents/?format=json").status_code == 200  # DRF's own renderer choice


def test_the_gate_refuses_bad_parameters_with_a_400_not_a_deny(api, world):
    body = refused(api.get("/api/v1/gate/", {"version": "1", "stage": "shadow"}), "invalid", "model")
    assert body["errors"][0]["code"] == "required"
    refused(api.get("/api/v1/gate/", {"model": "m" * 101, "version": "1", "stage": "s"}), "invalid", "model")
    refused(api.get("/api/v1/gate/", {"model": "  ", "version": "1", "stage": "s"}), "invalid", "model")
    assert "decision" not in body


# -- bodies --------------------------------------------------------------------------------------------------------

def _bodies(world):
    launch, incident, slug = world["launch"].pk, world["incident"].pk, world["slug"]
    return [
        ("/api/v1/launches/", {"model": slug, "version": "1.0.0", "title": "t", "surprise": 1}, "surprise"),
        ("/api/v1/models/", {"slug": "x", "name": "X", "owner": "admin_user", "business_use": "b",
                             "risk_tier": "TIER_1", "surprise": 1}, "surprise"),
        (f"/api/v1/models/{slug}/versions/", {"version": "9", "artifact_sha256": "a" * 64,
                                              "features": [{"name": "f", "surprise": 1}]}, "features[0].surprise"),
        (f"/api/v1/launches/{launch}/evaluations/", {"metrics": {"auc": 0.8}, "surprise": 1}, "surprise"),
        (f"/api/v1/launches/{launch}/observations/", {"observations": [
            {"metric": "m", "value": 1, "observed_at": "2026-01-01T00:00:00Z", "surprise": 1}]},
         "observations[0].surprise"),
        (f"/api/v1/launches/{launch}/rollback/", {"reason": "r", "surprise": 1}, "surprise"),
        ("/api/v1/incidents/", {"title": "t", "severity": "SEV2", "detection_source": "MONITORING",
                                "impact_figures": {"surprise": 1}}, "impact_figures.surprise"),
        (f"/api/v1/incidents/{incident}/timeline/", {"at": "2026-01-01T00:00:00Z", "kind": "OTHER", "text": "t",
                                                      "surprise": 1}, "surprise"),
        (f"/api/v1/incidents/{incident}/impact-counts/", {"measure": "DECISIONS", "count": 1, "surprise": 1},
         "surprise"),
        (f"/api/v1/incidents/{incident}/remediations/", {"action": "a", "surprise": 1}, "surprise"),
        (f"/api/v1/incidents/{incident}/notifications/", {"recipient": "r", "due_at": "2026-01-01T00:00:00Z",
                                                           "surprise": 1}, "surprise"),
        (f"/api/v1/incidents/{incident}/asks/", {"kind": "NOTE", "text": "t", "surprise": 1}, "surprise"),
        ("/api/v1/reports/", {"kind": "GOVERNANCE_PACK", "surprise": 1}, "surprise"),
    ]


def test_every_body_refuses_an_undeclared_field_by_name(api, world):
    before = counts()
    for url, body, field in _bodies(world):
        answer = refused(api.post(url, body, format="json"), "unknown_field", field)
        assert answer["code"] == "unknown_field", url
    assert counts() == before


def test_a_text_field_refuses_a_number_or_a_boolean_instead_of_turning_it_into_text(api, world):
    before = counts()
    launch, slug = world["launch"].pk, world["slug"]
    refused(api.post("/api/v1/receipts/verify/", {"receipt": "x.y.z", "expect": {"stage": 0}}, format="json"),
            "invalid", "expect.stage")
    refused(api.post(f"/api/v1/launches/{launch}/rollback/", {"reason": True}, format="json"), "invalid", "reason")
    body = refused(api.post("/api/v1/launches/", {"model": slug, "version": 1.0, "title": "t"}, format="json"),
                   "invalid", "version")
    assert body["errors"][0]["code"] == "incorrect_type"
    assert counts() == before
    # the same text as a string is read as usual
    response = api.post("/api/v1/receipts/verify/", {"receipt": "x.y.z", "expect": {"stage": "0"}}, format="json")
    assert response.status_code == 200, response.content[:300]


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-inf"])
def test_a_metric_that_is_not_finite_is_refused(api, world, value):
    before = counts()
    response = api.post(f"/api/v1/launches/{world['launch'].pk}/observations/", {"observations": [
        {"metric": "p95_latency_ms", "value": value, "observed_at": "2026-01-01T00:00:00Z"}]}, format="json")
    refused(response, "not_finite", "observations[0].value")
    response = api.post("/api/v1/incidents/", {"title": "t", "severity": "SEV2", "detection_source": "MONITORING",
                                               "impact_figures": {"revenue_impact": value}}, format="json")
    refused(response, "not_finite", "impact_figures.revenue_impact")
    assert counts() == before


def test_nan_in_a_json_body_never_reaches_a_view(api, world):
    before = counts()
    response = api.post(f"/api/v1/launches/{world['launch'].pk}/observations/",
                        data='{"observations": [{"metric": "m", "value": NaN, "observed_at": "2026-01-01T00:00Z"}]}',
                        content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"
    assert counts() == before


def test_a_time_without_a_zone_is_refused(api, world):
    before = counts()
    naive = "2026-01-01T12:00:00"
    incident = world["incident"].pk
    cases = [
        (f"/api/v1/launches/{world['launch'].pk}/observations/",
         {"observations": [{"metric": "m", "value": 1, "observed_at": naive}]}, "observations[0].observed_at"),
        ("/api/v1/incidents/", {"title": "t", "severity": "SEV2", "detection_source": "MONITORING",
                                "detected_at": naive}, "detected_at"),
        ("/api/v1/incidents/", {"title": "t", "severity": "SEV2", "detection_source": "MONITORING",
                                "timeline": [{"at": naive, "kind": "OTHER", "text": "t"}]}, "timeline[0].at"),
        (f"/api/v1/incidents/{incident}/timeline/", {"at": naive, "kind": "OTHER", "text": "t"}, "at"),
        (f"/api/v1/incidents/{incident}/notifications/", {"recipient": "r", "due_at": naive}, "due_at"),
    ]
    for url, body, field in cases:
        refused(api.post(url, body, format="json"), "naive_datetime", field)
    assert counts() == before


def test_a_json_object_field_refuses_anything_else(api, world):
    before = counts()
    launch = world["launch"].pk
    refused(api.post(f"/api/v1/launches/{launch}/evaluations/", {"metrics": [0.8]}, format="json"),
            "not_an_object", "metrics")
    refused(api.post(f"/api/v1/launches/{launch}/evaluations/", {"metrics": "{not json"}, format="multipart"),
            "not_an_object", "metrics")
    refused(api.post("/api/v1/reports/", {"kind": "GOVERNANCE_PACK", "params": "2026-Q3"}, format="json"),
            "not_an_object", "params")
    assert counts() == before


def test_observations_come_as_the_documented_object_not_a_bare_list(api, world):
    before = counts()
    response = api.post(f"/api/v1/launches/{world['launch'].pk}/observations/",
                        [{"metric": "m", "value": 1, "observed_at": "2026-01-01T00:00:00Z"}], format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    refused(api.post(f"/api/v1/launches/{world['launch'].pk}/observations/", {"observations": []}, format="json"),
            "invalid", "observations")
    # a form cannot carry the list: refused as a media type, not as a batch that is missing
    response = api.post(f"/api/v1/launches/{world['launch'].pk}/observations/",
                        {"observations": '[{"metric": "m", "value": 1, "observed_at": "2026-01-01T00:00:00Z"}]'},
                        format="multipart")
    assert response.status_code == 415, response.content[:300]
    assert counts() == before
