"""Fairness of a model's decisions across groups, with bootstrap intervals.

Terms used here:

- selection rate: share of a group's rows with ``y_pred == 1``;
- TPR / FPR: true- and false-positive rates, when labels (``y_true``) exist;
- AIR, adverse-impact ratio: a group's selection rate divided by the reference group's (the
  "four-fifths rule" compares it with 0.8);
- EOD, equal-opportunity difference: ``|TPR(group) - TPR(reference)|``;
- equalized-odds difference: ``max(|TPR difference|, |FPR difference|)``.

Every one of these is a function of the cell counts ``n[group, y_true, y_pred]``, so the
bootstrap resamples counts instead of rows: count the cells once (O(N)), then draw ``n_boot``
multinomial resamples of the cells (O(n_boot x cells)). That is the same distribution as
resampling N rows with replacement, at a cost that does not grow with N.

The multinomial over all cells is drawn in two equivalent steps: first how many rows each group
gets, ``multinomial(N, group shares)``, then each group's cells given its size,
``multinomial(size, cell shares within the group)``. Together these are exactly one
``multinomial(N, cell shares)`` draw; splitting it lets a file with hundreds of groups be worked
through in blocks of groups with bounded memory, and each group's draws (its cells and, with a
champion column, the champion's decisions given the challenger's) and rates be worked out in one
task on any core, from random streams of its own.

A resample in which a denominator is zero (a group drawn with no positive labels, a reference
group drawn with no selections) leaves that quantity undefined (NaN) in that resample; its
interval is taken over the resamples where it is defined (what ``np.nanpercentile`` does).
"""

from __future__ import annotations

import functools
import itertools
import math
import threading
from collections.abc import Iterable, Sequence
from statistics import NormalDist
from typing import Any, SupportsFloat

import numpy as np
from numpy.typing import ArrayLike

from .csvparse import Predictions, StatsInputError, unique_metric_keys
from .intervals import (
    MIN_TAIL_RESAMPLES,
    _abs_interval,
    _z,
    choose_resamples,
    interpolate,
    mover_difference,
    mover_ratio,
    order_statistics,
    sidak,
    tail_resamples,
    wilson,
)
from .parallel import GroupSizes, generator, map_parallel, parts
from .scores import score_report
from .text import plural

__all__ = ["cell_counts", "count_cells", "fairness_report", "sidak"]

PASS, FAIL, INCONCLUSIVE = "PASS", "FAIL", "INCONCLUSIVE"
REGRESSION, NO_REGRESSION = "REGRESSION", "NO_REGRESSION"

# Per-block budget for bootstrap arrays (elements), so memory stays bounded with many groups.
_BLOCK_ELEMENTS = 2_000_000
# The champion comparison keeps three (B, G) arrays of counts: B is raised for the family-wise level up to this
# many elements each (32 MB as 32-bit counts), past which its intervals take the normal form.
_CHAMPION_ELEMENTS = 8_000_000


def cell_counts(p: Predictions) -> np.ndarray:
    """Counts ``n[group, y_true, y_pred]``; the y_true axis has size 1 when there are no labels."""
    groups = len(p.group_names)
    if p.y_true is None:
        return count_cells([(p.group, groups), (p.y_pred, 2)]).reshape(groups, 1, 2)
    return count_cells([(p.group, groups), (p.y_true, 2), (p.y_pred, 2)])


_COUNT_ROWS = 1 << 18  # rows counted at a time: the int64 temporaries stay at 2 MB whatever the file


def count_cells(columns: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """Counts of each combination of the per-row codes in ``columns`` ((codes, number of values)
    pairs), as an array with one axis per column. The rows are counted in slices, so the memory
    used beyond the inputs does not grow with the file."""
    shape = tuple(int(size) for _, size in columns)
    cells = math.prod(shape)
    rows = columns[0][0].shape[0]
    # The combined code in the narrowest type that holds it: a byte a row for up to 256 cells.
    code_type = np.uint8 if cells <= 1 << 8 else np.uint16 if cells <= 1 << 16 else np.int64

    def count(start: int) -> np.ndarray:
        stop = min(rows, start + _COUNT_ROWS)
        flat = columns[0][0][start:stop].astype(code_type)
        for codes, size in columns[1:]:
            np.multiply(flat, size, out=flat, casting="unsafe")
            np.add(flat, codes[start:stop], out=flat, casting="unsafe")
        if code_type is not np.uint8 or flat.shape[0] % 2:
            return np.bincount(flat, minlength=cells)
        # Two rows' byte codes read as one 16-bit code: bincount turns its input into 8-byte integers first, so
        # counting half as many codes over 65,536 bins, then adding up each byte's bins, is the quicker way.
        pairs = np.bincount(flat.view(np.uint16), minlength=1 << 16).reshape(256, 256)
        counted: np.ndarray = pairs.sum(axis=0)[:cells] + pairs.sum(axis=1)[:cells]
        return counted

    out = np.zeros(cells, dtype=np.int64)
    for part in map_parallel(count, range(0, rows, _COUNT_ROWS)):
        out += part
    return out.reshape(shape)


# --------------------------------------------------------------------------------------------
# Rates over arrays of cells; leading axes (resamples) are carried through.


def _ratio(num: ArrayLike, den: ArrayLike) -> np.ndarray:
    """num / den with NaN wherever it is undefined (0/0) or infinite (x/0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.divide(num, den, dtype=np.float64)
    return np.where(np.isfinite(out), out, np.nan)


def _rates(cells: np.ndarray) -> dict[str, np.ndarray]:
    """Selection rate, and TPR/FPR when labelled, from cells of shape (..., T, 2)."""
    # Sums of named cells rather than reductions over the two short trailing axes, which NumPy does slowly.
    if cells.shape[-2] == 1:
        selected = cells[..., 0, 1]
        return {"sel": _ratio(selected, cells[..., 0, 0] + selected)}
    tn, fp, fn, tp = cells[..., 0, 0], cells[..., 0, 1], cells[..., 1, 0], cells[..., 1, 1]
    negatives, positives = tn + fp, fn + tp
    return {
        "sel": _ratio(fp + tp, negatives + positives),
        "tpr": _ratio(tp, positives),
        "fpr": _ratio(fp, negatives),
    }


def _percentile_interval(samples: np.ndarray, confidence: float | np.ndarray) -> np.ndarray:
    """(2, K) percentile interval of each column of a (B, K) array at ``confidence`` (one level, or one per
    column), ignoring NaN resamples (see ``_row_summary``); the columns are worked on every core."""
    k = samples.shape[1]
    levels = np.broadcast_to(np.asarray(confidence, dtype=np.float64), (k,))
    out = np.full((2, k), np.nan)

    def summarise(columns: range) -> None:
        for j in columns:
            out[:, j] = _row_summary(samples[:, j], [float(levels[j])])[0][:, 0]

    if k == 0:
        return out
    chunks = max(min(k, 2), math.ceil(k / 8))  # at least one a core on two cores, at most about eight columns each
    map_parallel(summarise, [range(c[0], c[-1] + 1) for c in np.array_split(np.arange(k), chunks) if c.size])
    return out


def _row_summary(row: np.ndarray, confidences: Sequence[float]) -> tuple[np.ndarray, float]:
    """(2, L) percentile intervals at each of ``confidences``, and the standard deviation, of one row of
    resamples, ignoring NaN ones (the deviation is NaN with fewer than two defined, the intervals with none).

    The intervals are the same numbers as ``np.nanpercentile`` (its default, linear method, reproduced step by
    step). With every resample defined only the order statistics around each quantile are needed, and
    ``_order_values`` finds them without a sort; with some undefined the row is sorted (NaN sorts last, so the
    defined resamples come first)."""
    if not np.isnan(row.sum()):  # a NaN anywhere makes the sum NaN
        defined, work = row.shape[0], row.copy()  # partitioned in place below
    else:
        work = np.sort(row)
        defined = int(np.searchsorted(np.isnan(work), True))
    if defined == 0:
        return np.full((2, len(confidences)), np.nan), math.nan
    std = math.nan
    if defined >= 2:
        deviation = work[:defined] - work[:defined].mean()
        std = math.sqrt(float(deviation @ deviation) / defined)
    below, above, gamma = _quantile_positions(defined, tuple(confidences))
    if defined < row.shape[0]:
        return interpolate(work[below], work[above], gamma), std
    value = _order_values(work, [*below.ravel().tolist(), *above.ravel().tolist()])
    low, high = (np.array([value[i] for i in index.ravel().tolist()]).reshape(index.shape) for index in (below, above))
    return interpolate(low, high, gamma), std


@functools.lru_cache(maxsize=256)
def _quantile_positions(defined: int, confidences: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For two-sided intervals at ``confidences`` over ``defined`` values: the (2, L) positions of the order
    statistics below and above each bound and the fraction between them (the same few for every row of a
    report, so worked out once; read-only)."""
    tail = (1.0 - np.asarray(confidences, dtype=np.float64)) / 2.0 * 100.0
    q = np.true_divide(np.stack([tail, 100.0 - tail]), 100)  # (2, L)
    positions = order_statistics(np.array(defined), q)
    for array in positions:
        array.setflags(write=False)
    return positions


def _order_values(row: np.ndarray, positions: Iterable[int]) -> dict[int, float]:
    """The order statistics of ``row`` at ``positions`` (0 = smallest); ``row`` is partitioned in place.

    Positions are taken in increasing order, and ``row[:start]`` always holds its ``start`` smallest values: a
    position at ``start`` is the minimum of the rest (one pass); any other is placed by partitioning the rest
    (NumPy's partition costs a pass for each position asked for at once, so one at a time)."""
    value: dict[int, float] = {}
    start = 0
    for i in sorted(set(positions)):
        rest = row[start:]
        if i == start:
            value[i] = float(rest.min())
        else:
            rest.partition(i - start)
            value[i] = float(row[i])
            start = i + 1
    return value


# --------------------------------------------------------------------------------------------
# JSON helpers


def _num(x: SupportsFloat | None) -> float | None:
    """A plain float for JSON, or None for NaN/inf (JSON has no NaN)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _interval(estimate: SupportsFloat | None, low: SupportsFloat | None, high: SupportsFloat | None) -> dict[str, Any]:
    return {"estimate": _num(estimate), "ci_low": _num(low), "ci_high": _num(high)}


def _f(x: float | None) -> str:
    return "undefined" if x is None else f"{x:.3f}"


# --------------------------------------------------------------------------------------------
# Checks


def _verdict(low: float, high: float, comparator: str, threshold: float) -> str:
    if comparator == ">=":
        if low >= threshold:
            return PASS
        if high < threshold:
            return FAIL
        return INCONCLUSIVE
    if high <= threshold:
        return PASS
    if low > threshold:
        return FAIL
    return INCONCLUSIVE


POWER = 0.8


def _rows_for_power(per_group: list[tuple[Any, ...]], comparator: str, threshold: float, rows: int, z: float) -> int | None:
    """Rows at which the whole check settles with probability ``POWER``, if the estimates hold.

    Each group's estimate is ``est`` with bootstrap standard deviation ``sd`` at ``rows`` rows,
    shrinking as 1/sqrt(n). At n rows a group's interval (half-width ``z * sd_n``, z the
    per-comparison critical value) clears the threshold with probability
    ``Phi(|est - threshold| / sd_n - z)``. The check settles to FAIL when any group leaning to
    fail clears it (probability ``1 - prod(1 - p_g)`` over those groups), and to PASS only when
    every group clears it (``prod(p_g)``). Estimates taken as independent, which the shared
    reference group makes slightly conservative for PASS. None when a deciding estimate sits
    exactly on the threshold, which no sample size can settle.
    """
    sign = 1.0 if comparator == ">=" else -1.0  # mirror "<=" onto ">="
    t = sign * threshold
    groups = [(sign * est, sd) for _, est, _, _, sd in per_group if math.isfinite(sd) and sd > 0]
    if not groups:
        return None
    failing = [(e, sd) for e, sd in groups if e < t]
    deciding = failing or groups
    if any(e == t for e, _ in deciding):
        return None
    phi = NormalDist().cdf

    def power(n: int) -> float:
        probs = [phi(abs(e - t) / (sd * math.sqrt(rows / n)) - z) for e, sd in deciding]
        if failing:
            return 1.0 - math.prod(1.0 - q for q in probs)
        return math.prod(probs)

    low, high = rows, rows * 2
    while power(high) < POWER:
        low, high = high, high * 2
        if high > 10**13:
            return None
    while high - low > max(1, low // 1000):
        mid = (low + high) // 2
        low, high = (mid, high) if power(mid) < POWER else (low, mid)
    return max(high, rows + 1)


# Samples simulated for each candidate size when the rows needed are searched for: 1,000, so a search over a few
# groups takes about a tenth of a second. A sample costs in proportion to the groups, so past 50 groups the
# samples are ``_POWER_CELLS`` group-samples a size, at least ``_POWER_MIN_SAMPLES`` (250 at 200 groups: the
# search then takes 0.2 s instead of 1.1 s). The share of them that must settle is raised by two standard errors
# (82.5 % at 1,000 samples, 85.1 % at 250): the search stops at the first size whose estimate clears it, which
# favours a lucky draw, and fewer samples make the stated size err towards more rows, never fewer. Every size is
# drawn from the same random stream, so the estimates move together.
_POWER_SAMPLES = 1000
_POWER_CELLS = 50_000
_POWER_MIN_SAMPLES = 250


class _Settling:
    """How often a check settles (PASS or FAIL) on samples of ``n`` rows drawn like the file: the same group
    shares, and each group's cells (label, decision) at their observed shares.

    The normal approximation of ``_rows_for_power`` treats each group's estimate as moving alone against a fixed
    reference. With a second group near the top rate (rates .5, .37, .475) the reference is whichever comes out
    on top in a sample, so the stated size settled the check in 75 % of samples where 80 % was claimed. Here each
    sample is judged as the report judges a file: the reference chosen again (the highest selection rate among
    groups with enough rows, unless one is named), closed-form intervals at the family's levels, and a group too
    small at ``n`` rows keeping the check from passing."""

    # A stream of its own, not the report's seed: the checks, rows needed included, do not depend on the seed.
    seed = 20240601

    def __init__(self, counts: np.ndarray, *, reference: int | None, min_group_count: int,
                 levels: dict[str, float]) -> None:
        self.counts, self.reference, self.levels = counts, reference, levels
        self.min_group_count = min_group_count
        flat = counts.reshape(counts.shape[0], -1).astype(np.float64)
        self.shares = flat.sum(axis=1) / flat.sum()
        self.within = flat / np.maximum(flat.sum(axis=1, keepdims=True), 1.0)
        self.samples = int(min(_POWER_SAMPLES, max(_POWER_MIN_SAMPLES, _POWER_CELLS // counts.shape[0])))
        self.target = POWER + 2.0 * math.sqrt(POWER * (1 - POWER) / self.samples)

    def _draw(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(samples, G, T, 2) cells of samples of ``n`` rows, and the group sizes. Each group's multinomial is
        drawn as a chain of binomials (each cell given the rows the earlier cells left), for every group and
        sample in one call a cell."""
        sizes = np.rint(self.shares * n).astype(np.int64)
        rng = np.random.default_rng([self.seed, 4])
        left = np.broadcast_to(sizes, (self.samples, sizes.shape[0])).copy()
        share_left = np.ones(sizes.shape[0])
        cells = np.empty((self.samples, *self.within.shape), dtype=np.int64)
        last = self.within.shape[1] - 1
        for c in range(last):
            with np.errstate(invalid="ignore", divide="ignore"):
                q = np.clip(np.nan_to_num(self.within[:, c] / share_left), 0.0, 1.0)
            # Where both outcomes are expected at least 100 times, the binomial's normal approximation (a tenth
            # of the cost, and off from it by far less than the samples' own noise); exact draws elsewhere.
            expected = sizes * share_left * q
            large = (expected >= 100) & (sizes * share_left * (1 - q) >= 100)
            drawn = np.empty_like(left)
            if large.any():
                mean = left[:, large] * q[large]
                spread = np.sqrt(mean * (1 - q[large]))
                normal = np.rint(mean + spread * rng.standard_normal(mean.shape))
                drawn[:, large] = np.clip(normal, 0, left[:, large]).astype(np.int64)
            if not large.all():
                drawn[:, ~large] = rng.binomial(left[:, ~large], q[~large])
            cells[:, :, c] = drawn
            left -= cells[:, :, c]
            share_left = share_left - self.within[:, c]
        cells[:, :, last] = left
        return cells.reshape(self.samples, *self.counts.shape), sizes

    def probability(self, key: str, threshold: float, n: int) -> float:
        cells, sizes = self._draw(n)
        sufficient = sizes >= self.min_group_count
        if sufficient.sum() < 2:
            return 0.0
        labelled = cells.shape[2] == 2
        if labelled:
            tn, fp, fn, tp = cells[..., 0, 0], cells[..., 0, 1], cells[..., 1, 0], cells[..., 1, 1]
            counted = {"sel": (fp + tp, sizes), "tpr": (tp, fn + tp), "fpr": (fp, tn + fp)}
        else:
            counted = {"sel": (cells[..., 0, 1], sizes)}
        rate = {name: _ratio(x, np.broadcast_to(d, x.shape)) for name, (x, d) in counted.items()}
        if self.reference is not None:
            ref = np.full(self.samples, self.reference)
        else:
            ref = np.argmax(np.where(sufficient, np.nan_to_num(rate["sel"], nan=-1.0), -2.0), axis=1)
        others = sufficient & (np.arange(sizes.shape[0]) != ref[:, None])  # (samples, groups)

        def limits(name: str, level: str) -> tuple[np.ndarray, ...]:
            low, high = wilson(*counted[name], self.levels[level])
            p = rate[name]
            return p, low, high, *(np.take_along_axis(v, ref[:, None], axis=1) for v in (p, low, high))

        if key == "fairness.air":
            low, high = mover_ratio(*limits("sel", "air"))
            return self._settled(low, high, others, sufficient, ">=", threshold)
        if key == "fairness.eod":
            low, high = _abs_interval(*mover_difference(*limits("tpr", "eod")))
            return self._settled(low, high, others, sufficient, "<=", threshold)
        t_low, t_high = _abs_interval(*mover_difference(*limits("tpr", "eqodds")))
        f_low, f_high = _abs_interval(*mover_difference(*limits("fpr", "eqodds")))
        return self._settled(np.fmax(t_low, f_low), np.maximum(t_high, f_high), others, sufficient, "<=", threshold)

    @staticmethod
    def _settled(low: np.ndarray, high: np.ndarray, others: np.ndarray, sufficient: np.ndarray, comparator: str,
                 threshold: float) -> float:
        """Share of samples whose check over the groups ``others`` is PASS or FAIL (as ``_check`` decides)."""
        sign = 1.0 if comparator == ">=" else -1.0  # mirror "<=" onto ">="
        low, high = (np.where(others, sign * v, np.inf) for v in ((low, high) if sign > 0 else (high, low)))
        defined = np.where(others, np.isfinite(low) & np.isfinite(high), True).all(axis=1)
        fail = np.nanmin(np.where(np.isnan(high), np.inf, high), axis=1) < sign * threshold
        passed = defined & sufficient.all() & (np.nanmin(low, axis=1) >= sign * threshold)
        return float(np.mean(fail | passed))

    def rows_needed(self, key: str, threshold: float, rows: int, guess: int) -> int | None:
        """The fewest rows (within 2 %) at which the check settles in ``self.target`` of samples, searched
        from the normal approximation's ``guess``; None past 10**9 rows."""
        def enough(n: int) -> bool:
            return self.probability(key, threshold, n) >= self.target

        # Bracket the size near the guess (the approximation is off by a few tens of per cent), then halve.
        # Past 10**9 rows no size is stated (a share or rate that no realistic file settles).
        high = max(guess, rows + 1)
        if enough(high):
            low = max(rows, int(high * 0.8))
            while low > rows and enough(low):
                high, low = low, max(rows, int(low * 0.8))
        else:
            low = high
            while not enough(high):
                low, high = high, high * 2
                if high > 10**9:
                    return None
        while high - low > max(1, low // 50):
            mid = (low + high) // 2
            low, high = (mid, high) if not enough(mid) else (low, mid)
        return max(high, rows + 1)


def _check(
    *,
    key: str,
    label: str,
    metric: str,
    comparator: str,
    threshold: float,
    per_group: list[tuple[Any, ...]],
    rows: int,
    confidence: float,
    family: dict[str, Any],
    unavailable: str,
    settled_by: str = "",
    unassessed: Sequence[tuple[Any, ...]] = (),
    settling: _Settling | None = None,
) -> dict[str, Any]:
    """Combine per-group intervals into one check over all groups.

    ``per_group`` holds (group, estimate, ci_low, ci_high, sd), the intervals already at the
    per-comparison confidence of the family (``family``). For ">=" the check's interval is (min
    of ci_low, min of ci_high): its low end clears the threshold only if every group's does
    (PASS), and its high end misses it if any group's whole interval does (FAIL). "<=" mirrors
    this with maxima. ``unassessed`` holds (group, reason, rows needed or None, what would settle it) for
    groups the check cannot judge (too few rows, no positive labels): with any of them the check is never
    PASS, only FAIL (another group's interval is wholly on the wrong side) or INCONCLUSIVE. An INCONCLUSIVE
    check without a rows-needed figure says in words what would settle it (``settled_by``): the data a
    group lacks, or ``settled_by`` given here when no group can be assessed at all.
    """
    check = {
        "key": key,
        "label": label,
        "group": None,
        "comparator": comparator,
        "threshold": threshold,
        "estimate": None,
        "ci_low": None,
        "ci_high": None,
        "verdict": INCONCLUSIVE,
        "n_required": None,
        "power": POWER,
        "confidence": confidence,
        "interval_confidence": family["interval_confidence"],
        "comparisons": family["comparisons"],
        "family_method": family["method"],
        # Closed-form intervals (Wilson, MOVER): no end rests on resamples.
        "interval_method": "closed form",
        "tail_resamples": None,
        "unassessed_groups": [{"group": g, "reason": why, "n_required": n} for g, why, n, _ in unassessed],
        "settled_by": None,
        "detail": "",
    }
    if not per_group:
        settled_by = "; ".join(dict.fromkeys(w for *_, w in unassessed if w)) or settled_by
        check["settled_by"] = settled_by or None
        check["detail"] = f"The {metric} cannot be assessed: {unavailable}." + (
            f" What would settle it: {settled_by}." if settled_by else "")
        return check
    ests = np.array([g[1] for g in per_group])
    lows = np.array([g[2] for g in per_group])
    highs = np.array([g[3] for g in per_group])
    if comparator == ">=":
        worst = int(np.argmin(lows))
        estimate, low, high = ests.min(), lows.min(), highs.min()
    else:
        worst = int(np.argmax(highs))
        estimate, low, high = ests.max(), lows.max(), highs.max()
    verdict = _verdict(low, high, comparator, threshold)
    pct = f"{confidence:.0%}"
    words = "at or above" if comparator == ">=" else "at or below"
    if family["comparisons"] > 1:
        joint = (
            f"{pct} jointly over {family['comparisons']} comparisons, each interval at "
            f"{family['interval_confidence']:.2%} ({family['method']})"
        )
    else:
        joint = pct
    text = (
        f"Worst group {per_group[worst][0]}: {metric} {_f(per_group[worst][1])}. Across groups the "
        f"{metric} is {_f(estimate)} ({joint} interval {_f(low)} to {_f(high)}); it must be {words} "
        f"{threshold:g}. "
    )
    z = NormalDist().inv_cdf(0.5 + family["interval_confidence"] / 2.0)
    n_required = None
    held_back = verdict == PASS and unassessed
    if verdict == FAIL:
        which = " for at least one group" if len(per_group) > 1 else ""
        text += f"The whole interval is on the wrong side of the threshold{which}."
    elif verdict == PASS and not unassessed:
        text += f"The whole interval is {words} the threshold."
    else:
        verdict = INCONCLUSIVE
        settle = None if held_back else _rows_for_power(per_group, comparator, threshold, rows, z)
        if settle is not None and settling is not None:
            settle = settling.rows_needed(key, threshold, rows, settle)
        needs = [n for _, _, n, _ in unassessed if n is not None]
        if held_back:
            text += f"The whole interval is {words} the threshold for the groups assessed, but "
        elif settle is None and any(n is None for _, _, n, _ in unassessed):
            text += "The interval straddles the threshold. "
        elif settle is None:
            text += (
                "The interval straddles the threshold and the estimate sits on it, so this cannot be "
                "settled by sample size alone. "
            )
        else:
            text += "The interval straddles the threshold. "
        if unassessed:
            listed = "; ".join(f"{g} ({why})" for g, why, _, _ in unassessed)
            text += f"{'some' if held_back else 'Some'} groups cannot be assessed: {listed}. "
        if (settle is not None or held_back) and (needs or not unassessed) and len(needs) == len(unassessed):
            n_required = max([settle or rows + 1, *needs])
            text += (
                f"About {n_required:,} rows (now {rows:,}, same group shares) would settle it with "
                f"{POWER:.0%} power if the estimates hold."
            )
        else:
            words_needed = list(dict.fromkeys(w for *_, w in unassessed if w))
            if not words_needed:  # the estimate sits on the threshold
                words_needed = ["a person's decision (a waiver or a pending decision): more rows from the same "
                                "model would leave the estimate on the threshold"]
            check["settled_by"] = "; ".join(words_needed)
            text += f"What would settle it: {check['settled_by']}."
    check.update(
        group=per_group[worst][0],
        estimate=_num(estimate),
        ci_low=_num(low),
        ci_high=_num(high),
        verdict=verdict,
        n_required=n_required,
        detail=text.strip(),
    )
    return check


# --------------------------------------------------------------------------------------------
# Closed-form intervals


def _closed_form_bounds(
    counts: np.ndarray, anchors: tuple[int, int], levels: dict[str, float],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per-group (2, G) intervals and (G,) standard errors of the rates and disparities, in closed form.

    Rates (``sel``, ``tpr``, ``fpr``) get Wilson intervals at ``levels["rates"]``; the AIR gets the MOVER-R
    interval of the group's rate over the reference's at ``levels["air"]``, and the signed TPR and FPR gaps
    (``tdiff``, ``fdiff``) the MOVER difference interval at ``levels["eod"]`` and ``levels["eqodds"]`` (keys
    ``tdiff_eod``, ``tdiff_eq``, ``fdiff_eq``), each built from Wilson intervals of both rates at that
    level. So a rate of 0 or 1 (a group with no selections, a reference that selects everyone) keeps the
    uncertainty its row count leaves, the reference group's uncertainty is carried into every comparison,
    and a family-wise level of 99.99 % is as exact as 95 % (a percentile bootstrap reads such a level off
    the one or two most extreme of its resamples). The standard errors, for the rows-needed figure, are
    the half-widths over the critical value."""
    ref, lref = anchors
    labelled = counts.shape[1] == 2
    if labelled:
        tn, fp, fn, tp = (counts[:, t, d].astype(np.float64) for t, d in ((0, 0), (0, 1), (1, 0), (1, 1)))
        counted = {"sel": (fp + tp, tn + fp + fn + tp), "tpr": (tp, fn + tp), "fpr": (fp, tn + fp)}
    else:
        selected = counts[:, 0, 1].astype(np.float64)
        counted = {"sel": (selected, selected + counts[:, 0, 0])}
    estimate = {name: _ratio(x, n) for name, (x, n) in counted.items()}

    def limits(name: str, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (estimate[name], *wilson(*counted[name], level))

    def spread(interval: np.ndarray, level: float) -> np.ndarray:
        result: np.ndarray = (interval[1] - interval[0]) / (2.0 * _z(level))
        return result

    bounds = {name: np.stack(wilson(*counted[name], levels["rates"])) for name in counted}
    p, lo, hi = limits("sel", levels["air"])
    bounds["air"] = np.stack(mover_ratio(p, lo, hi, p[ref], lo[ref], hi[ref]))
    stds = {"air": spread(bounds["air"], levels["air"])}
    if labelled:
        for name, key, level in (("tpr", "tdiff_eod", "eod"), ("tpr", "tdiff_eq", "eqodds"), ("fpr", "fdiff_eq", "eqodds")):
            p, lo, hi = limits(name, levels[level])
            bounds[key] = np.stack(mover_difference(p, lo, hi, p[lref], lo[lref], hi[lref]))
        stds["tdiff"] = spread(bounds["tdiff_eod"], levels["eod"])
        stds["fdiff"] = spread(bounds["fdiff_eq"], levels["eqodds"])
    return bounds, stds


def _error_rates(counts: np.ndarray, confidence: float) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each group's false-negative rate, positive predictive value, false-discovery rate and false-omission
    rate (estimate, Wilson low, Wilson high), from labelled cells n[group, y_true, y_pred]."""
    tn, fp, fn, tp = (counts[:, t, d].astype(np.float64) for t, d in ((0, 0), (0, 1), (1, 0), (1, 1)))
    counted = {"fnr": (fn, fn + tp), "ppv": (tp, tp + fp), "fdr": (fp, tp + fp), "for": (fn, fn + tn)}
    return {name: (_ratio(x, n), *wilson(x, n, confidence)) for name, (x, n) in counted.items()}


# Between-group differences for the rule engine (largest minus smallest over the groups with enough rows, as
# Fairlearn's ``difference(method="between_groups")``): metric key, group figure.
_PARITY = (
    ("fairness.demographic_parity_difference", "selection_rate"),
    ("fairness.fnr_difference", "fnr"),
    ("fairness.ppv_difference", "ppv"),
    ("fairness.fdr_difference", "fdr"),
    ("fairness.for_difference", "for"),
)


# --------------------------------------------------------------------------------------------
# Bootstrap


def _blocks(groups: np.ndarray, block: int, *, ahead: int) -> list[np.ndarray]:
    """``groups`` in blocks of ``block`` (the bound on the bootstrap's memory), the first shortened by the
    ``ahead`` groups drawn with it (the references), and possibly empty."""
    head = max(block - ahead, 0)
    return [groups[:head], *(groups[start : start + block] for start in range(head, groups.shape[0], block))]


def _bootstrap_groups(
    counts: np.ndarray,
    anchors: tuple[int, int],
    *,
    n_boot: int,
    seed: int,
    levels: dict[str, float],
    paired: np.ndarray | None = None,
    summaries: bool = True,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per-group (2, G) intervals, (G,) bootstrap standard deviations, and the resamples' (B, G) group sizes
    (``sizes``) and selections (``selected``), and with ``paired`` the champion's selections (``champion``).

    ``paired``: the cells n[group, champion decision, challenger decision] of a champion column. In each
    resample the champion's decisions are drawn given the challenger's, from the observed share of the
    champion selecting among rows the challenger selected and among rows it did not (keys ``[seed, 2, g, 1]``
    and ``[seed, 2, g, 0]``, streams of their own, so the column leaves the rest of the report unchanged). That
    makes the (champion, challenger) counts of every group exactly a multinomial resample of the paired cells,
    with the challenger's side the decision bootstrap's own; they are drawn in the same pass.

    ``anchors`` = (reference group for selection, reference group for the label rates). Rates
    (``sel``, ``tpr``, ``fpr``) get intervals at ``levels["rates"]``; the AIR at ``levels["air"]``;
    the signed TPR and FPR gaps (``tdiff``, ``fdiff``) at ``levels["eod"]`` and
    ``levels["eqodds"]`` (keys ``tdiff_eod``, ``tdiff_eq``, ``fdiff_eq``). With ``summaries`` false only the
    resamples are drawn (the same draws) and the intervals are left NaN: the report's own intervals are closed
    form, and the rates and percentiles of every group cost eight seconds at 200 groups.
    """
    groups = counts.shape[0]
    n_cells = math.prod(counts.shape[1:])
    labelled = counts.shape[1] == 2
    ref, lref = anchors

    # The (B, G) resamples are kept for the champion comparison: as 32-bit counts when they fit (half the memory
    # with a thousand groups).
    count_type = np.int32 if counts.sum() < 2**31 else np.int64
    sizes = GroupSizes([seed, 0], counts, n_boot, count_type)  # drawn a part at a time, as the tasks need them
    within = sizes.within
    resampled = {"sizes": sizes.drawn, "selected": np.empty_like(sizes.drawn)}
    if paired is not None:
        c = paired.reshape(groups, 4).astype(float)  # (champion, challenger): 00, 01, 10, 11
        keeps = np.nan_to_num(_ratio(c[:, 3], c[:, 1] + c[:, 3]))  # champion selects | challenger does
        adds = np.nan_to_num(_ratio(c[:, 2], c[:, 0] + c[:, 2]))  # champion selects | challenger does not
        resampled["champion"] = np.empty_like(sizes.drawn)

    names = ("sel", "tpr", "fpr") if labelled else ("sel",)

    # Each figure: the intervals it gets (key, level), and whether its spread is kept.
    plan: list[tuple[str, list[tuple[str, str]], bool]] = [("sel", [("sel", "rates")], False), ("air", [("air", "air")], True)]
    if labelled:
        plan += [
            ("tpr", [("tpr", "rates")], False),
            ("fpr", [("fpr", "rates")], False),
            ("tdiff", [("tdiff_eod", "eod"), ("tdiff_eq", "eqodds")], True),
            ("fdiff", [("fdiff_eq", "eqodds")], True),
        ]
    intervals = {key: np.full((2, groups), np.nan) for _, keys, _ in plan for key, _ in keys}
    stds = {name: np.full(groups, np.nan) for name, _, spread in plan if spread}
    refs: dict[str, np.ndarray] = {}  # the reference groups' rows of resampled rates, once drawn

    def summarise(g: int, row: dict[str, np.ndarray]) -> None:
        """One group's figures, from its rows of resampled rates and the references'."""
        values = {"sel": row["sel"], "air": _ratio(row["sel"], refs["sel"])}
        if labelled:
            values["tpr"], values["fpr"] = row["tpr"], row["fpr"]
            values["tdiff"], values["fdiff"] = row["tpr"] - refs["tpr"], row["fpr"] - refs["fpr"]
        for name, keys, spread in plan:
            bounds, std = _row_summary(values[name], [levels[level] for _, level in keys])
            for i, (key, _) in enumerate(keys):
                intervals[key][:, g] = bounds[:, i]
            if spread:
                stds[name][g] = std

    def run(idx: np.ndarray, anchors: list[int]) -> None:
        """Draw and summarise the groups ``idx``, a row of resamples per group, each from streams of its own, in
        parts, the part's rates worked out in the same task. A group is summarised by the task that completes
        its rows, or the references' (positions ``anchors`` in ``idx``, drawn first) when they come later: no
        thread waits for all the draws before summarising."""
        rates = {name: np.empty((idx.shape[0], n_boot)) for name in names} if summaries else {}
        # A group's summary reads its own rows and the references': the parts still to be drawn before it can run.
        n_parts, everyone = len(parts(n_boot)), range(idx.shape[0])
        waiting = [n_parts * len({j, *anchors}) for j in everyone]
        lock = threading.Lock()

        def part(task: tuple[int, int, slice]) -> None:
            j, i, rows = task
            g = int(idx[j])
            n = sizes.part(i)[:, g]
            cells = generator([seed, 1, g], i).multinomial(n, within[g])
            if summaries:
                for name, rate in _rates(cells.reshape(-1, *counts.shape[1:])).items():
                    rates[name][j, rows] = rate
            chosen = cells[:, 1].copy()  # cells are (y_true, y_pred): y_pred = 1 every other
            for selected_cell in range(3, cells.shape[1], 2):
                chosen += cells[:, selected_cell]  # (adding columns: a sum over a short axis is slow in NumPy)
            resampled["selected"][rows, g] = chosen
            if paired is not None:
                kept = generator([seed, 2, g, 1], i).binomial(chosen, keeps[g])
                resampled["champion"][rows, g] = kept + generator([seed, 2, g, 0], i).binomial(n - chosen, adds[g])
            if not summaries:
                return
            with lock:
                ready = []
                for k in everyone if j in anchors else (j,):
                    waiting[k] -= 1
                    if not waiting[k]:
                        ready.append(k)
                if ready and "sel" not in refs:  # every group's summary needs the references: they are complete
                    refs["sel"] = rates["sel"][at[ref]].copy()
                    if labelled:
                        refs["tpr"], refs["fpr"] = rates["tpr"][at[lref]].copy(), rates["fpr"][at[lref]].copy()
            for k in ready:
                summarise(int(idx[k]), {name: rates[name][k] for name in names})

        at = {int(idx[k]): k for k in anchors}
        map_parallel(part, [(j, i, rows) for j in range(idx.shape[0]) for i, rows in enumerate(parts(n_boot))])

    # The anchors are drawn, and then summarised, with the first block of the other groups: one pass when the
    # groups fit in one block.
    anchor_idx = np.array(sorted({ref, lref}), dtype=np.int64)
    others = np.array([g for g in range(groups) if g not in set(anchor_idx.tolist())], dtype=np.int64)
    first, *rest = _blocks(others, max(1, _BLOCK_ELEMENTS // (n_boot * n_cells)), ahead=anchor_idx.shape[0])
    run(np.concatenate([anchor_idx, first]), list(range(anchor_idx.shape[0])))
    for idx in rest:
        run(idx, [])
    return intervals, stds, resampled


def _champion_section(
    names: tuple[str, ...],
    cells: np.ndarray,
    ref: int,
    compared: list[int],
    resampled: dict[str, np.ndarray],
    *,
    confidence: float,
    challenger_air_verdict: str,
) -> dict[str, Any]:
    """Champion (current model) vs challenger (new model) on the same rows, for every group.

    ``cells`` are paired, n[group, champion decision, challenger decision], so each resample keeps how the two
    models agree on the same rows. The resamples are the decision bootstrap's own (``resampled``: each
    resample's group sizes, challenger selections and champion selections, drawn by ``_bootstrap_groups`` as
    an exact multinomial resample of the paired cells). For every group compared, the change is
    AIR(challenger) - AIR(champion), both against the same reference group, with an interval at the
    Šidák-adjusted confidence over the groups compared: a percentile interval when each end rests on at least
    ``MIN_TAIL_RESAMPLES`` resamples beyond it (``_analyse`` draws that many when memory allows), else the
    normal interval from the resamples' standard deviation (``tail_resamples`` is then None).

    Verdict: REGRESSION when some group's whole interval is below 0 (a group got measurably
    worse, whatever happened to the others); NO_REGRESSION when every group's interval is at or
    above 0, or when some straddle 0 but the challenger's own AIR check passes; INCONCLUSIVE
    otherwise. ``air_change`` and the AIR figures are those of the group deciding the verdict
    (the lowest upper bound); ``groups`` lists every group.
    """
    empty: dict[str, Any] = {
        "air_change": _interval(None, None, None),
        "challenger_air": _interval(None, None, None),
        "champion_air": _interval(None, None, None),
        "group": None,
        "groups": [],
        "verdict": INCONCLUSIVE,
    }
    if not compared:
        why = "No group could be compared with the reference group, so the change in AIR cannot be assessed."
        return empty | {"detail": why}
    groups = len(names)
    cells = cells.reshape(groups, 4).astype(float)  # (champion, challenger): 00, 01, 10, 11

    def sel(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # c: (..., 4) -> challenger, champion selection rates
        both = c[..., 3]
        new, old = c[..., 1] + both, c[..., 2] + both
        n = new + c[..., 0] + c[..., 2]
        return _ratio(new, n), _ratio(old, n)

    comparisons = len(compared)
    level = sidak(confidence, comparisons)
    new_sel, old_sel = sel(cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        est_new, est_old = _ratio(new_sel[compared], new_sel[ref]), _ratio(old_sel[compared], old_sel[ref])

    if not resampled:
        bounds = _delta_bounds(cells, ref, compared, level)
        n_boot, tail = 0, None
    else:
        bounds = _bootstrap_bounds(resampled, compared, ref, level)
        n_boot, tail = int(resampled["sizes"].shape[0]), tail_resamples(int(resampled["sizes"].shape[0]), level)

    per_group: list[dict[str, Any]] = []
    for j, g in enumerate(compared):
        per_group.append(
            {
                "group": names[g],
                "air_change": _interval(est_new[j] - est_old[j], *bounds["change"][:, j]),
                "challenger_air": _interval(est_new[j], *bounds["new"][:, j]),
                "champion_air": _interval(est_old[j], *bounds["old"][:, j]),
            }
        )
    defined = [g for g in per_group if None not in g["air_change"].values()]
    pct = f"{confidence:.0%}"
    resampling = {"resamples": n_boot or None, "tail_resamples": tail,
                  "interval_method": "percentile bootstrap" if tail is not None else "normal (delta method)"}
    if not defined:
        why = "The change in adverse-impact ratio is undefined in too many resamples for every group."
        return empty | resampling | {"groups": per_group, "detail": why}
    decider = min(defined, key=lambda g: g["air_change"]["ci_high"])
    change = decider["air_change"]
    low, high = change["ci_low"], change["ci_high"]
    joint = (
        f"{pct} jointly over {comparisons} groups, each interval at {level:.2%} (Šidák)"
        if comparisons > 1
        else f"{pct} interval"
    )
    figures = (
        f"Every group compared ({comparisons}). The largest fall bound is group {decider['group']}: its "
        f"adverse-impact ratio goes from {_f(decider['champion_air']['estimate'])} (champion) to "
        f"{_f(decider['challenger_air']['estimate'])} (challenger), a change of {change['estimate']:+.3f} "
        f"({joint}: {low:+.3f} to {high:+.3f}). "
        f"{_resampling_text(n_boot, tail)} "
    )
    straddle = any(g["air_change"]["ci_low"] < 0 for g in defined)
    undefined = len(defined) < len(per_group)
    if high < 0:
        verdict = REGRESSION
        why = "The whole interval is below zero: the challenger is measurably less fair to this group."
    elif not straddle and not undefined:
        verdict = NO_REGRESSION
        why = "Every group's interval is at or above zero."
    elif challenger_air_verdict == PASS:
        verdict = NO_REGRESSION
        why = "Some intervals include zero and the challenger passes the adverse-impact check on its own."
    else:
        verdict = INCONCLUSIVE
        why = (
            "Some intervals include zero and the challenger does not clearly pass the adverse-impact "
            "check; more rows would tell."
        )
    return {
        "air_change": change,
        "challenger_air": decider["challenger_air"],
        "champion_air": decider["champion_air"],
        "group": decider["group"],
        "groups": per_group,
        "comparisons": comparisons,
        "interval_confidence": level,
        **resampling,
        "verdict": verdict,
        "detail": figures + why,
    }


def _bootstrap_bounds(resampled: dict[str, np.ndarray], compared: list[int], ref: int,
                      level: float) -> dict[str, np.ndarray]:
    """(2, k) percentile intervals at ``level`` of each compared group's change in AIR and of both AIRs, from
    the decision bootstrap's resamples (each end on at least ``MIN_TAIL_RESAMPLES``, as ``_analyse`` drew)."""
    sizes, selected, champion = resampled["sizes"], resampled["selected"], resampled["champion"]
    n_boot = int(sizes.shape[0])
    comparisons = len(compared)

    def rates(idx: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:  # (B, k) challenger, champion selection rates
        return _ratio(selected[:, idx], sizes[:, idx]), _ratio(champion[:, idx], sizes[:, idx])

    bounds = {k: np.full((2, comparisons), np.nan) for k in ("change", "new", "old")}
    ref_new, ref_old = (r[:, 0] for r in rates([ref]))
    start = 0
    for idx in _blocks(np.array(compared, dtype=np.int64), max(1, _BLOCK_ELEMENTS // (n_boot * 4)), ahead=0):
        new, old = rates(idx.tolist())
        new, old = _ratio(new, ref_new[:, None]), _ratio(old, ref_old[:, None])
        k = idx.shape[0]
        samples = np.concatenate([new - old, new, old], axis=1)
        b = _percentile_interval(samples, level)
        for j, name in enumerate(("change", "new", "old")):
            bounds[name][:, start : start + k] = b[:, j * k : (j + 1) * k]
        start += k
    return bounds


def _delta_bounds(cells: np.ndarray, ref: int, compared: list[int], level: float) -> dict[str, np.ndarray]:
    """(2, k) normal intervals at ``level`` of each compared group's change in AIR and of both AIRs, from the
    delta method over the paired cells ``cells`` (G, 4): (champion, challenger) 00, 01, 10, 11.

    Used where a percentile end would rest on fewer than ``MIN_TAIL_RESAMPLES`` resamples even at the most the
    memory bound allows (199 comparisons at 95 % jointly need 1.9 million): the normal form then reads the
    spread alone, and the delta method gives it without resampling (1.2 s of draws at 200 groups). Within a
    group the challenger's and champion's selection rates a = n01 + n11 and b = n10 + n11 over n have
    variances a(1 - a)/n, b(1 - b)/n and covariance (n11/n - ab)/n (one multinomial); the groups' rates are
    independent. The AIRs are a_g / a_r and b_g / b_r; their change is the difference."""
    n = cells.sum(axis=1)
    a, b = _ratio(cells[:, 1] + cells[:, 3], n), _ratio(cells[:, 2] + cells[:, 3], n)
    with np.errstate(invalid="ignore", divide="ignore"):
        var_a, var_b, cov = a * (1 - a) / n, b * (1 - b) / n, (_ratio(cells[:, 3], n) - a * b) / n
    g = np.array(compared, dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        # Gradients of a_g / a_r and b_g / b_r with respect to (a_g, a_r) and (b_g, b_r).
        da_g, da_r = 1 / a[ref], -a[g] / a[ref] ** 2
        db_g, db_r = 1 / b[ref], -b[g] / b[ref] ** 2
        var_new = da_g**2 * var_a[g] + da_r**2 * var_a[ref]
        var_old = db_g**2 * var_b[g] + db_r**2 * var_b[ref]
        cov_new_old = da_g * db_g * cov[g] + da_r * db_r * cov[ref]
        new, old = a[g] / a[ref], b[g] / b[ref]
    z = _z(level)
    out = {}
    for name, est, var in (("change", new - old, var_new + var_old - 2 * cov_new_old), ("new", new, var_new),
                           ("old", old, var_old)):
        spread = z * np.sqrt(np.maximum(var, 0.0))
        out[name] = np.where(np.isfinite(est) & np.isfinite(spread), np.stack([est - spread, est + spread]), np.nan)
    return out


def _resampling_text(n_boot: int, tail: int | None) -> str:
    """What a bootstrap interval's ends rest on, in words."""
    if tail is not None:
        return f"From {n_boot:,} resamples; each end of an interval rests on {tail:,} resamples beyond it."
    return (
        f"At this level a percentile end would rest on fewer than {MIN_TAIL_RESAMPLES} resamples, so each "
        f"interval is the estimate plus or minus the critical value times its delta-method standard error "
        f"(no resamples)."
    )


# --------------------------------------------------------------------------------------------
# Report


def _validate(p: Predictions, names: tuple[str, ...], reference_group: str | None, air_floor: float,
              eo_max_diff: float, min_group_count: int, n_boot: int, confidence: float) -> None:
    if p.rows == 0:
        raise StatsInputError("file", "the predictions file has no rows", code="no_rows")
    if not 0 < air_floor <= 1:
        raise StatsInputError("air_floor", "the adverse-impact floor must be above 0 and at most 1", code="out_of_range")
    if not 0 <= eo_max_diff <= 1:
        raise StatsInputError(
            "eo_max_diff", "the maximum equal-opportunity difference must be between 0 and 1", code="out_of_range"
        )
    if int(min_group_count) < 1:
        raise StatsInputError("min_group_count", "the minimum group size must be at least 1", code="out_of_range")
    if not 100 <= int(n_boot) <= 1_000_000:
        raise StatsInputError("n_boot", "the number of bootstrap resamples must be between 100 and 1,000,000", code="out_of_range")
    if not 0 < confidence < 1:
        raise StatsInputError("confidence", "the confidence level must be between 0 and 1, e.g. 0.95", code="out_of_range")
    if reference_group is not None and reference_group not in names:
        raise StatsInputError(
            "reference_group", f"there is no group named '{reference_group}' in the predictions", code="unknown_group"
        )


def _analyse(
    names: tuple[str, ...],
    counts: np.ndarray,
    *,
    reference_group: str | None,
    air_floor: float,
    eo_max_diff: float,
    min_group_count: int,
    n_boot: int,
    seed: int,
    confidence: float,
    paired: np.ndarray | None = None,
) -> dict[str, Any]:
    """Groups and checks of one grouping (one attribute, or an intersection of attributes); with ``paired``
    (the champion's paired cells, see ``_bootstrap_groups``) the champion's resamples are drawn too."""
    labels = counts.shape[1] == 2
    rows = int(counts.sum())
    sizes = counts.sum(axis=(1, 2))
    sufficient = sizes >= min_group_count
    observed = _rates(counts)

    if reference_group is not None:
        ref = names.index(reference_group)
        if not sufficient[ref]:
            raise StatsInputError(
                "reference_group",
                f"the reference group '{reference_group}' has {plural(int(sizes[ref]), 'row')}; "
                f"at least {min_group_count:,} are needed", code="group_too_small",
            )
    else:
        pool = sufficient if sufficient.any() else sizes > 0
        ref = int(np.argmax(np.where(pool, np.nan_to_num(observed["sel"], nan=-1.0), -2.0)))
    lref = ref
    if labels:
        # TPR and FPR gaps need a reference with both positive and negative labels: the
        # selection reference if it has them, else the highest selection rate among those that do.
        both = sufficient & (counts[:, 1].sum(1) > 0) & (counts[:, 0].sum(1) > 0)
        if not both[ref] and both.any() and reference_group is None:
            lref = int(np.argmax(np.where(both, np.nan_to_num(observed["sel"], nan=-1.0), -2.0)))

    # The family: with a reference chosen from the data (the highest rate), any pair of groups
    # could have been compared, so the intervals cover all pairs jointly; a named reference makes
    # the family the comparisons with it.
    assessed = int(sufficient.sum())
    pairs = assessed * (assessed - 1) // 2 if reference_group is None else max(assessed - 1, 1)
    pairs = max(pairs, 1)
    families: dict[str, dict[str, Any]] = {
        "air": {"method": "Šidák", "comparisons": pairs, "interval_confidence": sidak(confidence, pairs)},
        "eod": {"method": "Šidák", "comparisons": pairs, "interval_confidence": sidak(confidence, pairs)},
        "eqodds": {
            "method": "Šidák",
            "comparisons": 2 * pairs,
            "interval_confidence": sidak(confidence, 2 * pairs),
        },
    }
    levels = {"rates": confidence} | {k: f["interval_confidence"] for k, f in families.items()}
    bounds, stds = _closed_form_bounds(counts, (ref, lref), levels)
    compared = [g for g in range(len(names)) if sufficient[g] and g != ref]
    resampled: dict[str, np.ndarray] = {}
    if paired is not None:  # the champion comparison's resamples, when its percentile ends can rest on enough
        # Enough resamples for the comparisons' Šidák level, as memory allows (see ``_champion_section``); past
        # that no resamples are drawn and the intervals take the delta method's normal form.
        champion_level = sidak(confidence, max(len(compared), 1))
        draws = choose_resamples(n_boot, champion_level, max(n_boot, _CHAMPION_ELEMENTS // len(names)))
        if tail_resamples(draws, champion_level) >= MIN_TAIL_RESAMPLES:
            resampled = _bootstrap_groups(counts, (ref, lref), n_boot=draws, seed=seed, levels=levels,
                                          paired=paired, summaries=False)[2]

    ref_observed = {k: v[ref] for k, v in observed.items()}
    observed["air"] = _ratio(observed["sel"], ref_observed["sel"])
    if labels:
        observed["tdiff"] = observed["tpr"] - observed["tpr"][lref]
        observed["fdiff"] = observed["fpr"] - observed["fpr"][lref]

    def entry(name: str, g: int, key: str | None = None) -> dict[str, Any]:
        return _interval(observed[name][g], bounds[key or name][0, g], bounds[key or name][1, g])

    errors = _error_rates(counts, confidence) if labels else {}
    groups = []
    for g, name in enumerate(names):
        groups.append(
            {
                "group": name,
                "n": int(sizes[g]),
                "insufficient_data": bool(not sufficient[g]),
                "selection_rate": entry("sel", g),
                "tpr": entry("tpr", g) if labels else None,
                "fpr": entry("fpr", g) if labels else None,
                "air": entry("air", g) if g in compared else None,
                **{name: _interval(*(v[g] for v in values)) for name, values in errors.items()},
            }
        )

    def small() -> list[tuple[str, str, int | None, str]]:
        out: list[tuple[str, str, int | None, str]] = []
        for g in np.flatnonzero(~sufficient):
            need = math.ceil(rows * min_group_count / max(int(sizes[g]), 1))
            out.append((names[g], f"{plural(int(sizes[g]), 'row')}, fewer than {min_group_count:,}", need,
                        f"at least {plural(min_group_count, 'row')} in group {names[g]}"))
        return out

    def finite(*values: SupportsFloat) -> bool:
        return all(math.isfinite(v) for v in values)

    air_rows, air_unassessed = [], small()
    for g in compared:
        values = (observed["air"][g], bounds["air"][0, g], bounds["air"][1, g])
        if finite(*values):
            air_rows.append((names[g], *(float(v) for v in values), float(stds["air"][g])))
        else:
            air_unassessed.append((names[g], "its ratio is undefined", None,
                                   f"at least one selection (y_pred = 1) in group {names[g]} and in the "
                                   f"reference group {names[ref]}"))

    if not compared:
        why = (
            f"no group other than the reference ({names[ref]}) has at least {plural(min_group_count, 'row')}"
            if sufficient.any()
            else f"no group has at least {plural(min_group_count, 'row')}"
        )
        settled_by = (f"at least {plural(min_group_count, 'row')} in a second group" if sufficient.any()
                      else f"at least {plural(min_group_count, 'row')} in each of two groups")
    else:
        why, settled_by = None, ""
    settling = _Settling(
        counts, reference=ref if reference_group is not None else None, min_group_count=min_group_count,
        levels=levels,
    )
    common: dict[str, Any] = {"rows": rows, "confidence": confidence, "settling": settling}
    checks = [
        _check(
            key="fairness.air",
            label="Adverse-impact ratio (worst group)",
            metric="adverse-impact ratio",
            comparator=">=",
            threshold=air_floor,
            per_group=air_rows,
            family=families["air"],
            unassessed=air_unassessed,
            unavailable=why
            or f"the reference group {names[ref]} has no selections, so the ratio is undefined",
            settled_by=settled_by or f"at least one selection (y_pred = 1) in the reference group {names[ref]}",
            **common,
        )
    ]
    if labels:
        label_compared = [g for g in range(len(names)) if sufficient[g] and g != lref]
        eod_rows, eod_unassessed = [], small()
        eq_rows, eq_unassessed = [], small()
        for g in label_compared:
            t_est, f_est = observed["tdiff"][g], observed["fdiff"][g]
            t_lo, t_hi = _abs_interval(*bounds["tdiff_eod"][:, g])
            if finite(t_est, t_lo, t_hi):
                eod_rows.append((names[g], abs(float(t_est)), float(t_lo), float(t_hi), float(stds["tdiff"][g])))
            else:
                lacking = f"group {names[g]}" if not counts[g, 1].sum() else f"the reference group {names[lref]}"
                eod_unassessed.append((names[g], "no positive labels here or in the reference", None,
                                       f"at least one positive label (y_true = 1) in {lacking}"))
            tq_lo, tq_hi = _abs_interval(*bounds["tdiff_eq"][:, g])
            fq_lo, fq_hi = _abs_interval(*bounds["fdiff_eq"][:, g])
            t_ok, f_ok = finite(t_est, tq_lo, tq_hi), finite(f_est, fq_lo, fq_hi)
            if t_ok and f_ok:
                tpr_leads = abs(t_est) >= abs(f_est)
                eq_rows.append(
                    (
                        names[g],
                        float(max(abs(t_est), abs(f_est))),
                        float(max(tq_lo, fq_lo)),
                        float(max(tq_hi, fq_hi)),
                        float(stds["tdiff" if tpr_leads else "fdiff"][g]),
                    )
                )
            elif t_ok or f_ok:
                # One gap is measurable: it bounds the equalized-odds difference from below, so a
                # large gap can FAIL the check; the unmeasured one keeps it from passing.
                est, lo = (abs(t_est), tq_lo) if t_ok else (abs(f_est), fq_lo)
                eq_rows.append((names[g], float(est), float(lo), 1.0, float("nan")))
                missing = "positive" if not t_ok else "negative"
                label = 1 if missing == "positive" else 0
                lacking = f"group {names[g]}" if not counts[g, label].sum() else f"the reference group {names[lref]}"
                eq_unassessed.append((names[g], f"no {missing} labels, so only one rate gap is measured", None,
                                      f"at least one {missing} label (y_true = {label}) in {lacking}"))
            else:
                eq_unassessed.append((names[g], "neither rate gap is defined", None,
                                      f"positive and negative labels in group {names[g]} and the reference group "
                                      f"{names[lref]}"))
        no_tpr = why or "true-positive rates are undefined (a group or the reference has no positive labels)"
        checks.append(
            _check(
                key="fairness.eod",
                label="Equal-opportunity difference (worst group)",
                metric="equal-opportunity difference",
                comparator="<=",
                threshold=eo_max_diff,
                per_group=eod_rows,
                family=families["eod"],
                unassessed=eod_unassessed,
                unavailable=no_tpr,
                settled_by=settled_by or f"positive labels (y_true = 1) in the reference group {names[lref]} and "
                                         "the groups compared",
                **common,
            )
        )
        checks.append(
            _check(
                key="fairness.eqodds",
                label="Equalized-odds difference (worst group)",
                metric="equalized-odds difference",
                comparator="<=",
                threshold=eo_max_diff,
                per_group=eq_rows,
                family=families["eqodds"],
                unassessed=eq_unassessed,
                unavailable=why or "true- or false-positive rates are undefined for the groups compared",
                settled_by=settled_by or f"positive and negative labels in the reference group {names[lref]} "
                                         "and the groups compared",
                **common,
            )
        )
    return {
        "rows": rows,
        "labels": labels,
        "reference_group": names[ref],
        "label_reference_group": names[lref] if labels else None,
        "ref": ref,
        "compared": compared,
        "resampled": resampled,
        "groups": groups,
        "checks": checks,
        "insufficient_groups": [names[g] for g in range(len(names)) if not sufficient[g]],
        "family_wise": {
            "method": "Šidák",
            "confidence": float(confidence),
            "comparisons": {k: f["comparisons"] for k, f in families.items()},
            "interval_confidence": {k: f["interval_confidence"] for k, f in families.items()},
            "power": POWER,
        },
    }


_JOINT_CELLS = 1 << 22  # an intersection with more possible combinations is coded row by row


def _groupings(p: Predictions) -> list[tuple[str, tuple[str, ...], np.ndarray]]:
    """(name, group names, cell counts) for each attribute and each intersection of two or more."""
    if len(p.attributes) < 2:
        return [("group", p.group_names, None)]  # type: ignore[list-item]  # one grouping: the caller reads the main analysis, never these cells
    labelled = p.y_true is not None
    outcome = [(p.y_true, 2), (p.y_pred, 2)] if p.y_true is not None else [(p.y_pred, 2)]
    cell_shape = (2, 2) if labelled else (1, 2)

    def counts(codes: np.ndarray, size: int) -> np.ndarray:
        return count_cells([(codes, size), *outcome]).reshape(size, *cell_shape)

    out = [(a.name, a.values, counts(a.codes, len(a.values))) for a in p.attributes]
    for size in range(2, min(len(p.attributes), 3) + 1):
        for combo in itertools.combinations(p.attributes, size):
            radix = [len(a.values) for a in combo]
            if math.prod(radix) <= _JOINT_CELLS:
                joint = count_cells([(a.codes, len(a.values)) for a in combo] + outcome)
                joint = joint.reshape(math.prod(radix), *cell_shape)
                present = np.flatnonzero(joint.sum(axis=(1, 2)))
                cells = joint[present]
            else:
                flat = np.zeros(p.rows, dtype=np.int64)
                for a in combo:
                    flat = flat * len(a.values) + a.codes
                present, codes = np.unique(flat, return_inverse=True)
                cells = counts(codes.ravel(), present.size)
            labels = []
            for value in present.tolist():
                parts = []
                for a in reversed(combo):
                    value, code = divmod(value, len(a.values))
                    parts.append(a.values[code])
                labels.append(" × ".join(reversed(parts)))
            order = np.argsort(labels, kind="stable")
            out.append((" × ".join(a.name for a in combo), tuple(labels[i] for i in order), cells[order]))
    return out


def fairness_report(
    p: Predictions,
    *,
    reference_group: str | None = None,
    air_floor: float = 0.8,
    eo_max_diff: float = 0.1,
    min_group_count: int = 30,
    n_boot: int = 10_000,
    seed: int = 20240601,
    confidence: float = 0.95,
    declared_attributes: Sequence[str] = (),
) -> dict[str, Any]:
    """Per-group rates and disparity checks with percentile bootstrap intervals (JSON-ready).

    The reference group defaults to the highest observed selection rate among groups with at
    least ``min_group_count`` rows. Smaller groups are reported with ``insufficient_data``; a
    check with such a group is never PASS (INCONCLUSIVE with the rows needed, or FAIL on the
    groups assessed). Checks: AIR >= ``air_floor``; with labels, EOD and equalized-odds
    difference <= ``eo_max_diff``. ``confidence`` is family-wise: the disparity intervals are
    Šidák-adjusted over the comparisons (``family_wise``). With a champion column, the change in
    AIR of every group (see ``_champion_section``); with a score column, AUC, KS and
    calibration (``scores``); with several protected-attribute columns, each attribute and
    their intersections (``by_attribute``; the top-level figures are the first attribute's).
    ``declared_attributes``, the protected attributes the model declares, are each listed in
    ``declared_attributes`` as evaluated, or INCONCLUSIVE with the reason (no such column in the file).
    Deterministic for a given ``seed``.
    """
    names = p.group_names
    _validate(p, names, reference_group, air_floor, eo_max_diff, min_group_count, n_boot, confidence)
    n_boot, min_group_count = int(n_boot), int(min_group_count)
    options: dict[str, Any] = {
        "air_floor": air_floor,
        "eo_max_diff": eo_max_diff,
        "min_group_count": min_group_count,
        "n_boot": n_boot,
        "seed": seed,
        "confidence": confidence,
    }
    paired = None
    if p.y_pred_champion is None:
        counts = cell_counts(p)
    else:
        # One pass over the rows for both: n[group, y_true, y_pred, champion decision].
        labels = [(p.y_true, 2)] if p.y_true is not None else []
        joint = count_cells([(p.group, len(names)), *labels, (p.y_pred, 2), (p.y_pred_champion, 2)])
        joint = joint.reshape(len(names), -1, 2, 2)
        counts = joint.sum(axis=-1)
        paired = joint.sum(axis=1).transpose(0, 2, 1)  # n[group, champion, challenger]
    main = _analyse(names, counts, reference_group=reference_group, paired=paired, **options)

    champion = None
    if p.y_pred_champion is not None:
        assert paired is not None
        champion = _champion_section(
            names,
            paired,
            main["ref"],
            main["compared"],
            main["resampled"],
            confidence=confidence,
            challenger_air_verdict=main["checks"][0]["verdict"],
        )

    scores = None
    if p.score is not None and p.y_true is not None:
        scores = score_report(
            p.score, p.y_true, p.group, names, min_group_count=min_group_count,
            n_boot=n_boot, seed=seed, confidence=confidence,
        )  # fmt: skip

    calibration = _calibration_summary(p, scores)

    by_attribute = []
    groupings = _groupings(p)
    if len(groupings) > 1:
        for label, values, counts in groupings:
            analysis = _analyse(values, counts, reference_group=None, **options)
            by_attribute.append(
                {
                    "attribute": label,
                    "intersection": " × " in label,
                    **{k: analysis[k] for k in ("reference_group", "groups", "checks", "insufficient_groups")},
                }
            )

    declared = _declared(p, declared_attributes)
    metrics = _flat_metrics(main, champion, scores, by_attribute)
    if declared:
        metrics["fairness.attributes.not_evaluated"] = sum(not a["evaluated"] for a in declared)
    return {
        "method": "closed-form (Wilson rates, MOVER ratios and differences); champion by multinomial cell bootstrap",
        "n_boot": n_boot,
        "seed": int(seed),
        "confidence": float(confidence),
        "rows": main["rows"],
        "labels": main["labels"],
        "reference_group": main["reference_group"],
        "label_reference_group": main["label_reference_group"],
        "thresholds": {
            "air_floor": float(air_floor),
            "eo_max_diff": float(eo_max_diff),
            "min_group_count": min_group_count,
        },
        "family_wise": main["family_wise"],
        "groups": main["groups"],
        "checks": main["checks"],
        "champion": champion,
        "scores": scores,
        "calibration": calibration,
        "by_attribute": by_attribute,
        "metrics": metrics,
        "declared_attributes": declared,
        "insufficient_groups": main["insufficient_groups"],
    }


def _calibration_summary(p: Predictions, scores: dict[str, Any] | None) -> dict[str, Any]:
    """The calibration check across groups (worst group's ECE, ``scores.calibration``) when the file allows it,
    else INCONCLUSIVE with what would settle it: scores, labels, or scores that are probabilities."""
    if scores is not None and scores["calibration"] is not None:
        return {"assessed": True, "verdict": None, "settled_by": None, **scores["calibration"]}
    if p.score is None:
        why, needs = "the predictions file has no score column", "a score column (probabilities between 0 and 1)"
        if p.y_true is None:
            needs += " and a y_true column"
    elif p.y_true is None:
        why, needs = "the predictions file has no y_true column", "a y_true column (the observed outcomes)"
    else:
        why, needs = "the scores are not probabilities (some fall outside 0 to 1)", "scores between 0 and 1"
    return {"assessed": False, "verdict": INCONCLUSIVE, "reason": why, "settled_by": needs,
            "detail": f"Calibration across groups is not assessed: {why}. What would settle it: {needs}."}


def _declared(p: Predictions, declared: Sequence[str]) -> list[dict[str, Any]]:
    """Each attribute the model declares: evaluated when the file has its column, else INCONCLUSIVE with why."""
    present = {a.name for a in p.attributes} or {"group"}
    out = []
    for name in dict.fromkeys(str(a) for a in declared):
        if name in present:
            out.append({"attribute": name, "evaluated": True, "verdict": None, "reason": None, "settled_by": None})
        else:
            out.append({"attribute": name, "evaluated": False, "verdict": INCONCLUSIVE,
                        "reason": f"the predictions file has no '{name}' column, so it is not evaluated",
                        "settled_by": f"a '{name}' column in the predictions file"})
    return out


def _flat_metrics(main: dict[str, Any], champion: dict[str, Any] | None, scores: dict[str, Any] | None,
                  by_attribute: list[dict[str, Any]]) -> dict[str, float | int]:
    """Numbers only, for the rule engine: KEY, KEY.ci_low, KEY.ci_high. Undefined values are left out."""
    groups, checks = main["groups"], main["checks"]
    metrics: dict[str, float | int] = {"rows": main["rows"], "groups.insufficient": len(main["insufficient_groups"])}

    def put(key: str, value: float | None) -> None:
        if value is not None:
            metrics[key] = value

    def put_checks(prefix: str, checks: list[dict[str, Any]], suffix: str = "") -> None:
        for check in checks:
            key = check["key"] + suffix
            put(key, check["estimate"])
            put(f"{key}.ci_low", check["ci_low"])
            put(f"{key}.ci_high", check["ci_high"])
            if check["verdict"] == INCONCLUSIVE:
                put(f"{key}.n_required", check["n_required"])

    put_checks("", checks)
    keys = unique_metric_keys([g["group"] for g in groups])
    for g in groups:
        key = keys[g["group"]]
        put(f"fairness.selection_rate.{key}", g["selection_rate"]["estimate"])
        if g["tpr"] is not None:
            put(f"tpr.{key}", g["tpr"]["estimate"])
            put(f"fpr.{key}", g["fpr"]["estimate"])
            for name in ("fnr", "ppv", "fdr", "for"):
                put(f"{name}.{key}", g[name]["estimate"])
    for key, name in _PARITY:
        values = [
            g[name]["estimate"] for g in groups
            if not g["insufficient_data"] and g.get(name) is not None and g[name]["estimate"] is not None
        ]
        if len(values) >= 2:
            metrics[key] = max(values) - min(values)
    if champion is not None:
        change = champion["air_change"]
        put("fairness.air_change", change["estimate"])
        put("fairness.air_change.ci_low", change["ci_low"])
        put("fairness.air_change.ci_high", change["ci_high"])
    if scores is not None:
        metrics.update(scores["metrics"])
    attr_keys = unique_metric_keys([a["attribute"].replace(" × ", "_x_") for a in by_attribute])
    for a in by_attribute:
        key = attr_keys[a["attribute"].replace(" × ", "_x_")]
        put_checks("", a["checks"], suffix=f".by.{key}")
        metrics[f"groups.insufficient.by.{key}"] = len(a["insufficient_groups"])
    return metrics
