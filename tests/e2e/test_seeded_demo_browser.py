"""The seeded demo through a browser: Compliance finds E4 awaiting their signature and sees why it is unsettled."""

import pytest
from django.core.management import call_command

from examples.demo_users import DEMO_PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_compliance_finds_e4_awaiting_signature_with_an_inconclusive_verdict(page, login, tmp_path):
    call_command("seed_examples", verbosity=0)
    login("cole", DEMO_PASSWORD)
    panel = page.locator("section.panel", has_text="Awaiting my signature")
    panel.get_by_role("link", name="Recommender 7.0 full rollout").click()
    page.wait_for_selector("#fairness-checks")
    checks = page.locator("#fairness-checks")
    assert "Inconclusive" in checks.inner_text()
    assert "rows in total would settle it" in checks.inner_text()
    chart = page.locator("figure.chart svg").first
    assert chart.is_visible() and "segment_b" in page.locator("figure.chart").first.inner_text()
    assert page.get_by_role("link", name="Sign off").is_visible()
    page.screenshot(path=str(tmp_path / "e4.png"), full_page=True)
