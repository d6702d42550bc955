"""Rules of automatic checklist items: `psi.max <= 0.2`, `fairness.air >= 0.8`, `auc >= 0.7`.

A rule compares one submitted metric with a threshold. Grammar::

    rule    = METRIC OP NUMBER            (spaces allowed around each part)
    METRIC  = [a-z0-9_]+ ("." [a-z0-9_]+)*   lower-case, exactly as CI submits the key
    OP      = "<=" | "<" | ">=" | ">" | "==" | "!="
    NUMBER  = a finite decimal such as 0.2, -1, 1e-3 (no nan, no inf)

Upper-case metric names are rejected rather than folded: metric keys are matched exactly, and a
rule on `PSI.max` that silently read `psi.max` would hide a typo in the template.

Evaluation is interval-aware (see `evaluate_rule`): when the evaluation carries a confidence
interval for the metric (`<metric>.ci_low`, `<metric>.ci_high`), an inequality passes only when the
whole interval meets the threshold, fails when the whole interval misses it, and is INCONCLUSIVE
otherwise — never a pass by luck of the point estimate.
"""

from __future__ import annotations

import math
import numbers
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

PASS = "PASS"
FAIL = "FAIL"
INCONCLUSIVE = "INCONCLUSIVE"
MISSING = "MISSING"

COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
    "!=": operator.ne,
}

_METRIC = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)*")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_OPERATOR_CHARS = re.compile(r"[<>=!]+")
_NON_FINITE = {"nan", "inf", "infinity"}
_LOOKALIKES = {"\u2264": "<=", "\u2265": ">=", "\u2260": "!="}


class RuleSyntaxError(ValueError):
    """A rule's text does not follow `METRIC OP NUMBER`; the message says what is wrong, ``code`` says it for
    programs and tests (``empty``, ``no_operator``, ``unknown_operator``, ``lookalike_operator``, ``no_metric``,
    ``invalid_metric``, ``upper_case_metric``, ``no_threshold``, ``several_operators``,
    ``threshold_not_a_number``, ``threshold_not_finite``, ``not_text``)."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.code = code


def format_number(value: float) -> str:
    """The shortest text that reads back as the same float; whole numbers without '.0'."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


@dataclass(frozen=True)
class Rule:
    metric: str
    comparator: str
    threshold: float

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not _METRIC.fullmatch(self.metric):
            raise RuleSyntaxError(f"invalid metric name {self.metric!r}", code="invalid_metric")
        if self.comparator not in COMPARATORS:
            raise RuleSyntaxError(f"unknown operator {self.comparator!r}", code="unknown_operator")
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, numbers.Real):
            raise RuleSyntaxError(f"the threshold must be a number, not {self.threshold!r}", code="threshold_not_a_number")
        threshold = float(self.threshold)
        if not math.isfinite(threshold):
            raise RuleSyntaxError("the threshold must be a finite number", code="threshold_not_finite")
        object.__setattr__(self, "threshold", threshold)

    def __str__(self) -> str:
        return f"{self.metric} {self.comparator} {format_number(self.threshold)}"

    def holds(self, value: float) -> bool:
        return COMPARATORS[self.comparator](value, self.threshold)


def parse_rule(text: str) -> Rule:
    """Parse `METRIC OP NUMBER`; raise RuleSyntaxError naming the problem otherwise."""
    if not isinstance(text, str):
        raise RuleSyntaxError(f"a rule must be text, not {type(text).__name__}", code="not_text")
    stripped = text.strip()
    if not stripped:
        raise RuleSyntaxError("the rule is empty; expected METRIC OP NUMBER, e.g. 'psi.max <= 0.2'", code="empty")
    op_match = _OPERATOR_CHARS.search(stripped)
    for symbol, ascii_op in _LOOKALIKES.items():
        if symbol in stripped:
            raise RuleSyntaxError(f"write {ascii_op!r} instead of {symbol!r}", code="lookalike_operator")
    if op_match is None:
        raise RuleSyntaxError(
            f"no comparison operator in {stripped!r}; expected one of {', '.join(COMPARATORS)}",
            code="no_operator",
        )
    op = op_match.group()
    if op not in COMPARATORS:
        raise RuleSyntaxError(f"unknown operator {op!r}; expected one of {', '.join(COMPARATORS)}", code="unknown_operator")
    metric = stripped[: op_match.start()].strip()
    number = stripped[op_match.end() :].strip()
    if not metric:
        raise RuleSyntaxError(f"no metric name before {op!r}", code="no_metric")
    if not _METRIC.fullmatch(metric):
        if _METRIC.fullmatch(metric.lower()):
            raise RuleSyntaxError(
                f"metric names are lower-case: write {metric.lower()!r} instead of {metric!r}",
                code="upper_case_metric",
            )
        raise RuleSyntaxError(
            f"invalid metric name {metric!r}: use lower-case letters, digits and '_', with '.' between parts",
            code="invalid_metric",
        )
    if not number:
        raise RuleSyntaxError(f"no threshold after {op!r}", code="no_threshold")
    if _OPERATOR_CHARS.search(number):
        raise RuleSyntaxError("a rule has exactly one comparison operator", code="several_operators")
    if number.lstrip("+-").lower() in _NON_FINITE:
        raise RuleSyntaxError(f"the threshold must be a finite number, not {number!r}", code="threshold_not_finite")
    if not _NUMBER.fullmatch(number):
        raise RuleSyntaxError(f"the threshold {number!r} is not a number", code="threshold_not_a_number")
    threshold = float(number)
    if not math.isfinite(threshold):
        raise RuleSyntaxError(f"the threshold {number!r} is too large to be a finite number", code="threshold_not_finite")
    return Rule(metric=metric, comparator=op, threshold=threshold)


@dataclass(frozen=True)
class RuleResult:
    verdict: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n_required: float | None
    detail: str

    @property
    def passed(self) -> bool:
        return self.verdict == PASS

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


_ABSENT = object()


def _finite(raw: object) -> float | None:
    """The value as a float when it is a finite real number (booleans are not numbers here)."""
    if isinstance(raw, bool) or not isinstance(raw, numbers.Real):
        return None
    value = float(raw)
    return value if math.isfinite(value) else None


# How each comparator reads in a sentence: (met, missed).
_POINT_WORDS = {
    ">=": ("at or above the minimum", "below the minimum"),
    ">": ("above", "not above"),
    "<=": ("at or below the limit", "above the limit"),
    "<": ("below", "not below"),
    "==": ("equal to the required", "not equal to the required"),
    "!=": ("different from", "equal to the forbidden value"),
}


def format_value(value: float, threshold: float) -> str:
    """A measured value for a sentence: three significant digits (evidence a person reads, not a dump), or as
    many more as it takes not to print it as the threshold it differs from ("0.2, above the limit 0.2")."""
    for digits in range(3, 18):
        shown = f"{value:.{digits}g}"
        if value == threshold or shown != f"{threshold:.{digits}g}":
            return shown
    return repr(value)


def evaluate_rule(rule: Rule, metrics: Mapping[str, object]) -> RuleResult:
    """Evaluate `rule` against one evaluation's flat metrics.

    - `<metric>.ci_low` and `<metric>.ci_high` both present: for >=, > PASS when the whole interval
      satisfies the rule (ci_low >= / > threshold), FAIL when the whole interval misses it (ci_high
      < / <= threshold), INCONCLUSIVE otherwise; <=, < mirror this. The point value, when present, is
      reported but does not decide. == and != ignore intervals and use the point value.
    - Only the point value: PASS or FAIL by comparing it.
    - Neither (or, for == and !=, no point value): MISSING. A value that is not a finite number,
      or an interval that is half present, non-finite or inverted, is MISSING too, with a detail
      saying so: broken data must not pass a blocking item.
    - `<metric>.n_required` (the sample size that would settle the check) is copied when present.
    """
    metric, op, threshold = rule.metric, rule.comparator, rule.threshold
    limit = format_number(threshold)
    n_required = _finite(metrics.get(f"{metric}.n_required"))

    def result(verdict: str, detail: str, value: float | None = None, low: float | None = None,
               high: float | None = None) -> RuleResult:
        return RuleResult(verdict, value, low, high, n_required, detail)

    raw_value = metrics.get(metric, _ABSENT)
    raw_low = metrics.get(f"{metric}.ci_low", _ABSENT)
    raw_high = metrics.get(f"{metric}.ci_high", _ABSENT)

    value = None
    if raw_value is not _ABSENT:
        value = _finite(raw_value)
        if value is None:
            return result(MISSING, f"{metric} is not a finite number ({raw_value!r})")

    use_interval = op not in ("==", "!=") and (raw_low is not _ABSENT or raw_high is not _ABSENT)
    if not use_interval:
        if value is None:
            return result(MISSING, f"{metric} was not reported")
        met = rule.holds(value)
        words = _POINT_WORDS[op][0 if met else 1]
        return result(
            PASS if met else FAIL, f"{metric} = {format_value(value, threshold)}, {words} {limit}", value
        )

    low, high = _finite(raw_low), _finite(raw_high)
    if low is None or high is None:
        return result(
            MISSING,
            f"the confidence interval of {metric} is incomplete or not finite "
            f"(ci_low={None if raw_low is _ABSENT else raw_low!r}, "
            f"ci_high={None if raw_high is _ABSENT else raw_high!r})",
            value,
        )
    if low > high:
        return result(
            MISSING, f"the confidence interval of {metric} is inverted ({low:.6g} > {high:.6g})", value
        )

    # For a lower bound (>=, >) the interval's low end must meet it and its high end decides a
    # failure; for an upper bound (<=, <) the roles swap.
    if op in (">=", ">"):
        passes, fails = rule.holds(low), not rule.holds(high)
    else:
        passes, fails = rule.holds(high), not rule.holds(low)
    verdict = PASS if passes else FAIL if fails else INCONCLUSIVE

    head = (
        f"{metric} = {format_value(value, threshold)}, interval"
        if value is not None
        else f"{metric} interval"
    )
    span = f"{head} {format_value(low, threshold)} to {format_value(high, threshold)}"
    if verdict == PASS:
        detail = f"{span}: the whole interval is {_POINT_WORDS[op][0]} {limit}"
    elif verdict == FAIL:
        detail = f"{span}: the whole interval is {_POINT_WORDS[op][1]} {limit}"
    else:
        detail = f"{span} straddles the threshold {limit} ({rule}); inconclusive"
        if n_required is not None:
            detail += f"; about {n_required:,.0f} observations would settle it"
    return result(verdict, detail, value, low, high)
