"""Fairness report: rates, disparity checks and their bootstrap intervals.

Figures are checked against arithmetic done by hand and against computations written here
independently of the engine (a row-resampling bootstrap, simulations with a known truth).
"""

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance.stats import Predictions, StatsInputError, cell_counts, fairness_report


def from_cells(cells: dict[str, list[list[int]]], *, labels: bool = True) -> Predictions:
    """Predictions whose counts are cells[group][y_true][y_pred] (row order does not matter)."""
    names = tuple(sorted(cells))
    group, y_true, y_pred = [], [], []
    for code, name in enumerate(names):
        for t in (0, 1):
            for d in (0, 1):
                n = cells[name][t][d]
                group += [code] * n
                y_true += [t] * n
                y_pred += [d] * n
    return Predictions(
        group_names=names,
        group=np.array(group, dtype=np.int32),
        y_pred=np.array(y_pred, dtype=np.int8),
        y_true=np.array(y_true, dtype=np.int8) if labels else None,
    )


def from_selected(sizes: dict[str, tuple[int, int]]) -> Predictions:
    """Unlabelled predictions: sizes[group] = (rows, rows selected)."""
    return from_cells({g: [[n - s, s], [0, 0]] for g, (n, s) in sizes.items()}, labels=False)


def replicate(p: Predictions, times: int) -> Predictions:
    def tile(a):
        return None if a is None else np.tile(a, times)

    return Predictions(p.group_names, tile(p.group), tile(p.y_pred), tile(p.y_true), tile(p.y_pred_champion))


def check(report, key):
    return next(c for c in report["checks"] if c["key"] == key)


def group(report, name):
    return next(g for g in report["groups"] if g["group"] == name)


# --- figures worked out by hand ---------------------------------------------------------------

# Group A, 10 rows: positives (y_true=1) 6, of which 4 selected (TP 4, FN 2);
#                   negatives 4, of which 1 selected (FP 1, TN 3).
# Group B,  8 rows: positives 4, of which 1 selected (TP 1, FN 3);
#                   negatives 4, of which 1 selected (FP 1, TN 3).
HAND = {"A": [[3, 1], [2, 4]], "B": [[3, 1], [3, 1]]}


def test_cell_counts_are_group_by_label_by_decision():
    counts = cell_counts(from_cells(HAND))
    assert counts.shape == (2, 2, 2)
    assert counts.tolist() == [HAND["A"], HAND["B"]]
    unlabelled = cell_counts(from_cells(HAND, labels=False))
    assert unlabelled.shape == (2, 1, 2)
    # No labels: A has 3 + 2 = 5 rows not selected and 1 + 4 = 5 selected; B 6 and 2.
    assert unlabelled[:, 0, :].tolist() == [[5, 5], [6, 2]]


def test_cells_counted_slice_by_slice_match_a_count_of_every_row():
    # A file larger than one counting slice, with one-byte codes for 200 groups.
    from governance.stats.fairness import _COUNT_ROWS, count_cells

    rng = np.random.default_rng(9)
    rows = 2 * _COUNT_ROWS + 17
    group = rng.integers(0, 200, rows).astype(np.int16)
    y_true, y_pred = (rng.integers(0, 2, (2, rows))).astype(np.int8)
    expected = np.zeros((200, 2, 2), dtype=np.int64)
    np.add.at(expected, (group, y_true, y_pred), 1)
    assert np.array_equal(count_cells([(group, 200), (y_true, 2), (y_pred, 2)]), expected)


@settings(max_examples=200, deadline=None)
@given(
    shape=st.lists(st.integers(1, 6), min_size=1, max_size=4).filter(lambda s: math.prod(s) <= 256),
    rows=st.integers(1, 3_000),
    seed=st.integers(0, 2**32 - 1),
)
def test_cells_counted_two_rows_at_a_time_match_a_count_of_every_row(shape, rows, seed):
    # Up to 256 cells the codes are bytes, counted in pairs of rows; odd and even row counts alike.
    from governance.stats.fairness import count_cells

    rng = np.random.default_rng(seed)
    columns = [rng.integers(0, size, rows).astype(np.int8) for size in shape]
    expected = np.zeros(shape, dtype=np.int64)
    np.add.at(expected, tuple(columns), 1)
    assert np.array_equal(count_cells(list(zip(columns, shape, strict=True))), expected)


def test_a_large_byte_coded_count_matches_a_count_of_every_row():
    from governance.stats.fairness import _COUNT_ROWS, count_cells

    rng = np.random.default_rng(10)
    rows = 2 * _COUNT_ROWS + 17  # whole slices counted in pairs of rows, the odd last one row by row
    group, y_true, y_pred, champion = rng.integers(0, 30, rows).astype(np.int8), *rng.integers(0, 2, (3, rows)).astype(np.int8)
    expected = np.zeros((30, 2, 2, 2), dtype=np.int64)
    np.add.at(expected, (group, y_true, y_pred, champion), 1)
    assert np.array_equal(count_cells([(group, 30), (y_true, 2), (y_pred, 2), (champion, 2)]), expected)


def test_hand_computed_rates_and_disparities():
    report = fairness_report(from_cells(HAND), min_group_count=5, n_boot=500)
    a, b = group(report, "A"), group(report, "B")
    # Selection rate: A (4 + 1) / 10 = 0.5; B (1 + 1) / 8 = 0.25.
    assert a["selection_rate"]["estimate"] == pytest.approx(0.5)
    assert b["selection_rate"]["estimate"] == pytest.approx(0.25)
    # A has the higher selection rate, so it is the reference group.
    assert report["reference_group"] == "A"
    assert a["air"] is None
    # AIR of B = 0.25 / 0.5 = 0.5.
    assert b["air"]["estimate"] == pytest.approx(0.5)
    # TPR: A 4 / 6 = 0.6667, B 1 / 4 = 0.25. FPR: A 1 / 4 = 0.25, B 1 / 4 = 0.25.
    assert a["tpr"]["estimate"] == pytest.approx(4 / 6)
    assert b["tpr"]["estimate"] == pytest.approx(0.25)
    assert a["fpr"]["estimate"] == pytest.approx(0.25)
    assert b["fpr"]["estimate"] == pytest.approx(0.25)
    # EOD = |0.25 - 0.6667| = 0.4167; equalized odds = max(0.4167, |0.25 - 0.25|) = 0.4167.
    assert check(report, "fairness.eod")["estimate"] == pytest.approx(5 / 12)
    assert check(report, "fairness.eqodds")["estimate"] == pytest.approx(5 / 12)
    assert check(report, "fairness.air")["estimate"] == pytest.approx(0.5)
    assert check(report, "fairness.air")["group"] == "B"


def test_flat_metrics_carry_the_figures_under_stable_keys():
    report = fairness_report(from_cells(HAND), min_group_count=5, n_boot=500)
    m = report["metrics"]
    assert m["rows"] == 18 and m["groups.insufficient"] == 0
    assert m["fairness.selection_rate.a"] == pytest.approx(0.5)
    assert m["fairness.selection_rate.b"] == pytest.approx(0.25)
    assert m["tpr.a"] == pytest.approx(4 / 6) and m["fpr.b"] == pytest.approx(0.25)
    assert m["fairness.air"] == pytest.approx(0.5)
    for key in ("fairness.air", "fairness.eod", "fairness.eqodds"):
        assert m[f"{key}.ci_low"] <= m[f"{key}.ci_high"]
    assert all(isinstance(v, int | float) for v in m.values())


def test_group_names_in_metric_keys_are_lower_case_with_underscores():
    p = from_selected({"Age 40+": (100, 50), "Under-40": (100, 45)})
    m = fairness_report(p, n_boot=200)["metrics"]
    assert "fairness.selection_rate.age_40_" in m
    assert "fairness.selection_rate.under_40" in m


def test_report_without_labels_has_only_the_air_check():
    report = fairness_report(from_selected({"x": (100, 50), "y": (100, 45)}), n_boot=200)
    assert report["labels"] is False
    assert [c["key"] for c in report["checks"]] == ["fairness.air"]
    assert all(g["tpr"] is None and g["fpr"] is None for g in report["groups"])
    assert "fairness.eod" not in report["metrics"] and "tpr.x" not in report["metrics"]


# --- intervals against independent computations ---------------------------------------------


def test_intervals_agree_with_a_row_resampling_bootstrap():
    """The cell bootstrap must give the same intervals as resampling rows (up to Monte Carlo noise)."""
    rng = np.random.default_rng(7)
    n = 400
    group_of = rng.choice(3, size=n, p=[0.4, 0.35, 0.25])
    y_true = (rng.random(n) < 0.5).astype(np.int8)
    y_pred = (rng.random(n) < np.array([0.55, 0.40, 0.45])[group_of] + 0.1 * y_true).astype(np.int8)
    p = Predictions(("g0", "g1", "g2"), group_of.astype(np.int32), y_pred, y_true)
    b = 4000
    report = fairness_report(p, n_boot=b, reference_group="g0")

    # Naive bootstrap: draw n row indices with replacement, recompute every figure from the rows.
    idx = rng.integers(0, n, size=(b, n))
    g, t, d = group_of[idx], y_true[idx], y_pred[idx]
    sel, tpr = {}, {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for k in range(3):
            in_group = g == k
            sel[k] = (d * in_group).sum(1) / in_group.sum(1)
            tpr[k] = (d * in_group * t).sum(1) / (in_group * t).sum(1)
    for k in range(3):
        name = f"g{k}"
        lo, hi = np.nanpercentile(sel[k], [2.5, 97.5])
        assert group(report, name)["selection_rate"]["ci_low"] == pytest.approx(lo, abs=0.02)
        assert group(report, name)["selection_rate"]["ci_high"] == pytest.approx(hi, abs=0.02)
        lo, hi = np.nanpercentile(tpr[k], [2.5, 97.5])
        assert group(report, name)["tpr"]["ci_low"] == pytest.approx(lo, abs=0.025)
        assert group(report, name)["tpr"]["ci_high"] == pytest.approx(hi, abs=0.025)
    air_level = report["family_wise"]["interval_confidence"]["air"]  # Šidák-adjusted over the comparisons
    air_tail = (1 - air_level) / 2 * 100
    for k in (1, 2):
        lo, hi = np.nanpercentile(sel[k] / sel[0], [air_tail, 100 - air_tail])
        assert group(report, f"g{k}")["air"]["ci_low"] == pytest.approx(lo, abs=0.03)
        assert group(report, f"g{k}")["air"]["ci_high"] == pytest.approx(hi, abs=0.03)
        eod = np.abs(tpr[k] - tpr[0])
        lo, hi = np.nanpercentile(eod, [2.5, 97.5])
        assert report["metrics"]["fairness.eod.ci_high"] >= hi - 0.03


def test_air_interval_covers_the_true_ratio_about_95_percent_of_the_time():
    """200 simulated datasets with selection probabilities 0.5 and 0.4: the true AIR is 0.8."""
    rng = np.random.default_rng(11)
    covered = 0
    trials = 200
    for i in range(trials):
        n = 600
        grp = rng.integers(0, 2, size=n).astype(np.int32)
        y_pred = (rng.random(n) < np.where(grp == 0, 0.5, 0.4)).astype(np.int8)
        report = fairness_report(
            Predictions(("ref", "other"), grp, y_pred), reference_group="ref", n_boot=1000, seed=i
        )
        air = group(report, "other")["air"]
        covered += air["ci_low"] <= 0.8 <= air["ci_high"]
    assert 0.90 <= covered / trials <= 0.99


# --- verdicts ---------------------------------------------------------------------------------


def test_clear_pass():
    # AIR = 0.475 / 0.5 = 0.95 on 5,000 rows per group: far above 0.8 with a narrow interval.
    c = check(
        fairness_report(from_selected({"a": (5000, 2500), "b": (5000, 2375)}), n_boot=2000), "fairness.air"
    )
    assert c["verdict"] == "PASS" and c["ci_low"] >= 0.8
    assert c["n_required"] is None
    assert "at or above" in c["detail"]


def test_clear_fail():
    # AIR = 0.3 / 0.5 = 0.6.
    c = check(
        fairness_report(from_selected({"a": (5000, 2500), "b": (5000, 1500)}), n_boot=2000), "fairness.air"
    )
    assert c["verdict"] == "FAIL" and c["ci_high"] < 0.8
    assert c["n_required"] is None


@pytest.mark.parametrize(
    "sizes, settles_to",
    [
        ({"a": (200, 100), "b": (200, 84)}, "PASS"),  # AIR 0.84: leaning pass
        ({"a": (200, 100), "b": (200, 76)}, "FAIL"),  # AIR 0.76: leaning fail
        ({"a": (300, 150), "b": (100, 42), "c": (150, 66)}, "PASS"),  # AIR 0.84 and 0.88
    ],
)
def test_inconclusive_names_the_rows_that_would_settle_it(sizes, settles_to):
    p = from_selected(sizes)
    c = check(fairness_report(p, n_boot=2000), "fairness.air")
    assert c["verdict"] == "INCONCLUSIVE"
    assert c["ci_low"] < 0.8 <= c["ci_high"]
    assert c["n_required"] > p.rows
    assert f"{c['n_required']:,} rows" in c["detail"]
    # Same proportions, n_required rows: the verdict is settled, on the side of the estimate.
    again = fairness_report(replicate(p, math.ceil(c["n_required"] / p.rows)), n_boot=2000)
    assert check(again, "fairness.air")["verdict"] == settles_to


def test_inconclusive_equal_opportunity_difference_settles_with_more_rows():
    # TPR 0.5 (ref) vs 0.35 on 40 positives each: EOD 0.15 against a maximum of 0.1.
    p = from_cells({"a": [[40, 10], [20, 20]], "b": [[40, 10], [26, 14]]})
    c = check(fairness_report(p, n_boot=2000), "fairness.eod")
    assert c["verdict"] == "INCONCLUSIVE" and c["n_required"] > p.rows
    again = fairness_report(replicate(p, math.ceil(c["n_required"] / p.rows)), n_boot=2000)
    assert check(again, "fairness.eod")["verdict"] == "FAIL"


def test_estimate_on_the_threshold_cannot_be_settled_by_sample_size():
    c = check(fairness_report(from_selected({"a": (100, 50), "b": (100, 40)}), n_boot=1000), "fairness.air")
    assert c["estimate"] == pytest.approx(0.8)
    assert c["verdict"] == "INCONCLUSIVE" and c["n_required"] is None
    assert "cannot be settled by sample size alone" in c["detail"]
    assert (
        "fairness.air.n_required"
        not in fairness_report(from_selected({"a": (100, 50), "b": (100, 40)}), n_boot=1000)["metrics"]
    )


def test_n_required_is_in_the_metrics_only_when_inconclusive():
    inconclusive = fairness_report(from_selected({"a": (200, 100), "b": (200, 84)}), n_boot=1000)
    assert (
        inconclusive["metrics"]["fairness.air.n_required"]
        == check(inconclusive, "fairness.air")["n_required"]
    )
    clear = fairness_report(from_selected({"a": (5000, 2500), "b": (5000, 2375)}), n_boot=1000)
    assert "fairness.air.n_required" not in clear["metrics"]


def test_check_interval_is_decided_by_the_worst_group():
    # b: AIR 0.95 on many rows (PASS alone); c: AIR 0.6 on many rows (FAIL alone) -> FAIL, group c.
    report = fairness_report(
        from_selected({"a": (4000, 2000), "b": (4000, 1900), "c": (4000, 1200)}), n_boot=1000
    )
    c = check(report, "fairness.air")
    assert c["verdict"] == "FAIL" and c["group"] == "c"
    assert c["ci_low"] == pytest.approx(min(group(report, g)["air"]["ci_low"] for g in "bc"))
    assert c["ci_high"] == pytest.approx(min(group(report, g)["air"]["ci_high"] for g in "bc"))


# --- reference group and small groups ---------------------------------------------------------


def test_small_group_is_reported_as_insufficient_and_keeps_the_check_from_passing():
    # "tiny" selects nobody (AIR 0) but has only 10 rows: reported, not judged -- and, since it
    # is not judged, the check cannot PASS (it used to, which hid the group).
    report = fairness_report(from_selected({"a": (500, 250), "b": (500, 240), "tiny": (10, 0)}), n_boot=1000)
    tiny = group(report, "tiny")
    assert tiny["insufficient_data"] is True and tiny["n"] == 10
    assert tiny["air"] is None
    assert tiny["selection_rate"]["estimate"] == 0.0
    assert report["insufficient_groups"] == ["tiny"]
    assert report["metrics"]["groups.insufficient"] == 1
    assert report["metrics"]["fairness.selection_rate.tiny"] == 0.0
    c = check(report, "fairness.air")
    assert c["group"] == "b"
    assert c["verdict"] == "INCONCLUSIVE"
    assert c["n_required"] == math.ceil(1010 * 30 / 10)  # tiny reaches 30 rows at the same share
    assert c["unassessed_groups"][0]["group"] == "tiny" and "tiny" in c["detail"]


def test_default_reference_is_highest_selection_rate_among_sufficient_groups():
    # "small" selects everyone but is below min_group_count, so "b" (0.6) is the reference.
    report = fairness_report(from_selected({"a": (100, 50), "b": (100, 60), "small": (5, 5)}), n_boot=200)
    assert report["reference_group"] == "b"


def test_reference_group_can_be_chosen_and_must_exist_with_enough_rows():
    p = from_selected({"a": (100, 50), "b": (100, 60), "small": (5, 5)})
    assert fairness_report(p, reference_group="a", n_boot=200)["reference_group"] == "a"
    with pytest.raises(StatsInputError) as info:
        fairness_report(p, reference_group="nope", n_boot=200)
    assert info.value.field == "reference_group"
    with pytest.raises(StatsInputError) as info:
        fairness_report(p, reference_group="small", n_boot=200)
    assert info.value.field == "reference_group"


def test_only_one_sufficient_group_leaves_checks_inconclusive_with_a_reason():
    report = fairness_report(from_selected({"a": (100, 50), "b": (10, 2)}), n_boot=200)
    c = check(report, "fairness.air")
    assert c["verdict"] == "INCONCLUSIVE" and c["estimate"] is None and c["group"] is None
    assert "cannot be assessed" in c["detail"]
    assert "fairness.air" not in report["metrics"]


# --- robustness and reproducibility -----------------------------------------------------------


def test_same_seed_gives_identical_report_and_the_closed_form_checks_do_not_depend_on_it():
    p = from_cells({"a": [[30, 20], [10, 40]], "b": [[35, 15], [20, 30]]})
    first = fairness_report(p, n_boot=1000, seed=5)
    assert fairness_report(p, n_boot=1000, seed=5) == first
    assert json.dumps(fairness_report(p, n_boot=1000, seed=5)) == json.dumps(first)
    assert fairness_report(p, n_boot=1000, seed=6)["checks"] == first["checks"]


def test_a_group_with_no_selections_keeps_its_uncertainty_and_cannot_fail_with_certainty():
    # 0 of 30 selected against a 5,000-row reference at 5 % (true AIR 1.0): the bootstrap gave [0, 0] and FAIL.
    report = fairness_report(from_selected({"ref": (5000, 250), "small": (30, 0)}), n_boot=1000)
    small = group(report, "small")
    assert small["selection_rate"]["ci_low"] == 0 and small["selection_rate"]["ci_high"] > 0.1
    assert group(report, "small")["air"]["ci_high"] > 0.8
    assert check(report, "fairness.air")["verdict"] == "INCONCLUSIVE"


def test_a_group_at_the_same_low_rate_as_the_reference_rarely_fails():
    # Finding 1's simulation, small: 30 rows at 5 % against 5,000 at 5 % (true AIR 1.0); allowed <= 2.5 %.
    rng = np.random.default_rng(30)
    fails = 0
    for _ in range(400):
        sizes = {"ref": (5000, int(rng.binomial(5000, 0.05))), "small": (30, int(rng.binomial(30, 0.05)))}
        fails += check(fairness_report(from_selected(sizes), n_boot=100), "fairness.air")["verdict"] == "FAIL"
    assert fails / 400 <= 0.025


def test_resamples_with_zero_denominators_do_not_crash():
    # b has a single positive label, so most resamples draw no positive for b (TPR undefined);
    # the reference selects 1 row in 40, so some resamples select nobody there (AIR undefined).
    p = from_cells({"a": [[38, 0], [1, 1]], "b": [[39, 0], [0, 1]]})
    report = fairness_report(p, min_group_count=30, n_boot=1000)
    json.dumps(report, allow_nan=False)
    for c in report["checks"]:
        assert c["verdict"] in {"PASS", "FAIL", "INCONCLUSIVE"}
        if c["ci_low"] is not None:
            assert c["ci_low"] <= c["ci_high"]


def test_reference_selecting_nobody_makes_air_undefined_not_an_error():
    report = fairness_report(from_selected({"a": (100, 0), "b": (100, 0)}), n_boot=200)
    c = check(report, "fairness.air")
    assert c["verdict"] == "INCONCLUSIVE" and c["estimate"] is None
    assert "undefined" in c["detail"]
    json.dumps(report, allow_nan=False)


def test_group_without_positive_labels_has_undefined_tpr():
    report = fairness_report(from_cells({"a": [[30, 10], [10, 10]], "b": [[40, 20], [0, 0]]}), n_boot=200)
    assert group(report, "b")["tpr"] == {"estimate": None, "ci_low": None, "ci_high": None}
    assert "tpr.b" not in report["metrics"]


def test_bad_parameters_are_refused_with_their_name():
    p = from_selected({"a": (100, 50), "b": (100, 45)})
    for kwargs, field in [
        ({"n_boot": 5}, "n_boot"),
        ({"confidence": 1.5}, "confidence"),
        ({"air_floor": 0}, "air_floor"),
        ({"min_group_count": 0}, "min_group_count"),
    ]:
        with pytest.raises(StatsInputError) as info:
            fairness_report(p, **kwargs)
        assert info.value.field == field


# --- champion vs challenger -------------------------------------------------------------------


def with_champion(p: Predictions, champion: np.ndarray) -> Predictions:
    return Predictions(p.group_names, p.group, p.y_pred, p.y_true, champion.astype(np.int8))


def test_identical_models_show_no_change():
    p = from_selected({"a": (1000, 500), "b": (1000, 420)})
    report = fairness_report(with_champion(p, p.y_pred), n_boot=1000)
    change = report["champion"]["air_change"]
    assert change == {"estimate": 0.0, "ci_low": 0.0, "ci_high": 0.0}
    assert report["champion"]["verdict"] == "NO_REGRESSION"


def test_pairing_keeps_the_change_interval_narrow_when_models_mostly_agree():
    """The models disagree on 1 % of rows: each AIR is uncertain, their difference is not."""
    rng = np.random.default_rng(3)
    p = from_selected({"a": (1000, 500), "b": (1000, 420)})
    flip = rng.random(p.rows) < 0.01
    champion = np.where(flip, 1 - p.y_pred, p.y_pred)
    report = fairness_report(with_champion(p, champion), n_boot=2000)
    ch = report["champion"]
    change = ch["air_change"]
    assert change["ci_low"] <= 0 <= change["ci_high"]
    change_width = change["ci_high"] - change["ci_low"]
    air_width = ch["challenger_air"]["ci_high"] - ch["challenger_air"]["ci_low"]
    assert change_width < 0.06
    assert change_width < air_width / 3  # unpaired, the widths would add instead
    assert ch["verdict"] in {"NO_REGRESSION", "INCONCLUSIVE"}


def test_real_regression_is_reported():
    # Champion selects 50 % of both groups; the challenger drops group b to 35 %: AIR 1.0 -> 0.7.
    p = from_selected({"a": (2000, 1000), "b": (2000, 700)})
    champion = np.where(p.group == 1, (np.arange(p.rows) % 2 == 0), p.y_pred)
    report = fairness_report(with_champion(p, champion), n_boot=2000)
    ch = report["champion"]
    assert ch["champion_air"]["estimate"] == pytest.approx(1.0)
    assert ch["challenger_air"]["estimate"] == pytest.approx(0.7)
    assert ch["air_change"]["ci_high"] < 0
    assert ch["verdict"] == "REGRESSION"
    assert report["metrics"]["fairness.air_change"] == pytest.approx(-0.3)
    assert "regression" in ch["detail"].lower() or "less fair" in ch["detail"]


def test_champion_intervals_agree_with_a_paired_row_bootstrap():
    """The champion's decisions are drawn given the challenger's within each resample; the AIR figures and
    their change must match resampling whole rows (both decisions together), up to Monte Carlo noise."""
    rng = np.random.default_rng(21)
    n = 3000
    group_of = rng.choice(3, size=n, p=[0.45, 0.35, 0.2])
    y_true = (rng.random(n) < 0.4).astype(np.int8)
    old = (rng.random(n) < np.array([0.5, 0.45, 0.42])[group_of] + 0.2 * y_true).astype(np.int8)
    new = np.where(rng.random(n) < 0.8, old, (rng.random(n) < 0.35).astype(np.int8)).astype(np.int8)
    p = Predictions(("g0", "g1", "g2"), group_of.astype(np.int8), new, y_true, old)
    b = 4000
    report = fairness_report(p, n_boot=b, reference_group="g0")
    ch = report["champion"]
    tail = (1 - ch["interval_confidence"]) / 2 * 100

    idx = rng.integers(0, n, size=(b, n))
    g, d_new, d_old = group_of[idx], new[idx], old[idx]
    with np.errstate(invalid="ignore", divide="ignore"):
        rate_new = np.stack([(d_new * (g == k)).sum(1) / (g == k).sum(1) for k in range(3)])
        rate_old = np.stack([(d_old * (g == k)).sum(1) / (g == k).sum(1) for k in range(3)])
    for row in ch["groups"]:
        k = int(row["group"][1])
        air_new, air_old = rate_new[k] / rate_new[0], rate_old[k] / rate_old[0]
        for key, samples in (("air_change", air_new - air_old), ("challenger_air", air_new), ("champion_air", air_old)):
            lo, hi = np.nanpercentile(samples, [tail, 100 - tail])
            assert row[key]["ci_low"] == pytest.approx(lo, abs=0.015), (row["group"], key)
            assert row[key]["ci_high"] == pytest.approx(hi, abs=0.015), (row["group"], key)


def test_champion_column_does_not_change_the_challenger_figures():
    p = from_selected({"a": (300, 150), "b": (300, 130)})
    plain = fairness_report(p, n_boot=500)
    both = fairness_report(with_champion(p, 1 - p.y_pred), n_boot=500)
    assert plain["champion"] is None
    assert both["groups"] == plain["groups"] and both["checks"] == plain["checks"]


# --- properties over arbitrary small count tables ---------------------------------------------

cell_tables = st.lists(st.lists(st.integers(0, 25), min_size=4, max_size=4), min_size=1, max_size=4).filter(
    lambda t: sum(map(sum, t)) > 0
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=cell_tables, labels=st.booleans(), champion=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_any_count_table_gives_a_consistent_json_report(table, labels, champion, seed):
    cells = {f"g{i}": [[c[0], c[1]], [c[2], c[3]]] for i, c in enumerate(table)}
    p = from_cells(cells, labels=labels)
    if champion:
        p = with_champion(p, np.roll(p.y_pred, 1))
    report = fairness_report(p, min_group_count=5, n_boot=200, seed=seed)

    json.loads(json.dumps(report, allow_nan=False))  # only plain JSON types, no NaN
    assert len(report["groups"]) == len(table)  # every group reported
    assert sum(g["n"] for g in report["groups"]) == report["rows"] == p.rows
    assert {g["group"] for g in report["groups"] if g["insufficient_data"]} == set(
        report["insufficient_groups"]
    )
    for c in report["checks"]:
        if c["ci_low"] is None:
            assert c["verdict"] == "INCONCLUSIVE"
            continue
        assert c["ci_low"] <= c["ci_high"]
        lo, hi, t = c["ci_low"], c["ci_high"], c["threshold"]
        if c["comparator"] == ">=":
            expected = "PASS" if lo >= t else "FAIL" if hi < t else "INCONCLUSIVE"
        else:
            expected = "PASS" if hi <= t else "FAIL" if lo > t else "INCONCLUSIVE"
        if expected == "PASS" and c.get("unassessed_groups"):
            expected = "INCONCLUSIVE"  # a group too small to assess never lets a check pass
        assert c["verdict"] == expected
        assert (c["n_required"] is not None) <= (c["verdict"] == "INCONCLUSIVE")
    for g in report["groups"]:
        for name in ("selection_rate", "tpr", "fpr", "air"):
            if g[name] and g[name]["ci_low"] is not None:
                assert g[name]["ci_low"] <= g[name]["ci_high"]
    if champion:
        assert report["champion"]["verdict"] in {"REGRESSION", "NO_REGRESSION", "INCONCLUSIVE"}
    metrics = report["metrics"]
    assert all(isinstance(v, int | float) and math.isfinite(v) for v in metrics.values())
