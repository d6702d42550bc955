"""Guardrail evaluation during a staged rollout: one pure function from observations to a state.

A guardrail states the HEALTHY condition of a live metric, e.g. `ctr_delta_pct >= -0.5` or
`p95_latency_ms <= 200`; an observation breaches when that condition is false. Launch rules such as
"roll back if CTR falls 0.5 % for over 30 minutes" become `ctr_delta_pct >= -0.5` with
`sustain_seconds=1800`; "p95 latency > 200 ms three times in a row" becomes `p95_latency_ms <= 200`
with `failure_limit=3`. What to do on a breach (ROLLBACK, PAUSE, ALERT) is the caller's business.

Rules of `evaluate_guardrail`, in order:

1. Only observations with `now - window_seconds <= observed_at <= now` count. Observations after
   `now` are ignored (a clock ahead of ours must not decide today's state).
2. Fewer than `min_observations` in the window is INSUFFICIENT_DATA: stale or absent data is never
   read as healthy.
3. The trailing run is the newest observations, counted backwards while each one breaches.
4. BREACHED when the run has at least `failure_limit` observations and, if `sustain_seconds > 0`,
   the run spans MORE than `sustain_seconds` from its first to its last observation. The span ends at
   the last observation, not at `now`: a breach is held only as long as it was seen to hold, so a
   feed that goes quiet mid-dip cannot trigger a rollback on the silence. With one observation a
   minute, a dip that starts at t0 is BREACHED from the observation at t0 + 31 min on ("over 30
   minutes"); at t0 + 30 min it is still PASSING.
5. Otherwise PASSING.

Observations are ordered by time; at the same instant a healthy reading sorts before a breaching
one, so a simultaneous good value never hides a breach. The result does not depend on the order
in which observations are given.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from governance.policies.expressions import COMPARATORS, format_number, format_value

PASSING = "PASSING"
BREACHED = "BREACHED"
INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


def _require_aware(value: datetime, what: str) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, not {value!r}")


@dataclass(frozen=True)
class GuardrailSpec:
    """`metric comparator threshold` is the healthy condition; a breach is when it is false."""

    metric: str
    comparator: str
    threshold: float
    window_seconds: int
    failure_limit: int
    min_observations: int = 1
    sustain_seconds: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric:
            raise ValueError("a guardrail needs a metric name")
        if self.comparator not in COMPARATORS:
            raise ValueError(
                f"unknown comparator {self.comparator!r}; expected one of {', '.join(COMPARATORS)}"
            )
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, numbers.Real):
            raise ValueError(f"the threshold must be a number, not {self.threshold!r}")
        if not math.isfinite(self.threshold):
            raise ValueError("the threshold must be a finite number")
        object.__setattr__(self, "threshold", float(self.threshold))
        for name, minimum in (
            ("window_seconds", 1),
            ("failure_limit", 1),
            ("min_observations", 1),
            ("sustain_seconds", 0),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"{name} must be an integer of at least {minimum}, not {value!r}")
        if self.sustain_seconds and self.sustain_seconds >= self.window_seconds:
            # A run longer than the window can never be seen inside it: the guardrail would be inert.
            raise ValueError(
                f"sustain_seconds ({self.sustain_seconds}) must be shorter than window_seconds "
                f"({self.window_seconds})"
            )

    def __str__(self) -> str:
        return f"{self.metric} {self.comparator} {format_number(self.threshold)}"

    def healthy(self, value: float) -> bool:
        return COMPARATORS[self.comparator](value, self.threshold)


@dataclass(frozen=True)
class Point:
    """One observation of the guardrail's metric."""

    observed_at: datetime
    value: float

    def __post_init__(self) -> None:
        _require_aware(self.observed_at, "observed_at")
        if isinstance(self.value, bool) or not isinstance(self.value, numbers.Real):
            raise ValueError(f"an observation's value must be a number, not {self.value!r}")
        if not math.isfinite(self.value):
            raise ValueError(f"an observation's value must be finite, not {self.value!r}")
        object.__setattr__(self, "value", float(self.value))


@dataclass(frozen=True)
class GuardrailState:
    """The evaluated state. `last_*` describe the newest observation not after `now`, even when it
    is older than the window, so a stale guardrail can say when data was last seen."""

    state: str
    consecutive_breaches: int
    breached_since: datetime | None
    last_value: float | None
    last_observed_at: datetime | None
    observations_in_window: int
    detail: str
    segment: str = ""  # the segment this state is about, when the guardrail watches segments

    @property
    def breached(self) -> bool:
        return self.state == BREACHED

    def as_dict(self) -> dict[str, object]:
        return {
            "state": self.state,
            "consecutive_breaches": self.consecutive_breaches,
            "breached_since": self.breached_since.isoformat() if self.breached_since else None,
            "last_value": self.last_value,
            "last_observed_at": self.last_observed_at.isoformat() if self.last_observed_at else None,
            "observations_in_window": self.observations_in_window,
            "detail": self.detail,
            **({"segment": self.segment} if self.segment else {}),
        }


def _duration(seconds: float) -> str:
    seconds = math.ceil(seconds)  # never print "30 min" for a span just over 30 minutes
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours} h")
    if minutes:
        parts.append(f"{minutes} min")
    if secs or not parts:
        parts.append(f"{secs} s")
    return " ".join(parts)


def _moment(at: datetime) -> str:
    """A moment as people read it, with its zone (these details reach reports and incident summaries)."""
    return at.strftime("%-d %b %Y %H:%M %Z").strip()


def _plural(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def evaluate_guardrail(spec: GuardrailSpec, points: Iterable[Point], *, now: datetime) -> GuardrailState:
    """The guardrail's state at `now` (rules in the module docstring)."""
    _require_aware(now, "now")

    def order(point: Point) -> tuple[datetime, bool, float]:
        return (point.observed_at, not spec.healthy(point.value), point.value)

    window_start = now - timedelta(seconds=spec.window_seconds)
    seen = sorted((p for p in points if p.observed_at <= now), key=order)
    in_window = [p for p in seen if p.observed_at >= window_start]
    latest = seen[-1] if seen else None

    run = 0
    for point in reversed(in_window):
        if spec.healthy(point.value):
            break
        run += 1
    breached_since = in_window[-run].observed_at if run else None
    run_span = (in_window[-1].observed_at - breached_since).total_seconds() if breached_since else 0.0

    metric, condition, window = spec.metric, str(spec), _duration(spec.window_seconds)

    def state(name: str, detail: str) -> GuardrailState:
        return GuardrailState(
            state=name,
            consecutive_breaches=run,
            breached_since=breached_since,
            last_value=latest.value if latest else None,
            last_observed_at=latest.observed_at if latest else None,
            observations_in_window=len(in_window),
            detail=detail,
        )

    if len(in_window) < spec.min_observations:
        if latest is None:
            detail = f"no observations of {metric} yet"
        elif not in_window:
            age = _duration((now - latest.observed_at).total_seconds())
            detail = (
                f"no observations of {metric} in the last {window}; "
                f"the latest was at {_moment(latest.observed_at)}, {age} ago"
            )
        else:
            count = _plural(len(in_window), "observation", "observations")
            detail = f"{count} of {metric} in the last {window}; at least {spec.min_observations} needed"
        return state(INSUFFICIENT_DATA, detail)

    shown = format_value(in_window[-1].value, spec.threshold)
    if run == 0 or breached_since is None:
        return state(PASSING, f"{metric} = {shown}, healthy ({condition})")

    need = _plural(spec.failure_limit, "consecutive breach", "consecutive breaches")
    if spec.sustain_seconds:
        need += f" held over {_duration(spec.sustain_seconds)}"
    breaches = _plural(run, "consecutive breach", "consecutive breaches")
    seen_for = (
        f"{metric} = {shown} breaks {condition}: {breaches} "
        f"since {_moment(breached_since)}, over {_duration(run_span)}"
    )
    long_enough = spec.sustain_seconds == 0 or run_span > spec.sustain_seconds
    if run >= spec.failure_limit and long_enough:
        return state(BREACHED, f"{seen_for} (limit: {need})")
    return state(PASSING, f"{seen_for}; not breached until {need}")


_SEVERITY = {BREACHED: 0, INSUFFICIENT_DATA: 1, PASSING: 2}


def evaluate_segments(spec: GuardrailSpec, points_by_segment: dict[str, Iterable[Point]], *, now: datetime
                      ) -> GuardrailState:
    """One rule for every segment: each segment's observations are evaluated on their own, and the guardrail reads
    as its worst segment (a breach first, then missing data; ties go to the segment named first), named in the
    detail. No segment seen at all is INSUFFICIENT_DATA."""
    states = {segment: evaluate_guardrail(spec, points, now=now)
              for segment, points in sorted(points_by_segment.items())}
    if not states:
        return GuardrailState(state=INSUFFICIENT_DATA, consecutive_breaches=0, breached_since=None, last_value=None,
                              last_observed_at=None, observations_in_window=0,
                              detail=f"no observations of {spec.metric} tagged with a segment yet")
    segment, worst = min(states.items(), key=lambda item: _SEVERITY[item[1].state])
    if worst.state == PASSING:
        detail = (f"{spec.metric} healthy in every segment ({_plural(len(states), 'segment', 'segments')}: "
                  f"{', '.join(states)}) ({spec})")
        return replace(worst, detail=detail[:1000], segment="")
    return in_segment(worst, segment)


def in_segment(state: GuardrailState, segment: str) -> GuardrailState:
    """The state of one segment's observations, saying which segment it is about."""
    return replace(state, detail=f"segment {segment}: {state.detail}", segment=segment)
