"""Writing a postmortem through the real pages: a blame warning appears while typing, the wording is fixed,
the draft is submitted, Compliance approves and the author publishes."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from governance.kernel.principals import SystemActor
from governance.kernel.roles import Role
from postmortems import services
from postmortems.models import Postmortem
from tests.factories import PASSWORD, make_user
from tests.postmortems.helpers import make_launch


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_write_check_fix_submit_approve_and_publish_a_postmortem(page, login, tmp_path):
    shots = tmp_path
    author = make_user("dana", Role.DATA_SCIENCE, first_name="Dana", last_name="Datasmith")
    make_user("alex", Role.DATA_SCIENCE, first_name="Alex", last_name="Rivera")
    make_user("cole", Role.COMPLIANCE, first_name="Cole", last_name="Compliance")
    now = timezone.now()
    launch = make_launch(author=author, title="Credit model refresh v2.3", rollout_started_at=now - timedelta(days=16))
    incident = services.open_incident(
        actor=SystemActor("guardrails"), title="Approval rates shifted by demographic segment", severity="SEV1",
        detection_source="COMPLIANCE_REVIEW", began_at=now - timedelta(days=16), detected_at=now - timedelta(days=2),
        launch=launch, fair_lending=True, summary="A vendor field drifted and acted as a proxy.",
        timeline=[{"at": now - timedelta(days=2), "kind": "DETECTION",
                   "text": "A compliance analyst found the approval-rate pattern."},
                  {"at": now - timedelta(days=1, hours=20), "kind": "ESCALATION",
                   "text": "Chief Compliance Officer and General Counsel briefed."},
                  {"at": now - timedelta(hours=2), "kind": "MITIGATION",
                   "text": "Reverted to the previous model version; automated decisioning paused."}],
        factors=[{"category": "DATA_VENDOR_CHANGE", "description": "The vendor changed how the field was populated."},
                 {"category": "MONITORING_GAP", "description": "Drift alerts were tuned for performance only."}],
        impact_figures={"decisions_affected": 18240, "approval_rate_shift": [
            {"segment": "segment A", "shift_pct": 4.1}, {"segment": "segment B", "shift_pct": -3.7}]},
    )
    item = services.add_action_item(incident, actor=SystemActor("tests"), title="Fairness drift alert with a circuit breaker",
                             kind="DETECT", owner=author, due_date=timezone.localdate() + timedelta(days=21),
                             priority="P1")

    login("dana", PASSWORD)
    page.goto("/incidents/")
    page.get_by_role("link", name=f"#{incident.pk} {incident.title}").click()
    expect(page.locator("h1")).to_contain_text(incident.title)
    expect(page.locator(".timeline li.gap").first).to_contain_text("14 days")
    page.screenshot(path=f"{shots}/pm-incident.png", full_page=True)

    # The timeline form posts with htmx and swaps the timeline in place (no page load).
    page.evaluate("window.__same_page = true")
    page.select_option("#id_kind", "COMMUNICATION")
    page.fill("#id_text", "Manual-review path offered to Sales.")
    page.get_by_role("button", name="Add to timeline").click()
    expect(page.locator("#timeline")).to_contain_text("Manual-review path offered to Sales.")
    assert page.evaluate("window.__same_page") is True

    page.get_by_role("button", name="Write the postmortem").click()
    page.wait_for_url(f"**/incidents/{incident.pk}/postmortem/edit/")
    page.fill("#id_summary", "A vendor changed how a device field was populated and approvals shifted by segment.")
    page.fill("#id_impact", "About 18,000 decisions over two weeks.")
    page.fill("#id_lessons", "Third-party features need a drift monitor and a vendor schema SLA.")
    root_cause = page.locator("#id_root_cause")
    root_cause.press_sequentially("Alex forgot to check the schema.", delay=15)
    warning = page.locator("#findings-root_cause .findings")
    expect(warning).to_contain_text("named person")
    expect(warning).to_contain_text("Alex forgot")
    page.screenshot(path=f"{shots}/pm-editor.png", full_page=True)

    root_cause.fill("")
    root_cause.press_sequentially("The ingestion pipeline had no schema check on the vendor field.", delay=5)
    expect(page.locator("#findings-root_cause")).to_contain_text("No blaming wording found")
    expect(warning).to_have_count(0)
    page.get_by_role("button", name="Save and submit for review").click()
    page.wait_for_url(f"**/incidents/{incident.pk}/postmortem/")
    expect(page.locator("#pm-status")).to_have_text("In review")

    login("cole", PASSWORD)
    page.goto(f"/incidents/{incident.pk}/postmortem/")
    page.select_option("#id_role", "COMPLIANCE")
    page.get_by_label("Approve").check()
    page.screenshot(path=f"{shots}/pm-review.png", full_page=True)
    page.get_by_role("button", name="Record review").click()
    expect(page.locator(".messages")).to_contain_text("Review recorded")

    login("dana", PASSWORD)
    page.goto(f"/incidents/{incident.pk}/postmortem/")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#pm-status")).to_have_text("Published")
    page.screenshot(path=f"{shots}/pm-published.png", full_page=True)

    page.goto("/incidents/")
    page.screenshot(path=f"{shots}/pm-list.png", full_page=True)
    page.goto(item.get_absolute_url())
    page.locator("#policy-change summary").click()
    page.screenshot(path=f"{shots}/pm-item.png", full_page=True)
    page.goto("/incidents/insights/")
    expect(page.locator(".chart svg")).to_have_count(2)
    page.screenshot(path=f"{shots}/pm-insights.png", full_page=True)

    postmortem = Postmortem.objects.get(incident=incident)
    assert postmortem.status == "PUBLISHED"
    assert postmortem.root_cause == "The ingestion pipeline had no schema check on the vendor field."
    assert postmortem.reviews.get().reviewer.username == "cole"
