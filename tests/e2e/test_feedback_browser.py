"""Feedback appears beside the control that caused it: a refused "Advance stage" is read where the eye is."""

import pytest

from governance.kernel.roles import Role
from governance.policies.services import ensure_default_policies
from readiness import rollouts, services
from readiness.models import LaunchStatus
from tests.factories import PASSWORD, make_launch, make_user, pass_everything

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHADOW_PLAN = {
    "stages": [{"name": "shadow", "traffic_percent": 0, "min_duration_minutes": 43200, "approval_role": "COMPLIANCE"},
               {"name": "full", "traffic_percent": 100, "min_duration_minutes": 1440}],
    "guardrails": [{"metric": "p95_latency_ms", "comparator": "<=", "threshold": 200, "window_minutes": 15,
                    "failure_limit": 3, "action": "ROLLBACK"}],
}


def rolling_out_launch():
    ensure_default_policies()
    author = make_user("dana", Role.DATA_SCIENCE)
    ds, product = make_user("sam", Role.DATA_SCIENCE), make_user("pat", Role.PRODUCT)
    launch = make_launch(author=author, tier="TIER_2", title="Ranking 4.0")
    rollouts.update_plan(launch, actor=author, **SHADOW_PLAN)
    pass_everything(launch, attester=ds)
    services.submit_for_review(launch, actor=author)
    for person, role in ((ds, "DATA_SCIENCE"), (product, "PRODUCT")):
        launch.refresh_from_db()
        services.sign_off(launch, actor=person, role=role, decision="APPROVE", password=PASSWORD,
                          content_hash=launch.content_hash)
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.APPROVED
    rollouts.start_rollout(launch, actor=author)
    return launch


def test_a_refused_advance_is_shown_inside_the_viewport_one_reason_a_line(page, login):
    launch = rolling_out_launch()
    login("dana", PASSWORD)
    page.goto(launch.get_absolute_url())
    page.get_by_role("button", name="Advance stage").click()
    message = page.locator("#fb-launch-actions .msg-error")
    message.wait_for()
    box = message.evaluate("el => { const r = el.getBoundingClientRect(); return {top: r.top, bottom: r.bottom}; }")
    height = page.evaluate("window.innerHeight")
    assert 0 <= box["top"] and box["bottom"] <= height, f"refusal drawn at {box}, viewport height {height}"
    reasons = message.locator("li").all_inner_texts()
    # minimum duration, the guardrail without data, the shadow result not yet attested, Compliance's approval
    assert len(reasons) == 4, reasons
    assert any("at least 30 days" in r for r in reasons)
    assert any("approval by Compliance" in r for r in reasons)
    assert "43200" not in message.inner_text()
