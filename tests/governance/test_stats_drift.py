"""Feature drift: PSI against a baseline, null-rate and new-category checks."""

import json
import math

import numpy as np
import pytest

from governance.stats import (
    StatsInputError,
    drift_report,
    parse_feature_table,
    psi,
    psi_categorical,
    psi_numeric,
)
from governance.stats.drift import current_rows_needed, psi_noise


def feature(report, name):
    return next(f for f in report["features"] if f["feature"] == name)


# --- PSI by hand ------------------------------------------------------------------------------


def test_psi_of_two_four_bin_histograms_by_hand():
    # Proportions: expected [0.1, 0.2, 0.3, 0.4], actual [0.2, 0.2, 0.3, 0.3].
    # PSI = (0.2 - 0.1) ln(0.2 / 0.1) + 0 + 0 + (0.3 - 0.4) ln(0.3 / 0.4)
    #     = 0.1 * 0.693147 + (-0.1) * (-0.287682) = 0.069315 + 0.028768 = 0.098083
    assert psi([10, 20, 30, 40], [20, 20, 30, 30]) == pytest.approx(0.0980829, abs=1e-6)


def test_psi_floors_empty_bins_at_eps():
    # Expected [0.5, 0.5, 0] -> third bin floored to 1e-4; actual [0.5, 0.4, 0.1].
    # PSI = 0 + (0.4 - 0.5) ln(0.4 / 0.5) + (0.1 - 0.0001) ln(0.1 / 0.0001)
    #     = 0.022314 + 0.0999 * 6.907755 = 0.022314 + 0.690085 = 0.712399
    assert psi([50, 50, 0], [50, 40, 10]) == pytest.approx(0.712399, abs=1e-6)
    assert math.isfinite(psi([1, 0], [0, 1]))


def test_psi_refuses_mismatched_or_empty_histograms():
    with pytest.raises(StatsInputError):
        psi([1, 2], [1, 2, 3])
    with pytest.raises(StatsInputError):
        psi([0, 0], [1, 2])


def test_identical_samples_have_zero_psi():
    x = np.random.default_rng(0).normal(size=5000)
    assert psi_numeric(x, x.copy()) == pytest.approx(0.0, abs=1e-12)
    assert psi_categorical(["a", "b", "b", "c"], ["a", "b", "b", "c"]) == pytest.approx(0.0, abs=1e-12)


def test_fresh_sample_of_the_same_distribution_stays_low():
    rng = np.random.default_rng(1)
    assert psi_numeric(rng.normal(size=20_000), rng.normal(size=20_000)) < 0.01


def test_shifted_normal_exceeds_the_action_level():
    rng = np.random.default_rng(2)
    value = psi_numeric(rng.normal(size=20_000), rng.normal(loc=0.5, size=20_000))
    assert value > 0.2


def test_numeric_bins_are_baseline_deciles_and_collapse_for_few_values():
    # Baseline 0..99: deciles at 9.9, 19.8, ... -> ten bins of ten values each.
    baseline = np.arange(100.0)
    # All current values at or below the first decile: 100 % in bin 1 against 10 %.
    # PSI = (1 - 0.1) ln(1 / 0.1) + 9 * (0.0001 - 0.1) ln(0.0001 / 0.1)
    expected = 0.9 * math.log(10) + 9 * (0.0001 - 0.1) * math.log(0.0001 / 0.1)
    assert psi_numeric(baseline, np.zeros(50)) == pytest.approx(expected, rel=1e-9)
    # A 0/1 feature has a single distinct decile edge: two bins, no error.
    assert psi_numeric(np.array([0.0] * 90 + [1.0] * 10), np.array([0.0] * 50 + [1.0] * 50)) > 0.2


def test_psi_ignores_missing_values():
    base = np.array([1.0, 2.0, 3.0, 4.0] * 50)
    cur = np.concatenate([base, [np.nan] * 100])
    assert psi_numeric(base, cur) == pytest.approx(0.0, abs=1e-12)
    assert psi_categorical(["a", "b"] * 10, ["a", "b"] * 10 + [None] * 5) == pytest.approx(0.0, abs=1e-12)


# --- the report -------------------------------------------------------------------------------


def test_stable_features_are_ok():
    rng = np.random.default_rng(3)
    base = {"income": rng.lognormal(10, 0.5, 5000), "region": list(rng.choice(["n", "s", "e"], 5000))}
    cur = {"income": rng.lognormal(10, 0.5, 5000), "region": list(rng.choice(["n", "s", "e"], 5000))}
    report = drift_report(base, cur)
    assert report["status"] == "OK"
    assert [f["status"] for f in report["features"]] == ["OK", "OK"]
    assert report["metrics"]["psi.max"] < 0.1


def test_shifted_feature_is_flagged_act_with_metrics():
    rng = np.random.default_rng(4)
    report = drift_report({"score": rng.normal(size=10_000)}, {"score": rng.normal(0.5, 1, 10_000)})
    f = feature(report, "score")
    assert f["kind"] == "numeric" and f["status"] == "ACT" and f["psi"] > 0.2
    assert report["metrics"]["psi.score"] == f["psi"] == report["metrics"]["psi.max"]
    assert any("PSI" in r for r in f["reasons"])


def test_watch_band_between_the_two_levels():
    # Category shares 0.5/0.5 -> 0.62/0.38: PSI = 0.12 ln(1.24) + (-0.12) ln(0.76) = 0.0587 (OK);
    # 0.5/0.5 -> 0.66/0.34: PSI = 0.16 ln(1.32) - 0.16 ln(0.68) = 0.1061 (WATCH).
    # 1,000 rows a side: at 100 a side noise alone reaches PSI 0.13 once in a hundred samples,
    # so the minimum-sample rule would (rightly) call the feature INSUFFICIENT.
    base = ["x"] * 500 + ["y"] * 500
    assert feature(drift_report({"c": base}, {"c": ["x"] * 620 + ["y"] * 380}), "c")["status"] == "OK"
    f = feature(drift_report({"c": base}, {"c": ["x"] * 660 + ["y"] * 340}), "c")
    assert f["psi"] == pytest.approx(0.16 * math.log(1.32) - 0.16 * math.log(0.68))
    assert f["status"] == "WATCH"


def test_new_categories_are_listed_sorted_and_counted():
    base = {"channel": ["web", "branch", "phone"] * 100}
    cur = {"channel": ["web", "branch", "phone"] * 100 + ["partner_b", "partner_a"]}
    f = feature(drift_report(base, cur), "channel")
    assert f["kind"] == "categorical"
    assert f["new_categories"] == ["partner_a", "partner_b"] and f["new_categories_count"] == 2
    assert f["status"] == "WATCH"
    assert drift_report(base, cur)["metrics"]["new_categories.channel"] == 2


def test_many_new_categories_are_capped_at_20_listed():
    base = {"code": ["a"] * 100}
    cur = {"code": ["a"] * 100 + [f"new{i:02d}" for i in range(25)]}
    f = feature(drift_report(base, cur), "code")
    assert len(f["new_categories"]) == 20 and f["new_categories"][0] == "new00"
    assert f["new_categories_count"] == 25


def test_vendor_starting_to_send_blanks_is_caught_by_the_null_rate():
    """A vendor blanks 20 % of values at random: the present values look the same (PSI ~ 0),
    so only the change in missing values shows it."""
    rng = np.random.default_rng(5)
    base = rng.lognormal(10, 0.5, 10_000)
    cur = rng.lognormal(10, 0.5, 10_000)
    cur[rng.random(10_000) < 0.2] = np.nan
    f = feature(drift_report({"income": base}, {"income": cur}), "income")
    assert f["psi"] < 0.1
    assert f["baseline_null_rate"] == 0.0
    assert f["current_null_rate"] == pytest.approx(0.2, abs=0.02)
    assert f["null_rate_delta"] == pytest.approx(f["current_null_rate"])
    assert f["status"] == "ACT"
    assert any("missing values" in r for r in f["reasons"])


def test_null_rate_change_within_tolerance_is_ok_and_metric_is_absolute():
    base = {"x": [1.0, 2.0, 3.0, None] * 25}  # 25 % missing
    cur = {"x": [1.0, 2.0, 3.0, 4.0] * 24 + [None] * 4}  # 4 % missing: delta -0.21
    report = drift_report(base, cur, null_rate_tolerance=0.3)
    f = feature(report, "x")
    assert f["null_rate_delta"] == pytest.approx(-0.21)
    assert report["metrics"]["null_rate_delta.x"] == pytest.approx(0.21)
    assert not any("missing values" in r for r in f["reasons"])


def test_features_on_one_side_only_are_reported_not_dropped():
    report = drift_report({"old": [1.0, 2.0], "both": ["a", "b"]}, {"both": ["a", "b"], "new": ["z"]})
    assert [f["feature"] for f in report["features"]] == ["old", "both", "new"]
    old, new = feature(report, "old"), feature(report, "new")
    assert old["missing_in_current"] is True and old["status"] == "ACT" and old["psi"] is None
    assert new["missing_in_baseline"] is True and new["missing_in_current"] is False
    assert new["status"] == "WATCH" and new["baseline_null_rate"] is None
    assert report["status"] == "ACT"
    assert "psi.old" not in report["metrics"] and "psi.new" not in report["metrics"]


def test_numbers_turning_into_text_is_flagged():
    f = feature(drift_report({"age": np.array([30.0, 41.0, 52.0])}, {"age": ["30", "41", "unknown"]}), "age")
    assert f["kind"] == "categorical" and f["status"] == "ACT"
    assert any("type changed" in r for r in f["reasons"])
    assert f["new_categories"] == ["unknown"]


def test_report_is_json_without_nan_and_metric_keys_are_sanitised():
    base = {"Credit Score": np.array([600.0, 650.0, np.nan]), "Region": ["N", None, "S"]}
    cur = {"Credit Score": np.array([np.nan, np.nan, np.nan]), "Region": [None, None, None]}
    report = drift_report(base, cur)
    json.loads(json.dumps(report, allow_nan=False))
    f = feature(report, "Credit Score")
    assert f["psi"] is None and any("undefined" in r for r in f["reasons"])
    assert report["metrics"]["null_rate_delta.credit_score"] == pytest.approx(2 / 3)
    assert "null_rate_delta.region" in report["metrics"]
    assert all(isinstance(v, int | float) for v in report["metrics"].values())


def test_parsed_feature_tables_feed_the_report():
    base = parse_feature_table(b"income,region\n50000,north\n52000,south\n51000,north\n49000,south\n")
    cur = parse_feature_table(b"income,region\n,north\n,south\n51000,west\n,north\n")
    report = drift_report(base, cur)
    income, region = feature(report, "income"), feature(report, "region")
    assert income["kind"] == "numeric" and income["current_null_rate"] == 0.75 and income["status"] == "ACT"
    assert region["new_categories"] == ["west"]
    assert report["metrics"]["new_categories.max"] == 1


# --- point masses, missing-value tokens, minimum sample ---------------------------------------


def _flag(share_of_ones: float, n: int = 20_000) -> np.ndarray:
    ones = round(share_of_ones * n)
    return np.array([1.0] * ones + [0.0] * (n - ones))


def _two_bin_psi(p: float, q: float) -> float:
    return (q - p) * math.log(q / p) + ((1 - q) - (1 - p)) * math.log((1 - q) / (1 - p))


@pytest.mark.parametrize("before, after", [(0.95, 0.50), (0.95, 0.05), (0.50, 0.95)])
def test_a_shift_of_a_0_1_feature_is_seen(before, after):
    # Deciles of a 95 %-ones feature are all 1: one bin, PSI 0. A point mass gets its own bin.
    value = psi_numeric(_flag(before), _flag(after))
    assert value == pytest.approx(_two_bin_psi(before, after), rel=1e-3)
    assert value > 1.0


def test_a_shift_onto_a_capped_score_is_seen():
    rng = np.random.default_rng(2)
    n = 20_000
    base = np.where(rng.random(n) < 0.93, 100.0, rng.uniform(0, 100, n))
    cur = np.where(rng.random(n) < 0.60, 100.0, rng.uniform(0, 100, n))
    # Two bins carry it: at the cap (0.93 -> 0.60) and below (0.07 -> 0.40): about 0.72.
    assert psi_numeric(base, cur) == pytest.approx(0.72, abs=0.03)


def test_a_constant_that_changes_is_seen():
    assert psi_numeric(np.full(1000, 5.0), np.full(1000, 4.0)) > 5
    assert psi_numeric(np.full(1000, 5.0), np.full(1000, 5.0)) == 0.0


def test_continuous_features_still_use_deciles():
    rng = np.random.default_rng(3)
    base, cur = rng.normal(size=5000), rng.normal(size=5000) + 0.5
    edges = np.quantile(base, np.arange(1, 10) / 10)
    expected = np.bincount(np.searchsorted(edges, base), minlength=10)
    actual = np.bincount(np.searchsorted(edges, cur), minlength=10)
    assert psi_numeric(base, cur) == pytest.approx(psi(expected, actual))


def test_missing_value_tokens_leave_identical_distributions_stable():
    # 3 % of rows written as NA / null / None: the feature stays numeric, PSI ~ 0, no new categories.
    def table(seed):
        r = np.random.default_rng(seed)
        values = r.normal(50_000, 10_000, 5000).round(2).astype(str)
        values[r.random(5000) < 0.03] = r.choice(["NA", "null", "None"])
        return ("income\n" + "\n".join(values) + "\n").encode()

    report = drift_report(parse_feature_table(table(1)), parse_feature_table(table(2)))
    f = feature(report, "income")
    assert f["kind"] == "numeric" and f["status"] == "OK" and f["psi"] < 0.02
    assert f["new_categories_count"] is None


def test_psi_on_a_small_current_sample_is_insufficient_not_act():
    # No drift, 50 current rows: before, 43 % of such samples were ACT.
    rng = np.random.default_rng(9)
    base = rng.normal(size=10_000)
    statuses = [
        feature(drift_report({"x": base}, {"x": rng.normal(size=50)}), "x")["status"] for _ in range(200)
    ]
    assert statuses.count("ACT") == 0
    assert statuses.count("INSUFFICIENT") == 200
    report = drift_report({"x": base}, {"x": rng.normal(size=50)})
    assert "psi.x" not in report["metrics"] and report["metrics"]["psi.insufficient"] == 1
    assert "current rows would do" in feature(report, "x")["reasons"][0]


def test_psi_false_alarm_rate_is_small_at_the_minimum_sample():
    # At the size the rule accepts, noise alone rarely reaches the watch level.
    rng = np.random.default_rng(10)
    base = rng.normal(size=20_000)
    n = current_rows_needed(10, base.size, 0.1)
    assert 150 < n < 400
    statuses = [feature(drift_report({"x": base}, {"x": rng.normal(size=n)}), "x")["status"] for _ in range(300)]
    assert statuses.count("INSUFFICIENT") == 0
    assert statuses.count("WATCH") + statuses.count("ACT") <= 9  # about 1 % expected


def test_noise_level_matches_scipy_chi_square():
    from scipy.stats import chi2

    for df in (1, 4, 9, 30):
        assert psi_noise(df + 1, 10**12, 1) == pytest.approx(chi2.ppf(0.99, df), rel=0.01)


def test_a_column_empty_in_both_files_is_insufficient_not_ok():
    nothing = np.full(500, np.nan)
    report = drift_report({"income": nothing, "age": np.arange(500.0)}, {"income": nothing, "age": np.arange(500.0)})
    f = feature(report, "income")
    assert f["status"] == "INSUFFICIENT" and f["psi"] is None
    assert any("baseline and current" in r for r in f["reasons"])
    assert feature(report, "age")["status"] == "OK" and report["status"] == "INSUFFICIENT"
