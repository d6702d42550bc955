"""A validator's working day through the real pages: the queue, a validation opened on the model-risk page, a
finding with a named owner and due date, the owner's remediation, the validator's re-test, the signature with an
outcome, the launch page that stops saying "no current validation", and a revalidation need dismissed by hand."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from governance.inventory import services as inventory
from governance.kernel import clock
from governance.kernel.roles import Role
from governance.validation import services
from governance.validation.models import (
    Finding,
    FindingStatus,
    RevalidationNeed,
    Validation,
    ValidationStatus,
)
from tests.factories import PASSWORD, make_launch, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def day(db):
    vera = make_user("vera", Role.MODEL_RISK, first_name="Vera", last_name="Validator")
    dan = make_user("dan", Role.DATA_SCIENCE, first_name="Dan", last_name="Developer")
    launch = make_launch(author=dan, tier="TIER_1", title="Credit refresh")
    model = launch.version.model
    model.owner = dan
    model.save(update_fields=["owner"])
    inventory.set_materiality(model, actor=vera, password=PASSWORD, exposure="HIGH", purpose="CUSTOMER_DECISION",
                              reason="Decides credit lines")
    services.trigger_drift(model, actor=vera, evaluation_id=1, feature="income")
    return {"vera": vera, "dan": dan, "launch": launch, "model": model}


def test_a_validators_day_through_the_pages(page, login, day, tmp_path):
    vera, dan, launch, model = day["vera"], day["dan"], day["launch"], day["model"]

    # The launch page says why the gate stops this model.
    login("dan", PASSWORD)
    page.goto(launch.get_absolute_url())
    expect(page.locator("section[aria-labelledby=model-risk-h]")).to_contain_text("no_current_validation")

    # The queue: the drift need is waiting; the model-risk page opens a validation covering what materiality asks.
    login("vera", PASSWORD)
    page.goto("/validations/")
    expect(page.get_by_role("table", name="Revalidation needs")).to_contain_text("Drift at the act level on income")
    page.get_by_role("link", name=model.name).first.click()
    page.wait_for_url(f"**/models/{model.slug}/model-risk/")
    page.get_by_role("link", name="Record a validation").click()
    for box in page.locator("input[name=scope]").all():
        box.check()
    page.get_by_role("button", name="Open the validation").click()
    page.wait_for_url(lambda url: "/validations/new/" not in url)
    validation = Validation.objects.get(model=model)
    assert page.url.endswith(validation.get_absolute_url())

    # A finding with a named owner and a due date.
    page.get_by_role("link", name="Record a finding").click()
    page.get_by_label("Severity").select_option("HIGH")
    page.get_by_label("Title").fill("Income drift monitor missing")
    page.get_by_label("Description").fill("No monitor watches the income feature's distribution.")
    page.get_by_label("Owner").select_option(str(dan.pk))
    page.get_by_label("Due date").fill((clock.today() + timedelta(days=14)).isoformat())
    page.get_by_role("button", name="Record the finding").click()
    page.wait_for_url(lambda url: "/findings/new/" not in url)
    finding = Finding.objects.get(validation=validation)
    assert finding.owner == dan and finding.severity == "HIGH"
    expect(page.locator("main")).to_contain_text("Income drift monitor missing")

    # The owner remediates on the finding page.
    login("dan", PASSWORD)
    page.goto(finding.get_absolute_url())
    page.get_by_label("Evidence").fill("Monitor DM-21 on income, alerting at PSI 0.1")
    page.get_by_role("button", name="Record the remediation").click()
    expect(page.locator("main")).to_contain_text("Remediated, awaiting re-test")

    # The validator re-tests it and signs the validation.
    login("vera", PASSWORD)
    page.goto(finding.get_absolute_url())
    page.get_by_label("Passed: close the finding").check()
    page.get_by_label("What the re-test showed").fill("The monitor fires on a synthetic shift.")
    page.get_by_role("button", name="Record the re-test").click()
    expect(page.locator("main")).to_contain_text("Closed")
    finding.refresh_from_db()
    assert finding.status == FindingStatus.CLOSED
    page.goto(validation.get_absolute_url())
    page.get_by_role("link", name="Sign the validation").click()
    page.get_by_label("Approved", exact=True).check()
    page.get_by_label("Conclusions").fill("Sound for credit decisions; the monitoring plan is in place.")
    report = tmp_path / "validation-report.txt"
    report.write_bytes(b"Validation report of the credit refresh.\n")
    page.get_by_label("Report").set_input_files(str(report))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign").click()
    page.wait_for_url(lambda url: "/sign/" not in url)
    validation.refresh_from_db()
    assert validation.status == ValidationStatus.COMPLETED and len(validation.report_sha256) == 64
    assert not RevalidationNeed.objects.filter(model=model, resolved_at=None).exists()

    # The launch page no longer names a model-risk reason.
    page.goto(launch.get_absolute_url())
    expect(page.locator("section[aria-labelledby=model-risk-h]")).to_have_count(0)

    # A later event opens a need; Model Risk judges it irrelevant and dismisses it from the model-risk page.
    need, _ = services.trigger_incident(model, actor=vera, incident_id=4242)
    page.goto(f"/models/{model.slug}/model-risk/")
    expect(page.locator("#gate-reasons")).to_contain_text("No model-risk reason stops a launch")
    page.screenshot(path=str(tmp_path / "model-risk.png"), full_page=True)
    assert (tmp_path / "model-risk.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page.get_by_label("Why no revalidation is needed").fill("The incident concerned another model's feed.")
    page.get_by_role("button", name="Dismiss").click()
    expect(page.locator("main")).to_contain_text("Revalidation need dismissed")
    need.refresh_from_db()
    assert need.dismissed_by == vera and need.dismiss_reason == "The incident concerned another model's feed."
    expect(page.locator("main")).to_contain_text("No revalidation need open")
