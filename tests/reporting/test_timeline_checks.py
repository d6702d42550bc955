"""Impossible histories are named; possible ones pass. Plain records, no database: the checks are pure."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from reporting.timeline_checks import (
    ActionItemRecord,
    IncidentRecord,
    LaunchRecord,
    PostmortemRecord,
    SignatureRecord,
    StageRecord,
    check_incident,
    check_launch,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
gaps = st.integers(min_value=0, max_value=20 * 24 * 60).map(lambda m: timedelta(minutes=m))
positive = st.integers(min_value=1, max_value=5 * 24 * 60).map(lambda m: timedelta(minutes=m))


@st.composite
def launch_histories(draw):
    """A launch that happened as the rules allow: each act on or after the one it depends on, all before now."""
    at = NOW - timedelta(days=400)
    policy = at
    at += draw(gaps)
    created = at
    at += draw(gaps)
    submitted = at
    signatures = []
    for n in range(draw(st.integers(1, 4))):
        signatures.append(SignatureRecord(f"signer {n}", at + draw(gaps)))
    at = max(s.signed_at for s in signatures) + draw(gaps)
    approved = at
    at += draw(gaps)
    started = at
    stages = []
    for n in range(draw(st.integers(1, 4))):
        entered = at + (draw(gaps) if n else timedelta(0))
        completed = entered + draw(gaps)
        stages.append(StageRecord(f"stage-{n}", entered, completed, entered + draw(gaps) if n % 2 else None))
        at = completed
    outcome = draw(st.sampled_from(["launched", "rolled_back", "rolling_out"]))
    launched = at if outcome == "launched" else None
    if outcome == "rolled_back":
        stages[-1] = replace(stages[-1], completed_at=None, approved_at=None)
    rolled_back = at + draw(gaps) if outcome == "rolled_back" else None
    if outcome == "rolling_out":
        stages[-1] = replace(stages[-1], completed_at=None, approved_at=None)
    return LaunchRecord(1, "A launch", created, policy_in_force_at=policy, submitted_at=submitted,
                        approved_at=approved, rollout_started_at=started, launched_at=launched,
                        rolled_back_at=rolled_back, signatures=signatures, stages=stages)


@st.composite
def incident_histories(draw):
    began = NOW - timedelta(days=300) + draw(gaps)
    detected = began + draw(gaps)
    mitigated = detected + draw(gaps)
    resolved = mitigated + draw(gaps)
    items = []
    for n in range(draw(st.integers(0, 3))):
        created = detected + draw(gaps)
        done = draw(st.booleans())
        items.append(ActionItemRecord(n, f"item {n}", created, (created + draw(gaps)).date(), done,
                                      created + draw(gaps) if done else None))
    doc_start = detected + draw(gaps)
    doc = PostmortemRecord(doc_start, doc_start + timedelta(days=1), doc_start + timedelta(days=3),
                           [("reviewer", doc_start + timedelta(days=2))])
    return IncidentRecord(7, "An incident", detected, began_at=began, mitigated_at=mitigated,
                          resolved_at=resolved, timeline=[("DETECTION", detected)], action_items=items, postmortem=doc)


def codes(violations):
    return {v.code for v in violations}


@settings(max_examples=200, deadline=None)
@given(launch_histories())
def test_a_possible_launch_history_passes(launch):
    assert check_launch(launch, NOW) == []


@settings(max_examples=200, deadline=None)
@given(incident_histories())
def test_a_possible_incident_history_passes(incident):
    assert check_incident(incident, NOW) == []


# Each perturbation moves one moment before the one it depends on; the violation names both.
LAUNCH_PERTURBATIONS = {
    "submitted_before_created": lambda lr, d: replace(lr, submitted_at=lr.created_at - d),
    "signature_before_submitted": lambda lr, d: replace(
        lr, signatures=[replace(lr.signatures[0], signed_at=lr.submitted_at - d)] + lr.signatures[1:]),
    "approved_before_signature": lambda lr, d: replace(
        lr, approved_at=max(s.signed_at for s in lr.signatures) - d),
    "rollout_started_before_approved": lambda lr, d: replace(lr, rollout_started_at=lr.approved_at - d),
    "stage_entered_before_rollout_started": lambda lr, d: replace(
        lr, stages=[replace(lr.stages[0], entered_at=lr.rollout_started_at - d)] + lr.stages[1:]),
    "created_before_policy": lambda lr, d: replace(lr, policy_in_force_at=lr.created_at + d),
}


@settings(max_examples=60, deadline=None)
@given(launch_histories(), st.sampled_from(sorted(LAUNCH_PERTURBATIONS)), positive)
def test_each_impossible_launch_ordering_is_named(launch, code, delta, ):
    broken = LAUNCH_PERTURBATIONS[code](launch, delta)
    found = check_launch(broken, NOW)
    assert code in codes(found), found
    assert all(str(v).startswith("launch #1 A launch: ") for v in found)


@settings(max_examples=60, deadline=None)
@given(launch_histories(), positive)
def test_a_launch_event_after_now_is_named(launch, delta):
    broken = replace(launch, created_at=NOW + delta, policy_in_force_at=None, submitted_at=None, signatures=[],
                     approved_at=None, rollout_started_at=None, stages=[], launched_at=None, rolled_back_at=None)
    assert codes(check_launch(broken, NOW)) == {"in_future"}


INCIDENT_PERTURBATIONS = {
    "detected_before_began": lambda i, d: replace(i, began_at=i.detected_at + d),
    "mitigated_before_detected": lambda i, d: replace(i, mitigated_at=i.detected_at - d, began_at=None),
    "resolved_before_mitigated": lambda i, d: replace(i, resolved_at=i.mitigated_at - d),
    "postmortem_started_before_detected": lambda i, d: replace(
        i, postmortem=replace(i.postmortem, created_at=i.detected_at - d)),
    "postmortem_published_before_postmortem_submitted": lambda i, d: replace(
        i, postmortem=replace(i.postmortem, published_at=i.postmortem.submitted_at - d)),
}


@settings(max_examples=60, deadline=None)
@given(incident_histories(), st.sampled_from(sorted(INCIDENT_PERTURBATIONS)), positive)
def test_each_impossible_incident_ordering_is_named(incident, code, delta):
    assert code in codes(check_incident(INCIDENT_PERTURBATIONS[code](incident, delta), NOW))


def _with_item(incident, **changes):
    created = incident.detected_at + timedelta(hours=2)
    item = ActionItemRecord(3, "Add a drift monitor", created, (created + timedelta(days=14)).date(), False)
    return replace(incident, action_items=[replace(item, **changes)])


@settings(max_examples=30, deadline=None)
@given(incident_histories(), positive)
def test_each_impossible_action_item_is_named(incident, delta):
    created = incident.detected_at + timedelta(hours=2)
    cases = {
        "item_created_before_detected": _with_item(incident, created_at=incident.detected_at - delta),
        "completed_before_item_created": _with_item(incident, done=True, completed_at=created - delta),
        "completed_without_time": _with_item(incident, done=True, completed_at=None),
        "open_with_completion": _with_item(incident, done=False, completed_at=created + delta),
        "due_before_created": _with_item(incident, due_date=(created - timedelta(days=1) - delta).date()),
        "in_future": _with_item(incident, done=True, completed_at=NOW + delta),
    }
    for code, broken in cases.items():
        found = check_incident(broken, NOW)
        assert code in codes(found), (code, found)
        assert any("action item #3 Add a drift monitor" in str(v) for v in found)


def test_a_late_completion_is_not_impossible():
    """Late is not impossible: completing after the due date is shown as lateness elsewhere, not reported here."""
    detected = NOW - timedelta(days=60)
    item = ActionItemRecord(1, "Late", detected, (detected + timedelta(days=3)).date(), True,
                            detected + timedelta(days=30))
    assert check_incident(IncidentRecord(1, "x", detected, action_items=[item]), NOW) == []


def test_a_stale_signature_may_precede_the_latest_submission():
    """A signature made stale by a change belongs to an earlier round of review."""
    created = NOW - timedelta(days=10)
    launch = LaunchRecord(1, "A launch", created, submitted_at=created + timedelta(days=5),
                          signatures=[SignatureRecord("early", created + timedelta(days=1), stale=True)])
    assert check_launch(launch, NOW) == []
    assert codes(check_launch(replace(launch, signatures=[SignatureRecord("early", created - timedelta(days=1),
                                                                          stale=True)]), NOW)) == {
        "signature_before_created"}


def test_a_need_dismissed_before_it_was_opened_is_named():
    from reporting.timeline_checks import NeedRecord, check_dismissed_need

    opened = datetime(2026, 3, 1, 10, tzinfo=UTC)
    now = opened + timedelta(days=30)
    assert check_dismissed_need(NeedRecord(1, "Incident #4", opened, opened + timedelta(days=2)), now) == []
    found = check_dismissed_need(NeedRecord(1, "Incident #4", opened, opened - timedelta(hours=1)), now)
    assert [v.code for v in found] == ["need_dismissed_before_need_opened"]
    late = check_dismissed_need(NeedRecord(1, "Incident #4", opened, now + timedelta(days=1)), now)
    assert [v.code for v in late] == ["in_future"]
