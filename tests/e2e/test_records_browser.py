"""Incident records, tokens, proxy-risk assessments and shared causes worked through the real pages by the roles
that own them: Compliance records counts and remediation and issues a token, Legal records an assessment, and a
later incident names the earlier one with the same cause."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from governance.kernel.models import ApiToken
from governance.kernel.principals import SystemActor
from governance.kernel.roles import Role
from postmortems import services
from tests.factories import PASSWORD, FeatureFactory, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _incident(title, *, days_ago, category="DATA_VENDOR_CHANGE"):
    return services.open_incident(
        actor=SystemActor("tests"), title=title, severity="SEV2", detection_source="COMPLIANCE_REVIEW",
        detected_at=timezone.now() - timedelta(days=days_ago),
        factors=[{"category": category, "description": "The vendor changed how a field was populated."}])


def test_compliance_records_impact_and_remediation_then_issues_a_token(page, login):
    make_user("cole", Role.COMPLIANCE, first_name="Cole", last_name="Compliance")
    incident = _incident("Approval rates diverged", days_ago=2)
    login("cole", PASSWORD)
    page.goto(incident.get_absolute_url())
    section = page.locator("#obligations")
    section.get_by_text("Record a count").click()
    section.get_by_label("Measure").select_option("CUSTOMERS")
    section.get_by_label("Count", exact=True).fill("812")
    section.get_by_label("Source").fill("Customer file CF-2")
    section.get_by_role("button", name="Record count").click()
    expect(page.locator("#obligations [data-harm=customers]")).to_have_text("812")
    section.get_by_text("Add a remediation").click()
    section.get_by_label("Action").fill("Re-review declined files")
    section.get_by_label("Customers", exact=True).fill("640")
    section.get_by_role("button", name="Add remediation").click()
    expect(page.locator("#obligations [data-harm=remediated]")).to_have_text("640")
    expect(section).to_contain_text("Customer file CF-2")

    page.goto("/tokens/")
    page.get_by_label("Name").fill("credit CI")
    page.get_by_label("Ask the launch gate").check()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Issue token").click()
    secret = page.locator("[data-secret]").inner_text()
    assert secret.startswith("gth_")
    page.reload()
    expect(page.locator("[data-secret]")).to_have_count(0)
    page.get_by_role("button", name="Revoke credit CI").click()
    expect(page.locator("#tokens")).to_contain_text("revoked")
    assert ApiToken.objects.get(name="credit CI").revoked_at is not None


def test_legal_records_a_proxy_risk_assessment(page, login):
    make_user("lee", Role.LEGAL, first_name="Lee", last_name="Legal")
    feature = FeatureFactory(name="device_trust_score", source="THIRD_PARTY", vendor="Acme Data")
    login("lee", PASSWORD)
    page.goto(feature.version.model.get_absolute_url())
    page.get_by_role("link", name="Record assessment").click()
    page.get_by_label("Outcome").select_option("ASSESSED_MITIGATED")
    page.get_by_label("Assessment document").fill("Legal memo LM-14")
    page.get_by_role("button", name="Record assessment").click()
    row = page.locator("tr", has_text="device_trust_score")
    expect(row).to_contain_text("Assessed — mitigated")
    expect(row).to_contain_text("Legal memo LM-14")
    expect(row).to_contain_text("recorded by Lee Legal")


def test_a_later_incident_names_the_earlier_one_with_the_same_cause(page, login):
    make_user("dana", Role.DATA_SCIENCE, first_name="Dana", last_name="Datasmith")
    earlier = _incident("A vendor field became a proxy", days_ago=40)
    later = _incident("The vendor re-coded a field again", days_ago=1)
    login("dana", PASSWORD)
    page.goto(later.get_absolute_url())
    same = page.locator("#same-cause")
    expect(same).to_contain_text("Data or vendor change")
    same.get_by_role("link", name=f"#{earlier.pk} {earlier.title}").click()
    expect(page.locator("h1")).to_contain_text(earlier.title)
