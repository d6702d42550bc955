"""Compliance, Legal and Model Risk record a third-party feature's proxy-risk assessment on its own form, through
one audited service; the outcome, its document, who recorded it and when are shown on the model page."""

import pytest

from governance.inventory import services
from governance.kernel.errors import PermissionDenied, ValidationFailed
from governance.kernel.roles import Role
from governance.models import AuditEvent
from tests.factories import FeatureFactory, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def feature(db):
    return FeatureFactory(name="vendor_score_v2", source="THIRD_PARTY", vendor="Acme Data")


def _url(feature):
    v = feature.version
    return f"/models/{v.model.slug}/versions/{v.version}/features/{feature.pk}/assess/"


@pytest.mark.parametrize("username, role", [("cole", Role.COMPLIANCE), ("lee", Role.LEGAL),
                                            ("mira", Role.MODEL_RISK)])
def test_compliance_legal_and_model_risk_record_an_assessment_from_its_form(client, feature, username, role):
    person = make_user(username, role)
    client.force_login(person)
    assert client.get(_url(feature)).status_code == 200
    response = client.post(_url(feature), {"status": "ASSESSED_MITIGATED", "reference": "Legal memo LM-14"})
    assert response.status_code == 302
    feature.refresh_from_db()
    assert (feature.proxy_risk_status, feature.proxy_risk_ref) == ("ASSESSED_MITIGATED", "Legal memo LM-14")
    assert feature.proxy_risk_assessed_by == person and feature.proxy_risk_assessed_at is not None
    event = AuditEvent.objects.get(verb="feature.proxy_risk_assessed")
    assert event.before["proxy_risk_status"] == "NOT_ASSESSED" and event.after["proxy_risk_ref"] == "Legal memo LM-14"
    page = client.get(feature.version.model.get_absolute_url()).content.decode()
    assert "Legal memo LM-14" in page and "recorded by" in page


@pytest.mark.parametrize("role", [Role.DATA_SCIENCE, Role.ENGINEERING, Role.VIEWER])
def test_other_roles_may_not_record_an_assessment(client, feature, role):
    client.force_login(make_user("someone", role))
    assert client.post(_url(feature), {"status": "ASSESSED_ACCEPTABLE", "reference": "x"}).status_code == 403
    with pytest.raises(PermissionDenied):
        services.assess_proxy_risk(feature, actor=make_user("other", role), status="ASSESSED_ACCEPTABLE",
                                   reference="x")
    feature.refresh_from_db()
    assert feature.proxy_risk_status == "NOT_ASSESSED"


def test_an_outcome_without_its_document_is_refused_beside_the_field(client, feature):
    client.force_login(make_user("cole", Role.COMPLIANCE))
    response = client.post(_url(feature), {"status": "ASSESSED_ACCEPTABLE", "reference": " "})
    assert response.status_code == 400 and "reference" in response.context["form"].errors
    feature.refresh_from_db()
    assert feature.proxy_risk_status == "NOT_ASSESSED" and not AuditEvent.objects.filter(
        verb="feature.proxy_risk_assessed").exists()


def test_an_internal_feature_carries_no_assessment(db):
    internal = FeatureFactory(source="INTERNAL")
    with pytest.raises(ValidationFailed) as error:
        services.assess_proxy_risk(internal, actor=make_user("cole", Role.COMPLIANCE), status="IN_PROGRESS",
                                   reference="")
    assert error.value.code == "not_third_party"


def test_the_model_page_query_count_does_not_grow_with_assessed_features(client, feature,
                                                                        django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cole = make_user("cole", Role.COMPLIANCE)
    client.force_login(cole)
    url = feature.version.model.get_absolute_url()

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    services.assess_proxy_risk(feature, actor=cole, status="IN_PROGRESS", reference="")
    before = queries()
    for n in range(10):
        extra = FeatureFactory(version=feature.version, source="THIRD_PARTY", name=f"vendor_{n}")
        services.assess_proxy_risk(extra, actor=make_user(f"lee{n}", Role.LEGAL), status="ASSESSED_ACCEPTABLE",
                                   reference=f"memo {n}")
    assert queries() == before
