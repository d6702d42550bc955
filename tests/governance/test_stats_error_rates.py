"""False-negative rate, positive predictive value, false-discovery and false-omission rates per group, and
their between-group differences and the demographic-parity difference as rule metrics, held to the
definitions Fairlearn uses (``false_negative_rate``, ``precision_score``, ``demographic_parity_difference``,
``MetricFrame.difference(method="between_groups")``) computed row by row on generated data."""

import numpy as np
import pytest

from governance.stats import Predictions, fairness_report


def generated(seed: int) -> tuple[Predictions, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    names = ("a", "b", "c")
    g = rng.choice(3, size=6000, p=[0.5, 0.3, 0.2]).astype(np.int32)
    y = (rng.random(g.size) < np.array([0.3, 0.4, 0.5])[g]).astype(np.int8)
    y_pred = (rng.random(g.size) < np.where(y == 1, np.array([0.7, 0.6, 0.5])[g], np.array([0.2, 0.25, 0.1])[g])).astype(np.int8)
    return Predictions(names, g, y_pred, y_true=y), {"g": g, "y": y, "p": y_pred}


def by_rows(rows: dict[str, np.ndarray], group: int) -> dict[str, float]:
    at = rows["g"] == group
    y, p = rows["y"][at], rows["p"][at]
    tp, fp = np.sum((y == 1) & (p == 1)), np.sum((y == 0) & (p == 1))
    fn, tn = np.sum((y == 1) & (p == 0)), np.sum((y == 0) & (p == 0))
    return {"sel": p.mean(), "fnr": fn / (fn + tp), "ppv": tp / (tp + fp), "fdr": fp / (tp + fp), "for": fn / (fn + tn)}


@pytest.mark.parametrize("seed", [1, 2])
def test_error_rates_and_their_differences_match_row_level_definitions(seed):
    p, rows = generated(seed)
    report = fairness_report(p, n_boot=1000)
    metrics = report["metrics"]
    truth = {name: by_rows(rows, g) for g, name in enumerate(p.group_names)}
    for group in report["groups"]:
        want = truth[group["group"]]
        for name in ("fnr", "ppv", "fdr", "for"):
            figure = group[name]
            assert figure["estimate"] == pytest.approx(want[name], abs=1e-12)
            assert metrics[f"{name}.{group['group']}"] == pytest.approx(want[name], abs=1e-12)
            assert figure["ci_low"] <= figure["estimate"] <= figure["ci_high"]
    for key, name in (("demographic_parity_difference", "sel"), ("fnr_difference", "fnr"),
                      ("ppv_difference", "ppv"), ("fdr_difference", "fdr"), ("for_difference", "for")):
        values = [truth[g][name] for g in truth]
        assert metrics[f"fairness.{key}"] == pytest.approx(max(values) - min(values), abs=1e-12)
    try:
        from fairlearn.metrics import demographic_parity_difference
    except ImportError:
        return  # the row-level definitions above are Fairlearn's
    assert metrics["fairness.demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(rows["y"], rows["p"], sensitive_features=rows["g"]), abs=1e-12
    )


def test_a_group_too_small_is_left_out_of_the_differences():
    p, rows = generated(3)
    small = np.concatenate([p.group, np.full(5, 3, dtype=np.int32)])
    y_pred = np.concatenate([p.y_pred, np.ones(5, dtype=np.int8)])
    y = np.concatenate([p.y_true, np.zeros(5, dtype=np.int8)])
    report = fairness_report(Predictions((*p.group_names, "d"), small, y_pred, y_true=y), n_boot=1000)
    sel = [g["selection_rate"]["estimate"] for g in report["groups"][:3]]
    assert report["metrics"]["fairness.demographic_parity_difference"] == pytest.approx(max(sel) - min(sel))
