"""Guardrail evaluation: windows, consecutive breaches, sustained breaches and stale data."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from readiness.guardrails import (
    BREACHED,
    INSUFFICIENT_DATA,
    PASSING,
    GuardrailSpec,
    GuardrailState,
    Point,
    evaluate_guardrail,
)

T0 = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)

CTR = GuardrailSpec(
    metric="ctr_delta_pct",
    comparator=">=",
    threshold=-0.5,
    window_seconds=3600,
    failure_limit=1,
    sustain_seconds=1800,
)
LATENCY = GuardrailSpec(
    metric="p95_latency_ms", comparator="<=", threshold=200, window_seconds=600, failure_limit=3
)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def series(values, *, start=0, step=1):
    """One observation every `step` minutes from `start`."""
    return [Point(at(start + i * step), v) for i, v in enumerate(values)]


# --- states -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "state", "run"),
    [
        ([150, 160, 170], PASSING, 0),
        ([150, 210], PASSING, 1),
        ([150, 210, 220], PASSING, 2),
        ([150, 210, 220, 230], BREACHED, 3),
        ([210, 220, 230, 240, 250], BREACHED, 5),
        ([210, 220, 180, 230, 240], PASSING, 2),
        ([210, 220, 230, 180], PASSING, 0),
        ([200, 200, 200], PASSING, 0),
        ([200.001, 200.001, 200.001], BREACHED, 3),
    ],
)
def test_p95_latency_breaches_after_three_consecutive_readings_over_200ms(values, state, run):
    points = series(values)
    result = evaluate_guardrail(LATENCY, points, now=points[-1].observed_at)
    assert result.state == state
    assert result.consecutive_breaches == run
    assert result.last_value == values[-1]


def test_breached_since_is_the_first_point_of_the_trailing_run_even_before_the_breach():
    points = series([150, 210, 220])
    result = evaluate_guardrail(LATENCY, points, now=at(2))
    assert result.state == PASSING
    assert result.breached_since == at(1)
    result = evaluate_guardrail(LATENCY, points + [Point(at(3), 230)], now=at(3))
    assert result.state == BREACHED
    assert result.breached_since == at(1)


def test_healthy_latest_point_clears_breached_since():
    result = evaluate_guardrail(LATENCY, series([210, 220, 230, 190]), now=at(3))
    assert result.breached_since is None
    assert result.detail == "p95_latency_ms = 190, healthy (p95_latency_ms <= 200)"


@pytest.mark.parametrize(("failure_limit", "state"), [(1, BREACHED), (2, BREACHED), (3, PASSING)])
def test_failure_limit_is_the_number_of_consecutive_breaches_needed(failure_limit, state):
    spec = GuardrailSpec("p95_latency_ms", "<=", 200, window_seconds=600, failure_limit=failure_limit)
    assert evaluate_guardrail(spec, series([150, 250, 260]), now=at(2)).state == state


@pytest.mark.parametrize(
    ("comparator", "value", "breaches"),
    [
        (">=", -0.5, False),
        (">=", -0.51, True),
        (">", -0.5, True),
        (">", -0.49, False),
        ("<=", -0.5, False),
        ("<", -0.5, True),
        ("==", -0.5, False),
        ("!=", -0.5, True),
    ],
)
def test_comparator_is_the_healthy_condition(comparator, value, breaches):
    spec = GuardrailSpec("m", comparator, -0.5, window_seconds=60, failure_limit=1)
    result = evaluate_guardrail(spec, [Point(T0, value)], now=T0)
    assert result.state == (BREACHED if breaches else PASSING)


# --- windows and stale data -------------------------------------------------------------------------


def test_point_exactly_at_the_start_of_the_window_counts():
    spec = GuardrailSpec("m", "<=", 1, window_seconds=600, failure_limit=1)
    result = evaluate_guardrail(spec, [Point(T0, 5)], now=T0 + timedelta(seconds=600))
    assert result.state == BREACHED
    assert result.observations_in_window == 1


def test_point_just_before_the_window_does_not_count():
    spec = GuardrailSpec("m", "<=", 1, window_seconds=600, failure_limit=1)
    now = T0 + timedelta(seconds=600, microseconds=1)
    result = evaluate_guardrail(spec, [Point(T0, 5)], now=now)
    assert result.state == INSUFFICIENT_DATA
    assert result.observations_in_window == 0


def test_point_exactly_at_now_counts_and_future_points_are_ignored():
    spec = GuardrailSpec("m", "<=", 1, window_seconds=600, failure_limit=1)
    points = [Point(T0, 0.5), Point(T0 + timedelta(seconds=1), 9)]
    result = evaluate_guardrail(spec, points, now=T0)
    assert result.state == PASSING
    assert result.observations_in_window == 1
    assert result.last_value == 0.5
    assert result.last_observed_at == T0


def test_stale_data_is_insufficient_not_passing():
    spec = GuardrailSpec("ctr_delta_pct", ">=", -0.5, window_seconds=1800, failure_limit=1)
    result = evaluate_guardrail(spec, series([0.1, 0.2]), now=at(120))
    assert result.state == INSUFFICIENT_DATA
    assert result.observations_in_window == 0
    assert result.last_observed_at == at(1)
    assert result.last_value == 0.2
    assert result.detail == (
        "no observations of ctr_delta_pct in the last 30 min; the latest was at "
        "4 Mar 2025 12:01 UTC, 1 h 59 min ago"
    )


def test_no_observations_at_all_is_insufficient():
    result = evaluate_guardrail(LATENCY, [], now=T0)
    assert result.state == INSUFFICIENT_DATA
    assert result.detail == "no observations of p95_latency_ms yet"
    assert result.last_value is None and result.last_observed_at is None


def test_fewer_than_min_observations_is_insufficient_even_when_breaching():
    spec = GuardrailSpec("m", "<=", 1, window_seconds=600, failure_limit=1, min_observations=3)
    result = evaluate_guardrail(spec, series([5, 6]), now=at(1))
    assert result.state == INSUFFICIENT_DATA
    assert result.consecutive_breaches == 2
    assert result.detail == "2 observations of m in the last 10 min; at least 3 needed"
    assert evaluate_guardrail(spec, series([5, 6, 7]), now=at(2)).state == BREACHED


def test_points_older_than_the_window_do_not_extend_a_run():
    # Breaching at minutes 0-9 (outside the 10-minute window at minute 20), then healthy, then two
    # breaches: the run is 2, not 12.
    values = [250] * 10 + [150] * 9 + [250, 260]
    result = evaluate_guardrail(LATENCY, series(values), now=at(20))
    assert result.state == PASSING
    assert result.consecutive_breaches == 2


def test_order_of_input_does_not_matter_and_timezones_are_compared_as_instants():
    other_zone = timezone(timedelta(hours=-5))
    points = [
        Point(at(2).astimezone(other_zone), 230),
        Point(at(0), 210),
        Point(at(1).astimezone(other_zone), 220),
    ]
    result = evaluate_guardrail(LATENCY, points, now=at(2))
    assert result.state == BREACHED
    assert result.breached_since == at(0)


@pytest.mark.parametrize("reverse", [False, True])
def test_a_simultaneous_healthy_reading_does_not_hide_a_breach(reverse):
    spec = GuardrailSpec("p95_latency_ms", "<=", 200, window_seconds=600, failure_limit=1)
    points = [Point(at(1), 150), Point(at(2), 150), Point(at(2), 250)]
    result = evaluate_guardrail(spec, points[::-1] if reverse else points, now=at(2))
    assert result.state == BREACHED
    assert result.consecutive_breaches == 1
    assert result.last_value == 250


# --- the E2 replay: "roll back if CTR falls 0.5 % for over 30 minutes" --------------------------------


def _replay(values):
    """Evaluate at every minute as the observations arrive; return the state per minute."""
    points = series(values)
    return [evaluate_guardrail(CTR, points[: i + 1], now=points[i].observed_at) for i in range(len(points))]


def test_twenty_minute_dip_to_minus_0_4_never_rolls_back():
    values = [0.1] * 120
    values[40:60] = [-0.4] * 20
    states = _replay(values)
    assert {s.state for s in states} == {PASSING}
    assert all(s.consecutive_breaches == 0 for s in states)


def test_twenty_minute_dip_to_minus_0_6_then_recovered_never_rolls_back():
    values = [0.1] * 120
    values[40:60] = [-0.6] * 20
    states = _replay(values)
    assert {s.state for s in states} == {PASSING}
    assert max(s.consecutive_breaches for s in states) == 20
    assert states[59].breached_since == at(40)
    assert states[60].breached_since is None


def test_dip_to_minus_0_6_held_rolls_back_after_over_thirty_minutes():
    values = [0.1] * 60 + [-0.6] * 60
    states = _replay(values)
    assert {s.state for s in states[:60]} == {PASSING}
    at_29, at_30, at_31 = states[60 + 29], states[60 + 30], states[60 + 31]
    assert at_29.state == PASSING
    assert at_29.consecutive_breaches == 30
    assert at_29.breached_since == at(60)
    assert at_30.state == PASSING  # exactly 30 minutes is not "over 30 minutes"
    assert at_31.state == BREACHED
    assert at_31.breached_since == at(60)
    assert at_31.detail == (
        "ctr_delta_pct = -0.6 breaks ctr_delta_pct >= -0.5: 32 consecutive breaches since "
        "4 Mar 2025 13:00 UTC, over 31 min (limit: 1 consecutive breach held over 30 min)"
    )
    assert {s.state for s in states[60 + 31 :]} == {BREACHED}


def test_sustained_breach_is_measured_to_the_last_observation_not_to_now():
    # Breaching observations for 10 minutes, then the feed goes quiet: 31 minutes later there is no
    # evidence the breach held for over 30 minutes.
    points = series([-0.6] * 11)
    result = evaluate_guardrail(CTR, points, now=at(41))
    assert result.state == PASSING
    assert result.consecutive_breaches == 11


def test_passing_detail_explains_what_is_still_needed():
    points = series([-0.6] * 30)
    result = evaluate_guardrail(CTR, points, now=at(29))
    assert result.detail == (
        "ctr_delta_pct = -0.6 breaks ctr_delta_pct >= -0.5: 30 consecutive breaches since "
        "4 Mar 2025 12:00 UTC, over 29 min; not breached until 1 consecutive breach held over 30 min"
    )


# --- construction -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"comparator": "=>"},
        {"threshold": float("nan")},
        {"threshold": "0.5"},
        {"window_seconds": 0},
        {"failure_limit": 0},
        {"min_observations": 0},
        {"sustain_seconds": -1},
        {"sustain_seconds": 3600},
        {"failure_limit": 1.5},
        {"metric": ""},
    ],
)
def test_invalid_guardrail_specs_are_refused(overrides):
    fields = {
        "metric": "ctr_delta_pct",
        "comparator": ">=",
        "threshold": -0.5,
        "window_seconds": 3600,
        "failure_limit": 1,
    }
    with pytest.raises(ValueError):
        GuardrailSpec(**{**fields, **overrides})


def test_points_need_aware_times_and_finite_values():
    with pytest.raises(ValueError):
        Point(datetime(2025, 1, 1, 12, 0), 1.0)
    with pytest.raises(ValueError):
        Point(T0, float("nan"))
    with pytest.raises(ValueError):
        evaluate_guardrail(LATENCY, [], now=datetime(2025, 1, 1))


def test_spec_reads_as_its_healthy_condition():
    assert str(CTR) == "ctr_delta_pct >= -0.5"
    assert str(LATENCY) == "p95_latency_ms <= 200"


def test_state_as_dict_is_json_friendly():
    result = evaluate_guardrail(LATENCY, series([210, 220, 230]), now=at(2))
    data = result.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["state"] == "BREACHED"
    assert data["breached_since"] == "2025-03-04T12:00:00+00:00"
    assert data["last_observed_at"] == "2025-03-04T12:02:00+00:00"
    assert isinstance(result, GuardrailState)
    assert result.breached


# --- properties -------------------------------------------------------------------------------------

NOW = T0 + timedelta(hours=2)


@st.composite
def specs(draw):
    window = draw(st.integers(min_value=60, max_value=3600))
    return GuardrailSpec(
        metric="m",
        comparator=draw(st.sampled_from(["<=", "<", ">=", ">", "==", "!="])),
        threshold=draw(st.integers(min_value=-2, max_value=2)),
        window_seconds=window,
        failure_limit=draw(st.integers(min_value=1, max_value=4)),
        min_observations=draw(st.integers(min_value=1, max_value=3)),
        sustain_seconds=draw(st.one_of(st.just(0), st.integers(min_value=1, max_value=window - 1))),
    )


points_lists = st.lists(
    st.builds(
        Point,
        observed_at=st.integers(min_value=-4000, max_value=300).map(lambda s: NOW + timedelta(seconds=s)),
        value=st.integers(min_value=-3, max_value=3),
    ),
    max_size=25,
)


@settings(max_examples=400, deadline=None)
@given(spec=specs(), points=points_lists, data=st.data())
def test_state_does_not_depend_on_input_order(spec, points, data):
    shuffled = data.draw(st.permutations(points))
    assert evaluate_guardrail(spec, shuffled, now=NOW) == evaluate_guardrail(spec, points, now=NOW)


@settings(max_examples=400, deadline=None)
@given(spec=specs(), points=points_lists, gap=st.integers(min_value=1, max_value=600))
def test_a_healthy_newest_observation_never_produces_a_breach(spec, points, gap):
    past = [p for p in points if p.observed_at < NOW]
    newest = max((p.observed_at for p in past), default=NOW - timedelta(seconds=gap))
    at_time = min(newest + timedelta(seconds=gap), NOW)
    assume(at_time > newest or not past)
    healthy = next(v for v in (spec.threshold, spec.threshold + 1, spec.threshold - 1) if spec.healthy(v))
    result = evaluate_guardrail(spec, past + [Point(at_time, healthy)], now=NOW)
    assert result.state != BREACHED


@settings(max_examples=400, deadline=None)
@given(spec=specs(), points=points_lists)
def test_breached_means_enough_consecutive_breaches_held_long_enough(spec, points):
    result = evaluate_guardrail(spec, points, now=NOW)
    assert (result.state == INSUFFICIENT_DATA) == (result.observations_in_window < spec.min_observations)
    if result.state == BREACHED:
        assert result.consecutive_breaches >= spec.failure_limit
        assert result.breached_since is not None
        assert not spec.healthy(result.last_value)
        if spec.sustain_seconds:
            held = (result.last_observed_at - result.breached_since).total_seconds()
            assert held > spec.sustain_seconds
    assert (result.breached_since is None) == (result.consecutive_breaches == 0)
    assert result.consecutive_breaches <= result.observations_in_window


@settings(max_examples=400, deadline=None)
@given(spec=specs(), points=points_lists)
def test_only_the_window_decides(spec, points):
    start = NOW - timedelta(seconds=spec.window_seconds)
    inside = [p for p in points if start <= p.observed_at <= NOW]
    full, trimmed = evaluate_guardrail(spec, points, now=NOW), evaluate_guardrail(spec, inside, now=NOW)
    assert (full.state, full.consecutive_breaches, full.breached_since, full.observations_in_window) == (
        trimmed.state,
        trimmed.consecutive_breaches,
        trimmed.breached_since,
        trimmed.observations_in_window,
    )
