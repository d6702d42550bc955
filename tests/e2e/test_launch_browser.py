"""A TIER_1 launch from draft through four sign-offs to APPROVED, through the real pages."""

import pytest

from governance.kernel.roles import Role
from governance.policies.services import ensure_default_policies
from readiness.models import ItemKind, LaunchRequest, LaunchStatus
from readiness.services import attest_item, submit_evaluation
from tests.factories import PASSWORD, FeatureFactory, MLModelFactory, ModelVersionFactory, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_tier_1_launch_walks_from_draft_to_approved(page, login, tmp_path):
    ensure_default_policies()
    author = make_user("dana", Role.DATA_SCIENCE)
    signers = {"DATA_SCIENCE": make_user("sam", Role.DATA_SCIENCE), "COMPLIANCE": make_user("cole", Role.COMPLIANCE),
               "LEGAL": make_user("lee", Role.LEGAL), "MODEL_RISK": make_user("mara", Role.MODEL_RISK)}
    model = MLModelFactory(slug="credit-line", name="Credit line", risk_tier="TIER_1", owner=author)
    version = ModelVersionFactory(model=model, version="3.0.0")
    FeatureFactory(version=version, name="income")

    login("dana", PASSWORD)
    page.goto(f"/launches/new/?version={version.pk}")
    page.fill("#id_title", "Credit line 3.0 relaunch")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Pre-flight checklist")
    launch = LaunchRequest.objects.get()
    assert launch.status == LaunchStatus.DRAFT

    page.click("text=Edit memo")
    page.fill("#id_summary", "Relaunch with four sign-offs.")
    page.fill("#id_options_considered", "Ship, hold, or ship with re-weighting.")
    page.select_option("#id_decision", "SHIP")
    page.fill("#id_rationale", "Shadow fairness comparison held for thirty days.")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Decision memo saved.")

    submit_evaluation(launch, actor=author, metrics={
        "psi.max": 0.04, "fairness.air": 0.95, "fairness.air.ci_low": 0.9, "fairness.air.ci_high": 0.99,
        "fairness.eod": 0.01, "fairness.eod.ci_low": 0.0, "fairness.eod.ci_high": 0.03})
    manual = list(launch.items.filter(kind=ItemKind.MANUAL, stage=""))
    page.goto(f"/launches/{launch.pk}/items/{manual[0].pk}/attest/")
    page.check("input[value=PASS]")
    page.fill("#id_evidence_text", "Model card v3 reviewed.")
    page.click("button[type=submit]")
    page.wait_for_selector("text=recorded")
    for item in manual[1:]:
        attest_item(item, actor=author, outcome="PASS", evidence_text="done")

    page.goto(launch.get_absolute_url())
    page.click("text=Send for review")
    page.wait_for_selector("#launch-status:has-text('In review')")

    for signer in signers.values():
        login(signer.username, PASSWORD)
        page.goto("/")
        page.click("text=Credit line 3.0 relaunch")
        page.click("text=Sign off")
        page.check("input[value=APPROVE]")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("text=Signed.")

    page.wait_for_selector("#launch-status:has-text('Approved')")
    page.screenshot(path=str(tmp_path / "launch-approved.png"), full_page=True)
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.APPROVED
    assert sorted(s.role for s in launch.signoffs.filter(stale=False)) == sorted(signers)
