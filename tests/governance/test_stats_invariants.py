"""Invariants every statistics report holds, whatever the file: each interval reported contains its own
estimate, and the overall and per-group figures equal a computation over the rows written here without the
engine (the Brier interval once missed its estimate by three orders of magnitude on every scored file)."""

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from governance.stats import Predictions, fairness_report
from governance.stats.csvparse import Attribute


def intervals(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every dict in the report that carries an estimate and an interval, with where it is."""
    if isinstance(node, dict):
        if {"estimate", "ci_low", "ci_high"} <= node.keys():
            yield path, node
        for key, value in node.items():
            yield from intervals(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from intervals(value, f"{path}[{i}]")


@st.composite
def predictions(draw: st.DrawFn) -> Predictions:
    rows = draw(st.integers(1, 400))
    groups = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    # Rates drawn from the edges as often as from inside: 0 % and 100 % groups are where intervals broke.
    edge = st.sampled_from([0.0, 1.0, 0.02, 0.5, 0.98])
    sel = np.array([draw(edge) for _ in range(groups)])
    base = np.array([draw(edge) for _ in range(groups)])
    group = rng.integers(0, groups, rows).astype(np.int32)
    present = np.unique(group)
    group = np.searchsorted(present, group).astype(np.int32)
    sel, base = sel[present], base[present]
    labelled = draw(st.booleans())
    y_true = (rng.random(rows) < base[group]).astype(np.int8)
    y_pred = (rng.random(rows) < sel[group]).astype(np.int8)
    champion = (rng.random(rows) < 0.5).astype(np.int8) if draw(st.booleans()) else None
    score = None
    if labelled and draw(st.booleans()):
        score = np.clip(0.5 * y_true + rng.random(rows) * 0.6, 0, 1)
        if draw(st.booleans()):
            score = np.round(score, 1)  # ties, and few distinct values
    names = tuple(f"g{i}" for i in range(present.size))
    attributes: tuple[Attribute, ...] = ()
    if draw(st.booleans()):
        second = rng.integers(0, 2, rows).astype(np.int32)
        attributes = (Attribute("group", names, group), Attribute("sex", ("F", "M"), second))
    return Predictions(
        group_names=names,
        group=group,
        y_pred=y_pred,
        y_true=y_true if labelled else None,
        y_pred_champion=champion,
        score=score,
        attributes=attributes,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=predictions(), min_group_count=st.sampled_from([1, 10, 30]))
def test_every_interval_reported_contains_its_own_estimate(p, min_group_count):
    report = fairness_report(p, n_boot=200, min_group_count=min_group_count)
    checked = 0
    for where, figure in intervals(report):
        estimate, low, high = figure["estimate"], figure["ci_low"], figure["ci_high"]
        if estimate is None or low is None or high is None:
            continue
        checked += 1
        assert low <= estimate + 1e-12 and estimate <= high + 1e-12, (where, figure)
    assert checked
    for key, value in report["metrics"].items():
        if key.endswith(".ci_low"):
            base = key[: -len(".ci_low")]
            assert value <= report["metrics"][base] + 1e-12 <= report["metrics"][f"{base}.ci_high"] + 2e-12, key


def rate(hits: np.ndarray, of: np.ndarray) -> float | None:
    return float(hits[of].mean()) if of.any() else None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=predictions())
def test_overall_and_group_figures_equal_a_row_level_computation(p):
    report = fairness_report(p, n_boot=200, min_group_count=1)
    assert report["rows"] == p.rows
    for code, row in enumerate(report["groups"]):
        mine = p.group == code
        assert row["n"] == int(mine.sum())
        assert row["selection_rate"]["estimate"] == pytest.approx(rate(p.y_pred == 1, mine))
        if p.y_true is not None:
            tpr = rate(p.y_pred == 1, mine & (p.y_true == 1))
            fpr = rate(p.y_pred == 1, mine & (p.y_true == 0))
            assert row["tpr"]["estimate"] == (None if tpr is None else pytest.approx(tpr))
            assert row["fpr"]["estimate"] == (None if fpr is None else pytest.approx(fpr))
    ref = p.group_names.index(report["reference_group"])
    ref_rate = rate(p.y_pred == 1, p.group == ref)
    for code, row in enumerate(report["groups"]):
        if row["air"] is not None and row["air"]["estimate"] is not None:
            assert row["air"]["estimate"] == pytest.approx(rate(p.y_pred == 1, p.group == code) / ref_rate)
    scores = report["scores"]
    if scores is None:
        return
    y, s = p.y_true, p.score
    overall = scores["overall"]
    assert overall["n"] == p.rows
    assert overall["brier"]["estimate"] == pytest.approx(float(np.mean((s - y) ** 2)))
    if 0 < y.sum() < y.size:
        assert overall["auc"]["estimate"] == pytest.approx(roc_auc_score(y, s))
    for code, row in enumerate(scores["groups"]):
        mine = p.group == code
        assert row["brier"]["estimate"] == pytest.approx(float(np.mean((s[mine] - y[mine]) ** 2)))
        if 0 < y[mine].sum() < mine.sum():
            assert row["auc"]["estimate"] == pytest.approx(roc_auc_score(y[mine], s[mine]))
