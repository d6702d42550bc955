"""Automatic checklist rules: parsing `METRIC OP NUMBER` and interval-aware verdicts."""

import math
from fractions import Fraction

import numpy
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from governance.policies.expressions import (
    COMPARATORS,
    FAIL,
    INCONCLUSIVE,
    MISSING,
    PASS,
    Rule,
    RuleResult,
    RuleSyntaxError,
    evaluate_rule,
    parse_rule,
)

# --- parsing ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("psi.max <= 0.2", Rule("psi.max", "<=", 0.2)),
        ("fairness.air >= 0.8", Rule("fairness.air", ">=", 0.8)),
        ("auc>=0.7", Rule("auc", ">=", 0.7)),
        ("  auc   >   0.7  ", Rule("auc", ">", 0.7)),
        ("\tlatency_p95_ms < 200\n", Rule("latency_p95_ms", "<", 200.0)),
        ("psi.income == 0", Rule("psi.income", "==", 0.0)),
        ("errors.count != 3", Rule("errors.count", "!=", 3.0)),
        ("ctr_delta_pct >= -0.5", Rule("ctr_delta_pct", ">=", -0.5)),
        ("fairness.air.ci_low >= .8", Rule("fairness.air.ci_low", ">=", 0.8)),
        ("drift >= 1e-3", Rule("drift", ">=", 0.001)),
        ("drift <= +2.5E2", Rule("drift", "<=", 250.0)),
    ],
)
def test_valid_rules_parse(text, expected):
    assert parse_rule(text) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("auc 0.7", "no_operator"),
        ("auc => 0.7", "unknown_operator"),
        ("auc = 0.7", "unknown_operator"),
        ("auc <> 0.7", "unknown_operator"),
        ("auc ≥ 0.7", "lookalike_operator"),
        ("psi.max <= abc", "threshold_not_a_number"),
        ("psi.max <= ", "no_threshold"),
        ("<= 0.2", "no_metric"),
        ("psi.max <= nan", "threshold_not_finite"),
        ("psi.max <= inf", "threshold_not_finite"),
        ("psi.max <= -Infinity", "threshold_not_finite"),
        ("psi.max <= 1e999", "threshold_not_finite"),
        ("PSI.max <= 0.2", "upper_case_metric"),
        ("psi max <= 0.2", "invalid_metric"),
        ("psi..max <= 0.2", "invalid_metric"),
        ("psi.max. <= 0.2", "invalid_metric"),
        ("psi-max <= 0.2", "invalid_metric"),
        ("0.1 <= psi.max <= 0.2", "several_operators"),
        ("psi.max <= 0.2 or auc >= 0.7", "several_operators"),
        ("psi.max <= 0.2 0.3", "threshold_not_a_number"),
        ("psi.max <= 1_000", "threshold_not_a_number"),
    ],
)
def test_malformed_rules_are_rejected_with_a_code_naming_the_problem(text, code):
    with pytest.raises(RuleSyntaxError) as excinfo:
        parse_rule(text)
    assert excinfo.value.code == code


def test_rule_syntax_error_is_a_value_error():
    assert issubclass(RuleSyntaxError, ValueError)


def test_upper_case_metric_names_are_rejected_not_folded():
    # Metric keys are matched exactly; folding would hide a typo in a template.
    with pytest.raises(RuleSyntaxError):
        parse_rule("AUC >= 0.7")


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (Rule("psi.max", "<=", 0.2), "psi.max <= 0.2"),
        (Rule("auc", ">=", 1), "auc >= 1"),
        (Rule("x", "!=", -0.0), "x != 0"),
        (Rule("x", "<", 1e-7), "x < 1e-07"),
        (Rule("x", ">", 1e20), "x > 1e+20"),
    ],
)
def test_str_is_the_canonical_form(rule, text):
    assert str(rule) == text


def test_rule_refuses_invalid_parts_when_built_directly():
    with pytest.raises(RuleSyntaxError):
        Rule("auc", "=>", 0.7)
    with pytest.raises(RuleSyntaxError):
        Rule("auc", ">=", math.nan)
    with pytest.raises(RuleSyntaxError):
        Rule("Auc", ">=", 0.7)
    with pytest.raises(RuleSyntaxError):
        Rule("auc", ">=", "0.7")


# --- point verdicts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "value", "verdict"),
    [
        ("auc >= 0.7", 0.71, PASS),
        ("auc >= 0.7", 0.7, PASS),
        ("auc >= 0.7", 0.69, FAIL),
        ("auc > 0.7", 0.71, PASS),
        ("auc > 0.7", 0.7, FAIL),
        ("psi.max <= 0.2", 0.2, PASS),
        ("psi.max <= 0.2", 0.31, FAIL),
        ("psi.max < 0.2", 0.19, PASS),
        ("psi.max < 0.2", 0.2, FAIL),
        ("errors == 0", 0, PASS),
        ("errors == 0", 1, FAIL),
        ("errors != 0", 2, PASS),
        ("errors != 0", 0.0, FAIL),
    ],
)
def test_point_value_decides_when_there_is_no_interval(rule, value, verdict):
    result = evaluate_rule(parse_rule(rule), {parse_rule(rule).metric: value})
    assert result.verdict == verdict
    assert result.value == value
    assert result.ci_low is None and result.ci_high is None


def test_detail_states_the_figures_in_plain_english():
    result = evaluate_rule(parse_rule("psi.max <= 0.2"), {"psi.max": 0.31})
    assert result.detail == "psi.max = 0.31, above the limit 0.2"
    result = evaluate_rule(parse_rule("auc >= 0.7"), {"auc": 0.74})
    assert result.detail == "auc = 0.74, at or above the minimum 0.7"


def test_detail_does_not_round_a_failing_value_onto_the_threshold():
    result = evaluate_rule(parse_rule("psi.max <= 0.2"), {"psi.max": 0.2000000001})
    assert result.verdict == FAIL
    assert "0.2000000001" in result.detail


# --- interval verdicts ------------------------------------------------------------------------------


def _interval(metric, low, high, value=None):
    metrics = {f"{metric}.ci_low": low, f"{metric}.ci_high": high}
    if value is not None:
        metrics[metric] = value
    return metrics


@pytest.mark.parametrize(
    ("rule", "low", "high", "verdict"),
    [
        ("fairness.air >= 0.8", 0.81, 0.9, PASS),
        ("fairness.air >= 0.8", 0.8, 0.9, PASS),
        ("fairness.air >= 0.8", 0.7, 0.79, FAIL),
        ("fairness.air >= 0.8", 0.7, 0.8, INCONCLUSIVE),
        ("fairness.air >= 0.8", 0.77, 0.87, INCONCLUSIVE),
        ("fairness.air > 0.8", 0.8, 0.9, INCONCLUSIVE),
        ("fairness.air > 0.8", 0.81, 0.9, PASS),
        ("fairness.air > 0.8", 0.7, 0.8, FAIL),
        ("psi.max <= 0.2", 0.1, 0.2, PASS),
        ("psi.max <= 0.2", 0.21, 0.3, FAIL),
        ("psi.max <= 0.2", 0.2, 0.3, INCONCLUSIVE),
        ("psi.max <= 0.2", 0.15, 0.25, INCONCLUSIVE),
        ("psi.max < 0.2", 0.1, 0.19, PASS),
        ("psi.max < 0.2", 0.1, 0.2, INCONCLUSIVE),
        ("psi.max < 0.2", 0.2, 0.3, FAIL),
    ],
)
def test_interval_decides_inequalities(rule, low, high, verdict):
    parsed = parse_rule(rule)
    result = evaluate_rule(parsed, _interval(parsed.metric, low, high, value=(low + high) / 2))
    assert result.verdict == verdict
    assert (result.ci_low, result.ci_high) == (low, high)


def test_a_point_estimate_above_the_floor_does_not_pass_when_the_interval_straddles_it():
    metrics = _interval("fairness.air", 0.77, 0.87, value=0.82)
    metrics["fairness.air.n_required"] = 4200
    result = evaluate_rule(parse_rule("fairness.air >= 0.8"), metrics)
    assert result.verdict == INCONCLUSIVE
    assert result.value == 0.82
    assert result.n_required == 4200
    assert result.detail == (
        "fairness.air = 0.82, interval 0.77 to 0.87 straddles the threshold 0.8 "
        "(fairness.air >= 0.8); inconclusive; about 4,200 observations would settle it"
    )


def test_interval_without_point_value_still_decides():
    result = evaluate_rule(parse_rule("fairness.air >= 0.8"), _interval("fairness.air", 0.85, 0.9))
    assert result.verdict == PASS
    assert result.value is None
    assert (
        result.detail
        == "fairness.air interval 0.85 to 0.9: the whole interval is at or above the minimum 0.8"
    )


@pytest.mark.parametrize("op", ["==", "!="])
def test_equality_rules_ignore_the_interval(op):
    metrics = _interval("errors", -1.0, 1.0, value=0.0)
    result = evaluate_rule(parse_rule(f"errors {op} 0"), metrics)
    assert result.verdict == (PASS if op == "==" else FAIL)
    assert result.ci_low is None and result.ci_high is None


def test_n_required_is_copied_whatever_the_verdict():
    result = evaluate_rule(parse_rule("auc >= 0.7"), {"auc": 0.9, "auc.n_required": 1500.0})
    assert result.verdict == PASS
    assert result.n_required == 1500.0


# --- missing and broken data ------------------------------------------------------------------------


def test_missing_metric_is_missing_not_failing_or_passing():
    result = evaluate_rule(parse_rule("psi.max <= 0.2"), {"psi.income": 0.01})
    assert result.verdict == MISSING
    assert not result.passed
    assert result.detail == "psi.max was not reported"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, None, "0.1", True, [0.1]])
def test_non_finite_or_non_numeric_value_is_missing(bad):
    result = evaluate_rule(parse_rule("psi.max <= 0.2"), {"psi.max": bad})
    assert result.verdict == MISSING
    assert result.value is None
    assert "not a finite number" in result.detail


@pytest.mark.parametrize(
    "metrics",
    [
        {"auc": 0.9, "auc.ci_low": 0.85},
        {"auc": 0.9, "auc.ci_high": 0.95},
        {"auc": 0.9, "auc.ci_low": math.nan, "auc.ci_high": 0.95},
        {"auc": 0.9, "auc.ci_low": 0.95, "auc.ci_high": 0.85},
    ],
)
def test_broken_interval_is_missing_so_it_cannot_pass_a_blocking_item(metrics):
    result = evaluate_rule(parse_rule("auc >= 0.7"), metrics)
    assert result.verdict == MISSING
    assert "interval" in result.detail


def test_equality_rule_needs_the_point_value():
    result = evaluate_rule(parse_rule("errors == 0"), _interval("errors", 0.0, 0.0))
    assert result.verdict == MISSING


@pytest.mark.parametrize("value", [numpy.float32(0.75), numpy.int64(1), Fraction(3, 4), 1])
def test_any_real_number_type_is_accepted(value):
    result = evaluate_rule(parse_rule("auc >= 0.7"), {"auc": value})
    assert result.verdict == PASS
    assert result.value == float(value)
    assert type(result.value) is float


def test_result_as_dict_is_json_ready():
    result = evaluate_rule(parse_rule("psi.max <= 0.2"), {"psi.max": 0.31})
    assert result.as_dict() == {
        "verdict": "FAIL",
        "value": 0.31,
        "ci_low": None,
        "ci_high": None,
        "n_required": None,
        "detail": "psi.max = 0.31, above the limit 0.2",
    }
    assert isinstance(result, RuleResult)


# --- properties -------------------------------------------------------------------------------------

_finite_floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
_metric_names = st.from_regex(r"[a-z0-9_]{1,8}(\.[a-z0-9_]{1,8}){0,3}", fullmatch=True)
_rules = st.builds(
    Rule, metric=_metric_names, comparator=st.sampled_from(sorted(COMPARATORS)), threshold=_finite_floats
)


@settings(max_examples=300)
@given(rule=_rules)
def test_parse_of_str_round_trips(rule):
    parsed = parse_rule(str(rule))
    assert parsed == rule
    assert str(parsed) == str(rule)


@settings(max_examples=300)
@given(
    bounds=st.lists(_finite_floats, min_size=2, max_size=2).map(sorted),
    fraction=st.floats(min_value=0, max_value=1),
    threshold=_finite_floats,
    strict=st.booleans(),
)
def test_interval_verdicts_for_a_floor_never_contradict_the_data(bounds, fraction, threshold, strict):
    low, high = bounds
    point = low + (high - low) * fraction
    assume(math.isfinite(point) and low <= point <= high)
    rule = Rule("fairness.air", ">" if strict else ">=", threshold)
    result = evaluate_rule(rule, _interval("fairness.air", low, high, value=point))
    if result.verdict == PASS:
        assert point > threshold if strict else point >= threshold
    if result.verdict == FAIL:
        assert high <= threshold if strict else high < threshold
    assert result.verdict in (PASS, FAIL, INCONCLUSIVE)


@settings(max_examples=300)
@given(
    bounds=st.lists(_finite_floats, min_size=2, max_size=2).map(sorted),
    threshold=_finite_floats,
    op=st.sampled_from(["<=", "<", ">=", ">"]),
)
def test_interval_verdict_agrees_with_both_ends(bounds, threshold, op):
    low, high = bounds
    rule = Rule("m", op, threshold)
    verdict = evaluate_rule(rule, _interval("m", low, high)).verdict
    both = rule.holds(low) and rule.holds(high)
    neither = not rule.holds(low) and not rule.holds(high)
    assert verdict == (PASS if both else FAIL if neither else INCONCLUSIVE)
