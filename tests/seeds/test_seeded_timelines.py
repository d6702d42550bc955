"""The seeded stories happen on their own dates, and verify_timelines finds nothing impossible in them — but
names each impossible ordering the moment one is written into the history."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from governance.kernel.audit import verify_chain
from governance.kernel.principals import SystemActor
from governance.models import AuditEvent
from postmortems import selectors as incident_selectors
from postmortems.models import ActionItem, Incident
from readiness.models import ChecklistItem, LaunchRequest, Observation, RolloutStage, SignOff
from reporting.gather import gather_governance_pack
from reporting.periods import pack_params
from reporting.present import latency_chart
from reporting.timelines import verify_timelines

pytestmark = pytest.mark.django_db


def launch_of(slug, version):
    return LaunchRequest.objects.select_related("plan__current_stage").get(
        version__model__slug=slug, version__version=version)


def pack(start, end):
    return gather_governance_pack(SystemActor("test"), pack_params({"start": start.isoformat(),
                                                                     "end": end.isoformat()}))


def test_seeded_history_is_possible_and_dated_as_the_stories_tell_it(capsys):
    call_command("seed_examples", verbosity=0)
    now, today = timezone.now(), timezone.localdate()
    assert verify_timelines() == []
    call_command("verify_timelines")
    assert "Every timeline is possible." in capsys.readouterr().out

    # E1: the refresh went live about nine months ago; the relaunch was approved weeks ago and is in its shadow.
    original = launch_of("credit-line-decisioning", "4.2.0")
    assert 265 <= (today - timezone.localtime(original.launched_at).date()).days <= 275
    relaunch = launch_of("credit-line-decisioning", "5.0.0")
    assert relaunch.created_at < relaunch.submitted_at < relaunch.approved_at < relaunch.rollout_started_at < now
    assert relaunch.plan.current_stage.name == "shadow"
    in_shadow = now - relaunch.plan.stage_entered_at
    assert timedelta(days=1) < in_shadow < timedelta(days=30), "still inside its 30-day shadow"

    # E2: signed before approval, approved before campaign day, the campaign about three months ago.
    e2 = launch_of("homepage-ranking", "3.0.0")
    assert all(e2.submitted_at <= s.signed_at <= e2.approved_at for s in e2.signoffs.all())
    assert e2.approved_at < e2.rollout_started_at < e2.launched_at
    assert 85 <= (today - timezone.localtime(e2.launched_at).date()).days <= 95

    # Completed action items were completed in the past, on or before their due date.
    done = list(ActionItem.objects.filter(status=ActionItem.Status.DONE))
    assert done and all(i.completed_at < now and timezone.localtime(i.completed_at).date() <= i.due_date
                        for i in done)
    assert not incident_selectors.overdue_action_items(today).filter(pk__in=[i.pk for i in done]).exists()

    # Backdated acts record both times, and the chain (which hashes the effective time) verifies.
    signature = AuditEvent.objects.filter(verb="signoff.given").order_by("seq").first()
    assert signature.effective_at is not None and signature.effective_at < signature.created_at
    assert verify_chain()[1] is None

    # The pack's sign-off latency reads in hours and days, as the stories tell it, never minutes.
    year = pack(today - timedelta(days=365), today)
    assert year["latency"] and all(r["median"] >= timedelta(hours=1) for r in year["latency"])
    assert "minutes from submission" not in latency_chart(year["latency"])

    # E3's breach counts on the day it was observed, not the day its audit record was written.
    e3 = launch_of("propensity-model", "2.0.0")
    breach_day = timezone.localtime(e3.rolled_back_at).date()
    on_the_day = pack(breach_day, breach_day)["breaches"]
    assert [b["launch"] for b in on_the_day] == [e3.pk]
    assert on_the_day[0]["recorded_at"] is not None
    if breach_day != today:
        assert all(b["launch"] != e3.pk for b in pack(today, today)["breaches"])

    # E3's postmortem claims no recurrence window in its text; the page computes it from the data.
    incident = Incident.objects.get(launch=e3)
    assert "six months" not in incident.postmortem.lessons
    window = incident_selectors.recurrence_window(incident, [])
    assert not window["recurred"] and not window["covers_window"] and 50 <= window["days"] <= 70


def test_verify_timelines_names_each_impossible_ordering(capsys):
    call_command("seed_examples", verbosity=0)
    e2 = launch_of("homepage-ranking", "3.0.0")
    relaunch = launch_of("credit-line-decisioning", "5.0.0")
    fraud = Incident.objects.get(models__slug="fraud-detection")
    item = ActionItem.objects.filter(status=ActionItem.Status.DONE, incident=fraud).first()

    # E2 signed after its approval; the relaunch's shadow began before it was created and approved; the fraud
    # incident detected before it began; a completed action item "done" in the future.
    SignOff.objects.filter(launch=e2, role="PRODUCT").update(signed_at=e2.approved_at + timedelta(days=1))
    ten_days_early = relaunch.created_at - timedelta(days=10)
    LaunchRequest.objects.filter(pk=relaunch.pk).update(rollout_started_at=ten_days_early)
    RolloutStage.objects.filter(plan__launch=relaunch, name="shadow").update(entered_at=ten_days_early)
    Incident.objects.filter(pk=fraud.pk).update(began_at=fraud.detected_at + timedelta(hours=1))
    ActionItem.objects.filter(pk=item.pk).update(completed_at=timezone.now() + timedelta(days=3))

    found = {(v.subject, v.code) for v in verify_timelines()}
    assert (f"launch #{e2.pk} {e2.title}", "approved_before_signature") in found
    assert (f"launch #{relaunch.pk} {relaunch.title}", "rollout_started_before_approved") in found
    assert (f"incident #{fraud.pk} {fraud.title}", "detected_before_began") in found
    assert (f"incident #{fraud.pk} {fraud.title}, action item #{item.pk} {item.title}", "in_future") in found

    # The relaunch's shadow comparison attested a day into the 30-day shadow; an observation of E2 stamped
    # before its rollout started.
    shadow = RolloutStage.objects.get(plan__launch=relaunch, name="shadow")
    ChecklistItem.objects.filter(launch=relaunch, key="shadow_fairness").update(
        status="PASS", attested_at=shadow.entered_at + timedelta(days=1), evidence_text="Shadow comparison attached.")
    first = Observation.objects.filter(launch=e2).order_by("observed_at").first()
    Observation.objects.filter(pk=first.pk).update(observed_at=e2.rollout_started_at - timedelta(minutes=39))
    found = {(v.subject, v.code) for v in verify_timelines()}
    assert (f"launch #{relaunch.pk} {relaunch.title}", "stage_claim_before_stage_end") in found
    assert (f"launch #{e2.pk} {e2.title}", "observation_before_stage_entered") in found

    with pytest.raises(CommandError) as caught:
        call_command("verify_timelines")
    assert caught.value.code == "impossible_orderings"
    assert {"approved_before_signature", "detected_before_began", "in_future"} <= set(caught.value.reasons)
    err = capsys.readouterr().err
    assert "signature by Sam Second-Signer as Product" in err and "[approved_before_signature]" in err
    assert "[detected_before_began]" in err
