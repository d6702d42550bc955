"""The score report in bounded memory: its sorted walk gives the exact AUC and KS of the reference
implementations, overall and per group (ties, point masses, one-label and empty groups, runs of
ties across a slice and longer than one); its bin edges are NumPy's, bit for bit; its Brier
scores and reliability tables are the direct ones; and beyond its inputs it holds a few bytes a
row, whatever the row count."""

import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sp

from governance.stats import scores
from governance.stats.scores import MAX_BINS, RELIABILITY_BINS, exact_auc, exact_ks, score_report


def report(s, y, g, names, *, slice_rows=None, **kwargs):
    kwargs = {"n_boot": 20, "min_group_count": 1} | kwargs
    with pytest.MonkeyPatch.context() as mp:
        if slice_rows is not None:
            mp.setattr(scores, "_SLICE_ROWS", slice_rows)
        return score_report(s, y, g, names, **kwargs)


def assert_figure(figure, expected, rel=1e-12):
    if math.isnan(expected):
        assert figure["estimate"] is None
    else:
        assert figure["estimate"] == pytest.approx(expected, rel=rel, abs=1e-15)


def direct_reliability(s, y):
    """The table in one bincount over all the rows given, binned as scikit-learn's ``calibration_curve`` does
    (a score on an edge in the bin below)."""
    edges = np.linspace(0, 1, RELIABILITY_BINS + 1)
    which = np.searchsorted(edges[1:-1], s, side="left")
    n = np.bincount(which, minlength=RELIABILITY_BINS)
    total = np.bincount(which, weights=s, minlength=RELIABILITY_BINS)
    k = np.bincount(which, weights=y, minlength=RELIABILITY_BINS)
    return [
        (float(edges[i]), int(n[i]), total[i] / n[i], k[i] / n[i]) for i in range(RELIABILITY_BINS) if n[i]
    ]


def assert_same_as_reference(rep, s, y, g, groups):
    probabilities = bool(s.min() >= 0 and s.max() <= 1)
    parts = [(rep["overall"], np.ones(s.size, dtype=bool))]
    parts += [(rep["groups"][k], g == k) for k in range(groups)]
    for figures, mask in parts:
        assert figures["n"] == mask.sum()
        assert_figure(figures["auc"], exact_auc(s[mask], y[mask]))
        assert_figure(figures["ks"], exact_ks(s[mask], y[mask]))
        if not probabilities:
            assert figures["brier"] is None and figures["reliability"] is None
            continue
        brier = np.mean((s[mask] - y[mask]) ** 2) if mask.any() else math.nan
        assert_figure(figures["brier"], brier, rel=1e-9)
        table = [(r["bin_low"], r["n"], r["mean_score"], r["observed_rate"]) for r in figures["reliability"]]
        expected = direct_reliability(s[mask], y[mask])
        assert [row[:2] for row in table] == [row[:2] for row in expected]
        got, want = np.array([row[2:] for row in table]), np.array([row[2:] for row in expected])
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


# --- 1. the walk against the reference implementations ---------------------------------------

values = st.one_of(
    st.sampled_from([0.0, 0.25, 0.5, 1.0]),  # probabilities, with ties at the ends
    st.integers(-3, 3).map(float),
    st.floats(-10, 10, allow_nan=False, allow_infinity=False),
)


@st.composite
def scored_rows(draw):
    n = draw(st.integers(1, 150))
    groups = draw(st.integers(1, 4))
    pool = draw(st.lists(values, min_size=1, max_size=6, unique=True))
    mass = draw(st.sampled_from([0.0, 0.5, 0.93, 1.0]))  # share of the rows on the pool's first value
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    s = np.where(rng.random(n) < mass, pool[0], rng.choice(np.array(pool), n))
    present = draw(st.integers(1, groups))  # codes above it never occur: empty groups
    g = rng.integers(0, present, n).astype(draw(st.sampled_from([np.int8, np.int16, np.int32])))
    y = (rng.random(n) < draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))).astype(np.int8)
    if draw(st.booleans()):
        y[g == 0] = draw(st.integers(0, 1))  # a group with one label only
    return s, y, g, groups


@settings(max_examples=300, deadline=None)
@given(rows=scored_rows(), slice_rows=st.integers(1, 7))
def test_sorted_walk_gives_the_reference_auc_ks_brier_and_reliability(rows, slice_rows):
    s, y, g, groups = rows
    rep = report(s, y, g, tuple(f"g{k}" for k in range(groups)), slice_rows=slice_rows)
    assert_same_as_reference(rep, s, y, g, groups)


@pytest.mark.parametrize("slice_rows", [1, 3, 64, 1 << 16])
def test_point_mass_longer_than_a_slice(slice_rows):
    """93 % of the scores exactly 100 (one run of ties over many slices) and a tail of
    continuous scores, in four groups; the figures agree with the reference and with SciPy."""
    rng = np.random.default_rng(7)
    n = 5000
    g = rng.integers(0, 4, n).astype(np.int8)
    y = (rng.random(n) < 0.3).astype(np.int8)
    s = np.where(rng.random(n) < 0.93, 100.0, np.round(rng.normal(size=n) * 10 + 60 * y, 2))
    rep = report(s, y, g, ("a", "b", "c", "d"), slice_rows=slice_rows)
    assert_same_as_reference(rep, s, y, g, 4)
    pos, neg = s[y == 1], s[y == 0]
    u = sp.mannwhitneyu(pos, neg).statistic / (pos.size * neg.size)
    assert rep["overall"]["auc"]["estimate"] == pytest.approx(u, rel=1e-12)
    assert rep["overall"]["ks"]["estimate"] == pytest.approx(sp.ks_2samp(pos, neg).statistic, rel=1e-12)


# --- 2. bin edges ----------------------------------------------------------------------------


def edges_of(s, y):
    order = scores._score_order(s)
    positives = int(y.sum())
    runs = scores._walk(s, y, order, positives, s.size - positives, keep=MAX_BINS)
    return scores._bin_edges(s, order, runs)


def numpy_edges(s):
    distinct = np.unique(s)
    if distinct.size <= MAX_BINS:
        return distinct, distinct.size
    edges = np.unique(np.quantile(s, np.arange(1, MAX_BINS) / MAX_BINS))
    return edges, edges.size + 1


SCORES = {
    "seven values": lambda rng, n: rng.integers(0, 7, n) / 6,
    "MAX_BINS values": lambda rng, n: rng.integers(0, MAX_BINS, n).astype(float),
    "one more: quantiles": lambda rng, n: rng.integers(0, MAX_BINS + 1, n).astype(float),
    "continuous": lambda rng, n: 1 / (1 + np.exp(-rng.normal(size=n))),
    "six decimals": lambda rng, n: np.round(rng.normal(size=n), 6),
    "point mass": lambda rng, n: np.where(rng.random(n) < 0.93, 100.0, rng.normal(size=n)),
}


@pytest.mark.parametrize("kind", SCORES)
@pytest.mark.parametrize(("n", "slice_rows"), [(101, 5), (1000, 7), (99_991, 997), (99_991, 1 << 16)])
def test_bin_edges_are_numpys(kind, n, slice_rows, monkeypatch):
    monkeypatch.setattr(scores, "_SLICE_ROWS", slice_rows)
    rng = np.random.default_rng(n)
    s = SCORES[kind](rng, n)
    y = (rng.random(n) < 0.4).astype(np.int8)
    edges, n_bins = edges_of(s, y)
    expected, expected_bins = numpy_edges(s)
    assert n_bins == expected_bins
    assert edges.tobytes() == expected.tobytes()  # bit for bit
    rep = report(s, y, np.zeros(n, dtype=np.int8), ("all",), slice_rows=slice_rows)
    assert rep["bins"] == expected_bins


@settings(max_examples=300, deadline=None)
@given(
    s=st.lists(st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False), min_size=1, max_size=400),
    q=st.lists(st.floats(0, 1), min_size=1, max_size=5),
)
def test_quantiles_are_numpys_bit_for_bit(s, q):
    s = np.array(s) + 0.0  # no negative zeros: their sign among equal scores follows the sort
    q = np.array(q)
    got = scores._quantiles(s, scores._score_order(s), q)
    assert got.tobytes() == np.quantile(s, q).tobytes()


# --- 3. memory -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["probabilities", "logits"])
def test_score_report_holds_a_few_bytes_a_row(kind):
    """Continuous scores, 4 groups, 2,000,000 rows: beyond the inputs (10 bytes a row), the
    report's peak is the sort's row numbers (8 bytes a row, then 4) and slice-sized temporaries.
    Ranking the whole column and copying it per group took about 65 bytes a row."""
    n = 2_000_000
    rng = np.random.default_rng(3)
    g = rng.integers(0, 4, n).astype(np.int8)
    y = (rng.random(n) < 0.3).astype(np.int8)
    z = rng.normal(size=n) + y
    s = 1 / (1 + np.exp(-z)) if kind == "probabilities" else z
    del z
    started = not tracemalloc.is_tracing()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        rep = score_report(s, y, g, ("a", "b", "c", "d"), n_boot=200)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        if started:
            tracemalloc.stop()
    assert rep["bins"] == MAX_BINS and rep["overall"]["auc"]["estimate"] > 0.7
    assert peak / n < 24, f"{peak / n:.1f} bytes a row"
