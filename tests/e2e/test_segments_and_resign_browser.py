"""Through the pages: a data scientist writes a guardrail for every segment and sees the segment that breached;
a launch's author changes an approved memo, the signer finds it on their dashboard, the author asks again."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.policies.services import ensure_default_policies
from readiness import rollouts
from readiness.models import Guardrail, LaunchStatus
from tests.factories import PASSWORD, make_launch, make_people
from tests.readiness.test_rollouts import approved

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_guardrail_for_every_segment_written_and_read_on_the_pages(page, login):
    ensure_default_policies()
    people = make_people()
    launch = make_launch(author=people["author"], tier="TIER_2", title="Pricing 2.0")
    login(people["author"].username, PASSWORD)
    page.goto(f"/launches/{launch.pk}/rollout/plan/")
    page.fill("#stages", "canary 10 60\nfull 100 60")
    page.fill("#guardrails", "air >= 0.8 60 2 0 ALERT segment=\np95_latency_ms <= 200 15 3 0 ROLLBACK")
    page.click("button[type=submit]")
    page.wait_for_selector("text=name the segment")  # refused with the line named, nothing saved
    assert not Guardrail.objects.filter(plan__launch=launch, metric="air").exists()
    page.fill("#guardrails", "air >= 0.8 60 2 0 ALERT segment=*\np95_latency_ms <= 200 15 3 0 ROLLBACK")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Rollout plan saved.")
    assert page.locator("text=every segment, each on its own").is_visible()

    plan = {"stages": [{"name": "canary", "traffic_percent": 10, "min_duration_minutes": 60},
                       {"name": "full", "traffic_percent": 100, "min_duration_minutes": 60}],
            "guardrails": [{"metric": "air", "comparator": ">=", "threshold": 0.8, "window_minutes": 60,
                            "failure_limit": 2, "action": "ALERT", "segment": "*"}]}
    rolling = approved(people, plan=plan)
    start = timezone.now() - timedelta(minutes=30)
    rollouts.start_rollout(rolling, actor=people["author"], now=start)
    now = timezone.now()
    batch = [{"metric": "air", "value": value, "segment": segment,
              "observed_at": (now - timedelta(minutes=2 - i)).isoformat()}
             for segment, values in (("age 62+", [0.9, 0.7, 0.6]), ("under 62", [0.95, 0.95, 0.95]))
             for i, value in enumerate(values)]
    rollouts.record_observations(rolling, actor=people["engineering"], batch=batch, now=now)
    page.goto(rolling.get_absolute_url())
    row = page.locator("tr", has_text="every segment, each on its own")
    assert "Breached" in row.inner_text() and "segment age 62+" in row.inner_text()


def test_a_stale_signer_is_told_and_asked_again_from_the_pages(page, login):
    ensure_default_policies()
    people = make_people()
    launch = approved(people)
    login(people["author"].username, PASSWORD)
    page.goto(f"/launches/{launch.pk}/memo/")
    page.fill("#id_rationale", "A smaller canary first.")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Decision memo saved.")
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.IN_REVIEW

    login(people["product"].username, PASSWORD)
    page.goto("/")
    panel = page.locator("section.panel", has_text="Signatures to give again")
    assert launch.title in panel.inner_text()

    login(people["author"].username, PASSWORD)
    page.goto(launch.get_absolute_url())
    page.click("text=Ask to re-sign")
    page.wait_for_selector("text=already been asked")  # the memo change asked them already: no second e-mail
