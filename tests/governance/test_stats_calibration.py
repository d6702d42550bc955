"""Calibration per group: the reliability bins are scikit-learn's, the ECE is computed from them, and the worst
group's ECE is a rule metric with an interval; a file that cannot show it says what would."""

import numpy as np
import pytest
from sklearn.calibration import calibration_curve

from governance.stats import Predictions, fairness_report


def scored(n=12_000, offsets=(0.0, 0.05, -0.12), seed=3, decimals=1):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, len(offsets), n).astype(np.int32)
    p = np.round(rng.beta(2, 3, n), decimals)  # on the bin edges often: 0.1, 0.2, ...
    y = (rng.random(n) < np.clip(p + np.array(offsets)[g], 0, 1)).astype(np.int8)
    return Predictions(tuple("abcdefgh"[: len(offsets)]), g, (p > 0.5).astype(np.int8), y, score=p)


def reference_ece(y, p):
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    binned = np.searchsorted(np.linspace(0, 1, 11)[1:-1], p, side="left")
    counts = np.bincount(binned, minlength=10)
    counts = counts[counts > 0]
    return prob_true, prob_pred, float((counts * np.abs(prob_true - prob_pred)).sum() / counts.sum())


def test_reliability_bins_and_ece_match_scikit_learn_per_group_and_overall():
    data = scored()
    scores = fairness_report(data, n_boot=1000)["scores"]
    parts = [(scores["overall"], np.ones(data.rows, dtype=bool))]
    parts += [(scores["groups"][k], data.group == k) for k in range(3)]
    for figures, rows in parts:
        prob_true, prob_pred, ece = reference_ece(data.y_true[rows], data.score[rows])
        table = figures["reliability"]
        assert [r["observed_rate"] for r in table] == pytest.approx(prob_true.tolist(), abs=1e-12)
        assert [r["mean_score"] for r in table] == pytest.approx(prob_pred.tolist(), abs=1e-12)
        assert figures["ece"]["estimate"] == pytest.approx(ece, abs=1e-12)
        assert figures["ece"]["ci_low"] <= figures["ece"]["estimate"] <= figures["ece"]["ci_high"]


def test_the_worst_calibrated_group_is_the_rule_metric_with_a_family_wise_interval():
    report = fairness_report(scored(), n_boot=1000)
    check, metrics = report["calibration"], report["metrics"]
    assert check["assessed"] and check["group"] == "c" and check["comparisons"] == 3
    assert metrics["fairness.ece_max"] == check["estimate"] == report["scores"]["groups"][2]["ece"]["estimate"]
    assert metrics["fairness.ece_max.ci_low"] <= check["estimate"] <= metrics["fairness.ece_max.ci_high"]
    # Off by 0.12 against a well-calibrated group: the intervals tell them apart.
    a, c = report["scores"]["groups"][0]["ece"], report["scores"]["groups"][2]["ece"]
    assert a["ci_high"] < c["ci_low"] and check["ci_low"] > 0.05
    assert {"ece.a", "ece.c.ci_high", "ece"} <= metrics.keys()


def test_a_well_calibrated_groups_interval_reaches_down_to_near_zero():
    ece = fairness_report(scored(n=3000, offsets=(0.0,), decimals=3), n_boot=1000)["scores"]["groups"][0]["ece"]
    assert ece["ci_low"] < 0.02 and ece["ci_low"] <= ece["estimate"] <= ece["ci_high"]


@pytest.mark.parametrize(("score", "labels", "needs"), [
    (False, True, "a score column (probabilities between 0 and 1)"),
    (True, False, "a y_true column (the observed outcomes)"),
    (True, True, "scores between 0 and 1"),
])
def test_without_what_calibration_needs_it_is_inconclusive_and_says_what_would_settle_it(score, labels, needs):
    data = scored(n=400)
    report = fairness_report(Predictions(
        data.group_names, data.group, data.y_pred, data.y_true if labels else None,
        score=(data.score * 10 if labels else data.score) if score else None), n_boot=200)
    check = report["calibration"]
    assert not check["assessed"] and check["verdict"] == "INCONCLUSIVE" and check["settled_by"] == needs
    assert "fairness.ece_max" not in report["metrics"]
