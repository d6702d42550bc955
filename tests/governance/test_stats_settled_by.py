"""An INCONCLUSIVE check without a rows-needed figure says in words what would settle it."""

import numpy as np

from governance.stats import Predictions, fairness_report


def _labelled(sizes, negatives_only=(), positives_only=(), seed=0):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(len(sizes)), sizes).astype(np.int32)
    y_true = (rng.random(g.size) < 0.4).astype(np.int8)
    for k in negatives_only:
        y_true[g == k] = 0
    for k in positives_only:
        y_true[g == k] = 1
    y_pred = (rng.random(g.size) < 0.5).astype(np.int8)
    return Predictions(tuple("abcdefgh"[: len(sizes)]), g, y_pred, y_true)


def _check(report, key):
    return next(c for c in report["checks"] if c["key"] == key)


def test_a_group_without_positive_labels_needs_one_to_settle_equal_opportunity():
    report = fairness_report(_labelled([500, 400], negatives_only=[1]), n_boot=200)
    eod = _check(report, "fairness.eod")
    assert eod["verdict"] == "INCONCLUSIVE" and eod["n_required"] is None
    assert eod["settled_by"] == "at least one positive label (y_true = 1) in group b"
    assert "What would settle it: at least one positive label (y_true = 1) in group b." in eod["detail"]


def test_a_missing_negative_label_is_named_for_equalized_odds():
    eq = _check(fairness_report(_labelled([500, 400], positives_only=[1]), n_boot=200), "fairness.eqodds")
    assert eq["verdict"] in ("INCONCLUSIVE", "FAIL")
    if eq["verdict"] == "INCONCLUSIVE":
        assert eq["settled_by"] == "at least one negative label (y_true = 0) in group b"


def test_a_small_group_is_named_beside_the_missing_labels():
    eod = _check(fairness_report(_labelled([500, 400, 20], negatives_only=[1]), n_boot=200), "fairness.eod")
    assert eod["settled_by"] == "at least 30 rows in group c; at least one positive label (y_true = 1) in group b"


def test_a_reference_without_selections_needs_one():
    g = np.repeat([0, 1], [100, 100]).astype(np.int32)
    report = fairness_report(Predictions(("a", "b"), g, np.zeros(200, dtype=np.int8)), n_boot=200)
    air = _check(report, "fairness.air")
    assert air["verdict"] == "INCONCLUSIVE" and air["n_required"] is None
    assert air["settled_by"].startswith("at least one selection (y_pred = 1)")


def test_one_group_only_needs_a_second_group():
    g = np.zeros(100, dtype=np.int32)
    air = _check(fairness_report(Predictions(("a",), g, (np.arange(100) % 2).astype(np.int8)), n_boot=200),
                 "fairness.air")
    assert air["settled_by"] == "at least 30 rows in a second group"


def test_a_settled_or_sized_check_has_no_words():
    report = fairness_report(_labelled([4000, 4000]), n_boot=200)
    for check in report["checks"]:
        assert (check["settled_by"] is None) == (check["verdict"] != "INCONCLUSIVE" or check["n_required"] is not None)


def test_a_declared_attribute_missing_from_the_file_needs_its_column():
    report = fairness_report(_labelled([500, 400]), n_boot=200, declared_attributes=["group", "sex"])
    sex = next(a for a in report["declared_attributes"] if a["attribute"] == "sex")
    assert sex["verdict"] == "INCONCLUSIVE" and sex["settled_by"] == "a 'sex' column in the predictions file"
