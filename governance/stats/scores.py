"""What a model's scores say, before any threshold: discrimination and calibration per group.

- AUC: probability that a random positive scores above a random negative (ties count half);
- KS: the largest distance between the score distributions of positives and negatives;
- Brier score: mean of (score - label)^2, for scores that are probabilities (all in [0, 1]);
- reliability table: in ten equal-width score bins, the mean score against the observed rate (the bins of
  scikit-learn's ``calibration_curve(strategy="uniform")``: each closed on the right, the first from 0);
- ECE, expected calibration error: the rows' share in each of those bins times the distance between the
  bin's mean score and its observed rate, summed; 0 for perfect calibration. Per group it is the
  calibration check across groups (``fairness.ece_max``, the worst group's).

Point estimates are exact. The rows are sorted by score once, and the order is walked a slice of
rows at a time: each run of tied scores adds its positives times the negatives below it, plus
half its own negatives, to the Mann-Whitney count (kept as an integer), and ends a step of both
empirical distribution functions, where KS is measured; a run still open at the end of a slice
is carried into the next. Each group is walked the same way over the same order, regrouped so
that its rows are contiguous. The Brier scores and reliability tables come from counts and sums
taken a slice at a time. Memory beyond the input arrays is the order (eight bytes a row from the
sort, four once narrowed, below 2**31 rows), then the order and its regrouped copy: at most
twelve bytes a row, and temporaries the size of a slice.

Intervals come from the same cell bootstrap as the rest of the engine: scores are put in at
most ``MAX_BINS`` bins (every distinct value when there are few, quantiles of all scores
otherwise, read off the same order), rows are counted once into cells ``n[group, label, bin]``,
and each resample draws the cells multinomially. The binned statistic's resampled deviation
from its own estimate is added to the exact estimate (a shifted percentile interval), so
binning coarsens only the spread, never the figure. The Brier score's resamples reweigh each
cell's mean squared error by the resampled counts.

Threshold-free disparity: the AUC gap of each group behind the group with the highest AUC, with
an interval of the signed gap (Šidák-adjusted over all pairs of groups, not folded at zero); the
check figure is the largest gap.
"""

from __future__ import annotations

import math
from typing import Any, SupportsFloat

import numpy as np

from .csvparse import unique_metric_keys
from .intervals import (
    MIN_TAIL_RESAMPLES,
    _abs_interval,
    choose_resamples,
    interpolate,
    normal_interval,
    order_statistics,
    sidak,
    tail_resamples,
)
from .parallel import group_sizes, multinomials

__all__ = ["score_report"]

MAX_BINS = 100
RELIABILITY_BINS = 10
_MAX_BOOT = 2000  # resamples for score figures: (B x groups x 2 x bins) cells per block
_BLOCK_ELEMENTS = 4_000_000
_SLICE_ROWS = 1 << 16  # rows walked or counted at a time: a few MB of temporaries whatever the file


def _num(x: SupportsFloat | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _interval(
    est: SupportsFloat | None, low: SupportsFloat | None, high: SupportsFloat | None
) -> dict[str, Any]:
    return {"estimate": _num(est), "ci_low": _num(low), "ci_high": _num(high)}


def exact_auc(score: np.ndarray, y: np.ndarray) -> float:
    """Mann-Whitney AUC with average ranks for ties; NaN without both labels.

    The reference the report's sorted walk (``_TieRuns``) is tested against; it makes several
    temporaries the size of the column, so the report does not use it."""
    pos = int(y.sum())
    neg = y.size - pos
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    s = score[order]
    ranks = np.empty(s.size)
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    ends = np.r_[starts[1:], s.size]
    avg = (starts + ends + 1) / 2.0  # 1-based average rank of each run of ties
    ranks[order] = np.repeat(avg, ends - starts)
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def exact_ks(score: np.ndarray, y: np.ndarray) -> float:
    """Two-sample KS statistic of positives against negatives; NaN without both labels.

    Like ``exact_auc``, the reference for tests, not used by the report."""
    pos, neg = np.sort(score[y == 1]), np.sort(score[y == 0])
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    points = np.unique(score)
    f1 = np.searchsorted(pos, points, side="right") / pos.size
    f0 = np.searchsorted(neg, points, side="right") / neg.size
    return float(np.abs(f1 - f0).max())


class _TieRuns:
    """Exact AUC and KS of scores fed in ascending order, a slice at a time.

    Rows with equal scores form a run. A run with ``p`` positives and ``n`` negatives, above
    ``below`` negatives, adds ``p * (2 * below + n)`` to twice the Mann-Whitney count (ties count
    half; an integer, so exact) and ends a step of both distribution functions, where the KS
    distance is measured. The last run of a slice stays open: the next slice may continue it,
    however long it is. The first ``keep`` + 1 distinct values are kept."""

    def __init__(self, positives: int, negatives: int, keep: int = 0) -> None:
        self.positives, self.negatives, self.keep = positives, negatives, keep
        self.values: list[float] = []
        self.distinct = 0
        self._twice_u = 0
        self._ks = 0.0
        self._pos_below = self._neg_below = 0
        self._open: tuple[float, int, int] | None = None  # value, positives, negatives

    def feed(self, score: np.ndarray, label: np.ndarray) -> None:
        rows = score.size
        if not rows:
            return
        pos_upto = np.cumsum(label, dtype=np.int64)  # positives up to each row of the slice
        new = np.empty(rows, dtype=bool)
        new[0] = self._open is None or bool(score[0] != self._open[0])
        np.not_equal(score[1:], score[:-1], out=new[1:])
        starts = np.flatnonzero(new)
        head = int(starts[0]) if starts.size else rows  # rows that continue the open run
        if head:
            assert self._open is not None
            value, p, n = self._open
            head_pos = int(pos_upto[head - 1])
            self._open = (value, p + head_pos, n + head - head_pos)
        if not starts.size:
            return
        if self._open is not None:
            value, p, n = self._open
            self._close(np.array([p]), np.array([n]), np.array([value]))
        ends = np.empty_like(starts)
        ends[:-1], ends[-1] = starts[1:], rows
        pos = np.diff(pos_upto[ends - 1], prepend=pos_upto[head - 1] if head else 0)
        neg = (ends - starts) - pos
        self._close(pos[:-1], neg[:-1], score[starts[:-1]])
        self._open = (float(score[starts[-1]]), int(pos[-1]), int(neg[-1]))

    def _close(self, pos: np.ndarray, neg: np.ndarray, values: np.ndarray) -> None:
        """Ends runs (in score order) with these positives, negatives and scores."""
        if not pos.size:
            return
        neg_upto = np.cumsum(neg)
        neg_upto += self._neg_below
        pos_upto = np.cumsum(pos)
        pos_upto += self._pos_below
        self._twice_u += int((pos * (2 * neg_upto - neg)).sum())  # at most 2 P N: fits int64 below 2**31 rows
        if self.positives and self.negatives:
            gaps = np.abs(pos_upto / self.positives - neg_upto / self.negatives)
            self._ks = max(self._ks, float(gaps.max()))
        self._pos_below, self._neg_below = int(pos_upto[-1]), int(neg_upto[-1])
        if len(self.values) <= self.keep:
            self.values.extend(values[: self.keep + 1 - len(self.values)].tolist())
        self.distinct += pos.size

    def close(self) -> _TieRuns:
        if self._open is not None:
            value, p, n = self._open
            self._close(np.array([p]), np.array([n]), np.array([value]))
            self._open = None
        return self

    @property
    def auc(self) -> float:
        if not (self.positives and self.negatives):
            return float("nan")
        return self._twice_u / (2 * self.positives * self.negatives)

    @property
    def ks(self) -> float:
        return self._ks if self.positives and self.negatives else float("nan")


def _walk(
    score: np.ndarray, y: np.ndarray, rows: np.ndarray, positives: int, negatives: int, keep: int = 0
) -> _TieRuns:
    """The tie runs of ``score[rows]`` (``rows`` in ascending score order), a slice at a time."""
    runs = _TieRuns(positives, negatives, keep)
    for start in range(0, rows.size, _SLICE_ROWS):
        part = rows[start : start + _SLICE_ROWS]
        runs.feed(score[part], y[part])
    return runs.close()


def _score_order(score: np.ndarray) -> np.ndarray:
    """Row numbers in ascending score order, four bytes each when they fit. Ties may come in any
    order: no figure depends on it (the unstable sort needs no buffer)."""
    order = np.argsort(score)
    return order.astype(np.int32) if score.size <= np.iinfo(np.int32).max else order


def _quantiles(score: np.ndarray, order: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``np.quantile(score, q)`` with its default (linear) method, bit for bit, read off the ascending
    ``order``."""
    low, high, gamma = order_statistics(np.asarray(order.size), q)
    return interpolate(score[order[low]], score[order[high]], gamma)


def _bin_edges(score: np.ndarray, order: np.ndarray, runs: _TieRuns) -> tuple[np.ndarray, int]:
    """Edges of the score bins (searched on the left) and the number of bins: every distinct
    value when there are at most ``MAX_BINS`` (``np.unique(score)``), else the distinct
    percentiles 1 to 99 (``np.unique(np.quantile(score, ...))``)."""
    if runs.distinct <= MAX_BINS:
        return np.array(runs.values[: runs.distinct], dtype=np.float64), runs.distinct
    edges = np.unique(_quantiles(score, order, np.arange(1, MAX_BINS) / MAX_BINS))
    return edges, edges.size + 1


def _by_group(order: np.ndarray, group: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """``order`` rearranged so that each group's rows are contiguous (groups in code order), in
    score order within each: a counting sort by group, a slice at a time."""
    out = np.empty_like(order)
    free = np.cumsum(sizes) - sizes  # next free place of each group
    for start in range(0, order.size, _SLICE_ROWS):
        rows = order[start : start + _SLICE_ROWS]
        codes = group[rows]
        by = np.argsort(codes, kind="stable")
        codes = codes[by]
        count = np.bincount(codes.astype(np.intp, copy=False), minlength=sizes.size)
        shift = free - (np.cumsum(count) - count)
        out[shift[codes] + np.arange(codes.size)] = rows[by]
        free += count
    return out


def _count(
    score: np.ndarray,
    y: np.ndarray,
    group: np.ndarray,
    groups: int,
    edges: np.ndarray,
    n_bins: int,
    probabilities: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Cells n[group, label, bin] and their summed squared errors, and (for probabilities) the
    reliability cells [(rows, summed scores), group, label, reliability bin], a slice of rows at a time so
    that the int64 and float64 temporaries stay small whatever the file."""
    size = groups * 2 * n_bins
    cells: np.ndarray = np.zeros(size, dtype=np.int64)
    sq: np.ndarray = np.zeros(size)
    rel_size = groups * 2 * RELIABILITY_BINS
    reliability: np.ndarray | None = np.zeros((2, rel_size)) if probabilities else None
    # Inner edges searched on the left: a score on an edge falls in the bin below, as in scikit-learn.
    rel_edges = np.linspace(0, 1, RELIABILITY_BINS + 1)[1:-1]
    for start in range(0, score.size, _SLICE_ROWS):
        part = slice(start, start + _SLICE_ROWS)
        s, t, codes = score[part], y[part], group[part].astype(np.int64)
        flat = (codes * 2 + t) * n_bins + np.searchsorted(edges, s, side="left")
        cells += np.bincount(flat, minlength=size)
        sq += np.bincount(flat, weights=(s - t) ** 2, minlength=size)
        if reliability is not None:
            key = (codes * 2 + t) * RELIABILITY_BINS + np.searchsorted(rel_edges, s, side="left")
            reliability[0] += np.bincount(key, minlength=rel_size)
            reliability[1] += np.bincount(key, weights=s, minlength=rel_size)
    if reliability is not None:
        reliability = reliability.reshape(2, groups, 2, RELIABILITY_BINS)
    return cells.reshape(groups, 2, n_bins), sq.reshape(groups, 2, n_bins), reliability


def _binned(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUC and KS of (..., 2, bins) label-by-bin counts (bins in score order)."""
    neg, pos = cells[..., 0, :].astype(float), cells[..., 1, :].astype(float)
    n_neg, n_pos = neg.sum(-1), pos.sum(-1)
    below = np.cumsum(neg, axis=-1) - neg
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (pos * (below + 0.5 * neg)).sum(-1) / (n_pos * n_neg)
        ks = np.abs(np.cumsum(pos, -1) / n_pos[..., None] - np.cumsum(neg, -1) / n_neg[..., None]).max(-1)
    ok = (n_pos > 0) & (n_neg > 0)
    return np.where(ok, auc, np.nan), np.where(ok, ks, np.nan)


def _shifted(
    samples: np.ndarray, binned_est: float | np.ndarray, exact_est: float, confidence: float
) -> tuple[SupportsFloat | None, SupportsFloat | None]:
    """Percentile interval of ``samples`` moved by (exact - binned) estimate; the normal interval about the
    exact estimate when a percentile end would rest on fewer than ``MIN_TAIL_RESAMPLES`` resamples."""
    samples = samples[np.isfinite(samples)]
    if samples.size < 2 or not (math.isfinite(binned_est) and math.isfinite(exact_est)):
        return None, None
    if tail_resamples(samples.size, confidence) < MIN_TAIL_RESAMPLES:
        lo, hi = normal_interval(samples[:, None], [exact_est], confidence)[:, 0]
        return lo, hi
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(samples, [tail, 100 - tail])
    return lo + exact_est - binned_est, hi + exact_est - binned_est


def _tail(resamples: int, confidence: float) -> int | None:
    """Resamples beyond each end of a percentile interval, None where the normal form is used instead."""
    tail = tail_resamples(resamples, confidence)
    return tail if tail >= MIN_TAIL_RESAMPLES else None


def _reliability(cells: np.ndarray) -> list[dict[str, Any]]:
    """The table from reliability cells [(rows, summed scores), label, bin] (one group's, or summed)."""
    n, s, k = cells[0].sum(0), cells[1].sum(0), cells[0, 1]
    edges = np.linspace(0, 1, RELIABILITY_BINS + 1)
    table = []
    for i in range(RELIABILITY_BINS):
        if n[i]:
            table.append(
                {
                    "bin_low": float(edges[i]),
                    "bin_high": float(edges[i + 1]),
                    "n": int(n[i]),
                    "mean_score": float(s[i] / n[i]),
                    "observed_rate": float(k[i] / n[i]),
                }
            )
    return table


def _ece(counts: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Expected calibration error of (..., label, bin) row counts whose scores average ``means`` (label, bin)
    in each cell: the bins' summed |rows x mean score - positives|, over the rows. NaN without rows."""
    scored = (counts * means).sum(-2)
    positives = counts[..., 1, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = np.abs(scored - positives).sum(-1) / counts.sum(axis=(-2, -1))
    return out


def _ece_interval(samples: np.ndarray, estimate: float, level: float) -> tuple[float | None, float | None]:
    """Interval of an ECE from its resamples: the percentile interval moved so that the resamples' median
    sits on the estimate, no lower than 0; the normal form about the estimate when a percentile end would rest
    on fewer than ``MIN_TAIL_RESAMPLES`` resamples.

    A resampled ECE sits above the file's (every bin's |gap| picks up the resample's noise, at 400 rows a
    well-calibrated group's resampled ECE was 0.045 against 0.030): the plain percentile interval could miss
    its own estimate. Moving it by the median's bias keeps its width and contains the estimate."""
    samples = samples[np.isfinite(samples)]
    if samples.size < 2 or not math.isfinite(estimate):
        return None, None
    if tail_resamples(samples.size, level) < MIN_TAIL_RESAMPLES:
        lo, hi = normal_interval(samples[:, None], [estimate], level)[:, 0]
    else:
        tail = (1 - level) / 2 * 100
        lo, hi = np.percentile(samples, [tail, 100 - tail]) + estimate - float(np.median(samples))
    return max(float(lo), 0.0), max(float(hi), estimate)


def score_report(
    score: np.ndarray,
    y_true: np.ndarray,
    group: np.ndarray,
    names: tuple[str, ...],
    *,
    min_group_count: int = 30,
    n_boot: int = 10_000,
    seed: int = 20240601,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """AUC, KS and (for probabilities) Brier score and reliability, overall and per group, with
    bootstrap intervals, and the AUC gap between groups (JSON-ready)."""

    score = np.asarray(score, dtype=np.float64)
    y = np.asarray(y_true)  # 0/1, kept in its own (one-byte) type: no per-row copies
    groups = len(names)
    n_rows = score.size
    probabilities = bool(n_rows and score.min() >= 0 and score.max() <= 1)
    # One sort for the overall exact figures and the bin edges; the cells, their squared errors and
    # the reliability sums counted a slice at a time; then each group's exact figures from the same
    # order regrouped by group. At most two arrays as long as the column live at once.
    order = _score_order(score)
    positives = int(np.count_nonzero(y))
    overall_runs = _walk(score, y, order, positives, n_rows - positives, keep=MAX_BINS)
    edges, n_bins = _bin_edges(score, order, overall_runs)
    cells, sq, reliability = _count(score, y, group, groups, edges, n_bins, probabilities)
    mse = np.divide(sq, cells, out=np.zeros_like(sq), where=cells > 0)

    labelled = cells.sum(axis=2)  # n[group, label]
    sizes = labelled.sum(axis=1)
    sufficient = sizes >= min_group_count
    with_both = sufficient & (labelled[:, 0] > 0) & (labelled[:, 1] > 0)

    regrouped = _by_group(order, group, sizes)
    del order
    first = np.cumsum(sizes) - sizes
    group_runs = [
        _walk(score, y, regrouped[first[g] : first[g] + sizes[g]], int(labelled[g, 1]), int(labelled[g, 0]))
        for g in range(groups)
    ]
    del regrouped

    # Exact figures (the Brier score: the cells' squared errors over their rows).
    def exact(runs: _TieRuns, sum_sq: float, n: int) -> dict[str, float]:
        brier = sum_sq / n if probabilities and n else float("nan")
        return {"auc": runs.auc, "ks": runs.ks, "brier": brier}

    overall_exact = exact(overall_runs, float(sq.sum()), n_rows)
    group_exact = [exact(group_runs[g], float(sq[g].sum()), int(sizes[g])) for g in range(groups)]

    # Bootstrap over cells: group sizes, then each group's (label, bin) cells.
    # Enough for the figures' level (``MIN_TAIL_RESAMPLES`` beyond each end), at most ``_MAX_BOOT``.
    b = choose_resamples(min(n_boot, _MAX_BOOT), confidence, _MAX_BOOT)
    # Streams of their own (keys starting [seed, 3]), each group's drawn on every core (see ``parallel``).
    drawn_sizes, within = group_sizes([seed, 3, 0], cells, b)
    total = np.zeros((b, 2 * n_bins))
    stats = {k: np.full((b, groups), np.nan) for k in ("auc", "ks", "brier")}
    block = max(1, _BLOCK_ELEMENTS // (b * 2 * n_bins))
    flat_mse = mse.reshape(groups, -1)
    for start in range(0, groups, block):
        idx = np.arange(start, min(groups, start + block))
        drawn = np.stack(  # (B, k, 2 * bins)
            multinomials([([seed, 3, 1, int(g)], drawn_sizes[:, g], within[g]) for g in idx]), axis=1
        )
        total += drawn.sum(axis=1)
        auc, ks = _binned(drawn.reshape(b, idx.size, 2, n_bins))
        stats["auc"][:, idx], stats["ks"][:, idx] = auc, ks
        with np.errstate(invalid="ignore", divide="ignore"):
            stats["brier"][:, idx] = (drawn * flat_mse[idx]).sum(-1) / drawn.sum(-1)
    ece = _calibration(reliability, drawn_sizes, sufficient, names, seed=seed, confidence=confidence)
    overall_auc, overall_ks = _binned(total.reshape(b, 2, n_bins))
    # Each pooled cell's mean squared error: the groups' summed squared errors over their summed rows (adding
    # the groups' means instead gave 0.0004 for a Brier score of 0.182).
    pooled_mse = sq.sum(0).reshape(-1) / np.maximum(cells.sum(0).reshape(-1), 1)
    overall_brier = (total * pooled_mse).sum(-1) / total.sum(-1)
    binned_auc, binned_ks = _binned(cells)
    binned_auc_all, binned_ks_all = _binned(cells.sum(0))
    binned_brier = (sq.sum(axis=(1, 2))) / np.maximum(sizes, 1)

    def figure(
        name: str, samples: np.ndarray, binned_est: float | np.ndarray, exact_est: float
    ) -> dict[str, Any] | None:
        if name == "brier" and not probabilities:
            return None
        lo, hi = _shifted(samples, binned_est, exact_est, confidence)
        return _interval(exact_est, lo, hi)

    overall = {
        "n": int(score.size),
        "auc": figure("auc", overall_auc, binned_auc_all, overall_exact["auc"]),
        "ks": figure("ks", overall_ks, binned_ks_all, overall_exact["ks"]),
        "brier": figure("brier", overall_brier, float(sq.sum() / max(score.size, 1)), overall_exact["brier"]),
        "reliability": None if reliability is None else _reliability(reliability.sum(1)),
        "ece": ece["overall"] if ece else None,
    }
    per_group = []
    for g in range(groups):
        e = group_exact[g]
        per_group.append(
            {
                "group": names[g],
                "n": int(sizes[g]),
                "insufficient_data": bool(not sufficient[g]),
                "auc": figure("auc", stats["auc"][:, g], binned_auc[g], e["auc"]),
                "ks": figure("ks", stats["ks"][:, g], binned_ks[g], e["ks"]),
                "brier": figure("brier", stats["brier"][:, g], binned_brier[g], e["brier"]),
                "reliability": None if reliability is None else _reliability(reliability[:, g]),
                "ece": ece["groups"][g] if ece else None,
            }
        )

    # AUC gap behind the best group, over groups with enough rows and both labels.
    gap: dict[str, Any] = {
        "estimate": None,
        "ci_low": None,
        "ci_high": None,
        "group": None,
        "reference_group": None,
    }
    usable = np.flatnonzero(with_both & np.isfinite([e["auc"] for e in group_exact]))
    pairs = max(usable.size * (usable.size - 1) // 2, 1)
    level = sidak(confidence, pairs)
    if usable.size >= 2:
        exact_aucs = np.array([group_exact[g]["auc"] for g in usable])
        best = usable[int(np.argmax(exact_aucs))]
        rows = []
        for g in usable.tolist():
            if g == best:
                continue
            diff = stats["auc"][:, best] - stats["auc"][:, g]
            lo, hi = _shifted(
                diff, binned_auc[best] - binned_auc[g], group_exact[best]["auc"] - group_exact[g]["auc"], level
            )
            lo, hi = _abs_interval(math.nan if lo is None else float(lo), math.nan if hi is None else float(hi))
            rows.append((names[g], group_exact[best]["auc"] - group_exact[g]["auc"], float(lo), float(hi)))
        worst = max(rows, key=lambda r: r[1])
        gap = _interval(worst[1], max(r[2] for r in rows), max(r[3] for r in rows)) | {
            "group": worst[0],
            "reference_group": names[best],
        }
    gap_tail = _tail(b, level)
    gap |= {
        "comparisons": pairs,
        "interval_confidence": level,
        "confidence": confidence,
        "interval_method": "percentile bootstrap" if gap_tail is not None else "normal bootstrap",
        "tail_resamples": gap_tail,
    }

    return {
        "method": "multinomial-cell-bootstrap over score bins (shifted percentile)",
        "n_boot": b,
        "tail_resamples": _tail(b, confidence),
        "resampling": _resampling_text(b, _tail(b, confidence), gap),
        "bins": int(n_bins),
        "probabilities": probabilities,
        "overall": overall,
        "groups": per_group,
        "auc_gap": gap,
        "calibration": ece["check"] if ece else None,
        "metrics": _metrics(overall, per_group, gap, ece["check"] if ece else None),
    }


def _calibration(
    reliability: np.ndarray | None,
    drawn_sizes: np.ndarray,
    sufficient: np.ndarray,
    names: tuple[str, ...],
    *,
    seed: int,
    confidence: float,
) -> dict[str, Any] | None:
    """ECE overall and per group with intervals, and the calibration check across groups (the worst group's
    ECE; its interval at the Šidák level over the groups with enough rows: the largest low end and the largest
    high end, as the engine's other "at most" checks). None unless the scores are probabilities.

    Resamples: each group's reliability cells (label, bin) drawn multinomially given the group's resampled size
    (the score bootstrap's own sizes, a stream of its own: keys [seed, 3, 2, group]), every cell's rows keeping
    their mean score, so each resample's ECE is the file's computed again on a row resample."""
    if reliability is None:
        return None
    counts, sums = reliability
    groups = counts.shape[0]
    means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    b = drawn_sizes.shape[0]
    flat = counts.reshape(groups, -1)
    within = flat / np.maximum(flat.sum(axis=1, keepdims=True), 1)
    within[flat.sum(axis=1) == 0, 0] = 1.0  # a group without rows: a valid distribution, never drawn from
    drawn = np.stack(
        multinomials([([seed, 3, 2, g], drawn_sizes[:, g], within[g]) for g in range(groups)]), axis=1
    ).reshape(b, groups, 2, RELIABILITY_BINS)
    group_samples = _ece(drawn, means)  # (B, G)
    pooled_counts = counts.sum(0)
    pooled_means = np.divide(sums.sum(0), pooled_counts, out=np.zeros(pooled_counts.shape), where=pooled_counts > 0)
    overall_samples = _ece(drawn.sum(axis=1), pooled_means)
    overall_est = float(_ece(pooled_counts, pooled_means))
    estimates = _ece(counts, means)

    def figure(samples: np.ndarray, estimate: float, level: float) -> dict[str, Any]:
        return _interval(estimate, *_ece_interval(samples, estimate, level))

    assessed = [g for g in range(groups) if sufficient[g] and math.isfinite(float(estimates[g]))]
    level = sidak(confidence, max(len(assessed), 1))
    check: dict[str, Any] = {"estimate": None, "ci_low": None, "ci_high": None, "group": None}
    if assessed:
        family = {g: figure(group_samples[:, g], float(estimates[g]), level) for g in assessed}
        worst = max(assessed, key=lambda g: float(estimates[g]))
        lows = [family[g]["ci_low"] for g in assessed if family[g]["ci_low"] is not None]
        highs = [family[g]["ci_high"] for g in assessed if family[g]["ci_high"] is not None]
        check = _interval(float(estimates[worst]), max(lows) if lows else None, max(highs) if highs else None)
        check["group"] = names[worst]
    tail = _tail(b, level)
    check |= {
        "comparisons": max(len(assessed), 1),
        "interval_confidence": level,
        "confidence": confidence,
        "interval_method": "percentile bootstrap, median-centred" if tail is not None else "normal bootstrap",
        "tail_resamples": tail,
        "bins": RELIABILITY_BINS,
        "unassessed_groups": [names[g] for g in range(groups) if g not in assessed],
    }
    return {
        "overall": figure(overall_samples, overall_est, confidence),
        "groups": [figure(group_samples[:, g], float(estimates[g]), confidence) for g in range(groups)],
        "check": check,
    }


def _resampling_text(resamples: int, tail: int | None, gap: dict[str, Any]) -> str:
    """What the score intervals' ends rest on, in words."""

    def ends(tail: int | None) -> str:
        if tail is not None:
            return f"each end rests on {tail:,} resamples beyond it"
        return f"normal form from the resamples' standard deviation (a percentile end would rest on fewer than {MIN_TAIL_RESAMPLES})"

    text = f"Score intervals from {resamples:,} resamples: {ends(tail)}"
    if gap["estimate"] is not None:
        text += f"; the AUC gap's, at {gap['interval_confidence']:.2%} each: {ends(gap['tail_resamples'])}"
    return text + "."


def _metrics(
    overall: dict[str, Any], per_group: list[dict[str, Any]], gap: dict[str, Any], calibration: dict[str, Any] | None
) -> dict[str, float]:
    out: dict[str, float] = {}

    def put(key: str, fig: dict[str, Any] | None) -> None:
        if fig is not None and fig["estimate"] is not None:
            out[key] = fig["estimate"]
            if fig["ci_low"] is not None:
                out[f"{key}.ci_low"], out[f"{key}.ci_high"] = fig["ci_low"], fig["ci_high"]

    for name in ("auc", "ks", "brier", "ece"):
        put(name, overall[name])
    keys = unique_metric_keys([g["group"] for g in per_group])
    for g in per_group:
        for name in ("auc", "ks", "brier", "ece"):
            put(f"{name}.{keys[g['group']]}", g[name])
    put("fairness.auc_gap", gap)
    if calibration is not None:
        put("fairness.ece_max", calibration)
    return out
