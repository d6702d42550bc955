"""Feature drift between a baseline sample and a current one.

PSI, the population stability index, compares two histograms over the same bins:
``sum((a - e) * ln(a / e))`` over bins, with ``e`` and ``a`` the expected (baseline) and actual
(current) proportions. Common reading: below 0.1 stable, 0.1 to 0.2 worth watching, 0.2 and
above a real shift. Numbers are binned at the baseline's deciles, except that a value holding a
tenth or more of the baseline gets a bin of its own (a 0/1 flag, a capped score, a constant);
categories are binned by value.

PSI has a minimum sample: with few rows, noise alone makes it large (50 current rows on ten bins
reach 0.2 about half the time with no drift). When the PSI that noise alone reaches once in a
hundred samples is at or above the watch level, the feature is INSUFFICIENT instead of being
judged, with the number of current rows that would do.

PSI looks only at values that are present, so two further checks run beside it: the change in
the share of missing values and categories never seen in the baseline. Together they catch a
vendor changing how a field is populated (blanks where there used to be zeros, a new code).
"""

from __future__ import annotations

import math
import numbers
from collections import Counter
from collections.abc import Callable, Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .csvparse import StatsInputError, unique_metric_keys
from .text import plural

__all__ = ["drift_report", "psi", "psi_categorical", "psi_numeric"]

NEW_CATEGORIES_LISTED = 20

# A feature's values: a float array from ``parse_feature_table``, or a list of labels (None for missing).
Values = Sequence[Any] | np.ndarray
_STATUS_ORDER = {"OK": 0, "INSUFFICIENT": 1, "WATCH": 2, "ACT": 3}


def psi(expected_counts: ArrayLike, actual_counts: ArrayLike, eps: float = 1e-4) -> float:
    """PSI from two histograms over the same bins.

    A bin empty on one side would make ``ln(a / e)`` infinite, so each proportion is floored at
    ``eps`` first (not renormalised: the floor adds at most ``eps`` per bin). An empty bin then
    contributes a large but finite amount, about ``p * ln(p / eps)``.
    """
    e = np.asarray(expected_counts, dtype=np.float64).ravel()
    a = np.asarray(actual_counts, dtype=np.float64).ravel()
    if e.shape != a.shape:
        raise StatsInputError("counts", f"the histograms have {e.size} and {a.size} bins; they must match", code="bins_differ")
    if (e < 0).any() or (a < 0).any() or not (np.isfinite(e).all() and np.isfinite(a).all()):
        raise StatsInputError("counts", "histogram counts must be finite and not negative", code="invalid_counts")
    if e.sum() <= 0 or a.sum() <= 0:
        raise StatsInputError("counts", "a histogram with no values has no distribution to compare", code="empty_histogram")
    pe = np.maximum(e / e.sum(), eps)
    pa = np.maximum(a / a.sum(), eps)
    return float(np.sum((pa - pe) * np.log(pa / pe)))


def _numeric_bins(baseline: np.ndarray, bins: int) -> tuple[Callable[[np.ndarray], np.ndarray], int]:
    """A function mapping values to bin numbers, and the number of bins.

    A value holding at least ``1 / bins`` of the baseline (a point mass: the 1 of a 0/1 feature,
    a score capped at 100, a constant) gets a bin of its own, so a shift of mass onto or off it
    is seen; decile edges would all collapse onto it and put everything in one bin. The other
    values are binned at quantiles of what remains, with as many bins as their share warrants.
    Interval bins are closed on the right, (q_i, q_i+1]; point masses are taken out of them.
    """
    finite = baseline[np.isfinite(baseline)]
    masses = np.array([])
    if finite.size:
        values, counts = np.unique(finite, return_counts=True)
        masses = values[counts >= finite.size / bins]
    rest = finite[~np.isin(finite, masses)]
    edges = np.array([])
    if rest.size:
        k = max(1, round(bins * rest.size / finite.size))
        edges = np.unique(np.quantile(rest, np.arange(1, k) / k))
    edges = np.union1d(edges, masses)
    intervals = edges.size + 1

    def assign(x: np.ndarray) -> np.ndarray:
        codes = np.searchsorted(edges, x, side="left")
        if masses.size:
            at = np.minimum(np.searchsorted(masses, x, side="left"), masses.size - 1)
            codes = np.where(masses[at] == x, intervals + at, codes)
        return codes

    return assign, intervals + masses.size


def psi_numeric(baseline: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """PSI of a numeric feature, binned at the baseline's quantiles (deciles by default), with a
    bin of its own for every value holding a tenth or more of the baseline (see ``_numeric_bins``).
    NaNs are excluded here (the null-rate check covers them).
    """
    b, c = _present(baseline), _present(current)
    if b.size == 0 or c.size == 0:
        raise StatsInputError("values", "PSI needs at least one non-missing value on each side", code="no_values")
    return psi(*_numeric_histograms(b, c, bins))


def _numeric_histograms(b: np.ndarray, c: np.ndarray, bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
    assign, n_bins = _numeric_bins(b, bins)
    return np.bincount(assign(b), minlength=n_bins), np.bincount(assign(c), minlength=n_bins)


def _present(values: ArrayLike) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).ravel()
    return v[~np.isnan(v)]


def _chi2_quantile(q: float, df: int) -> float:
    """Wilson-Hilferty approximation of the chi-square quantile (within 1 % for df >= 1 at q=0.99)."""
    z = NormalDist().inv_cdf(q)
    h = 2.0 / (9.0 * df)
    return df * (1.0 - h + z * math.sqrt(h)) ** 3


def psi_noise(bins: int, n_baseline: int, n_current: int, q: float = 0.99) -> float:
    """The PSI that sampling noise alone reaches with probability ``1 - q`` when nothing drifted.

    With no drift, PSI times ``1 / (1/n + 1/m)`` is approximately chi-square with ``bins - 1``
    degrees of freedom (PSI is the symmetrised Kullback-Leibler divergence, whose scaled
    estimate follows the same law as Pearson's statistic).
    """
    if bins < 2:
        return 0.0
    return _chi2_quantile(q, bins - 1) * (1.0 / n_baseline + 1.0 / n_current)


def current_rows_needed(bins: int, n_baseline: int, level: float, q: float = 0.99) -> int | None:
    """Current rows at which ``psi_noise`` falls below ``level``; None if the baseline is too small."""
    room = level / _chi2_quantile(q, max(bins - 1, 1)) - 1.0 / n_baseline
    return None if room <= 0 else math.ceil(1.0 / room)


def _is_missing(v: object) -> bool:
    return v is None or v == "" or (isinstance(v, float) and math.isnan(v))


def psi_categorical(baseline: Sequence[str], current: Sequence[str]) -> float:
    """PSI of a categorical feature, one bin per category seen on either side.

    Missing values (None, NaN, empty string) are excluded here (the null-rate check covers them).
    """
    b = Counter(v for v in baseline if not _is_missing(v))
    c = Counter(v for v in current if not _is_missing(v))
    if not b or not c:
        raise StatsInputError("values", "PSI needs at least one non-missing value on each side", code="no_values")
    return psi(*_categorical_histograms(b, c))


def _categorical_histograms(b: Counter[Any], c: Counter[Any]) -> tuple[list[int], list[int]]:
    categories = sorted(set(b) | set(c), key=str)
    return [b[k] for k in categories], [c[k] for k in categories]


def _histograms(base: Values, cur: Values, numeric: bool) -> tuple[np.ndarray | list[int], np.ndarray | list[int]]:
    """Baseline and current histograms over the same bins (missing values left out)."""
    b: np.ndarray | Counter[Any]
    c: np.ndarray | Counter[Any]
    if numeric:
        b, c = _present(base), _present(cur)
        if b.size == 0 or c.size == 0:
            raise StatsInputError("values", "PSI needs at least one non-missing value on each side", code="no_values")
        return _numeric_histograms(b, c)
    b = Counter(v for v in base if not _is_missing(v))
    c = Counter(v for v in cur if not _is_missing(v))
    if not b or not c:
        raise StatsInputError("values", "PSI needs at least one non-missing value on each side", code="no_values")
    return _categorical_histograms(b, c)


# --------------------------------------------------------------------------------------------


def _is_numeric(values: Values) -> bool:
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
        return True
    present = [v for v in values if not _is_missing(v)]
    return all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in present)


def _as_float(values: Values) -> np.ndarray:
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
        return values.astype(np.float64, copy=False).ravel()
    return np.array([np.nan if _is_missing(v) else float(v) for v in values], dtype=np.float64)


def _as_labels(values: Values) -> list[str | None]:
    """Values as strings for categorical comparison; numbers written the way a CSV would hold them."""
    out: list[str | None] = []
    for v in values.tolist() if isinstance(values, np.ndarray) else values:
        if _is_missing(v):
            out.append(None)
        elif isinstance(v, float) and v.is_integer():
            out.append(str(int(v)))
        else:
            out.append(str(v))
    return out


def _null_rate(values: Values, numeric: bool) -> float | None:
    n = len(values)
    if n == 0:
        return None
    if numeric:
        return float(np.isnan(_as_float(values)).mean())
    return sum(1 for v in values if _is_missing(v)) / n


def _feature(name: str, base: Values | None, cur: Values | None, *, psi_act: float, psi_watch: float,
             null_rate_tolerance: float) -> dict[str, Any]:
    reasons: list[str] = []
    status = "OK"

    def raise_to(level: str, why: str) -> None:
        nonlocal status
        reasons.append(why)
        if _STATUS_ORDER[level] > _STATUS_ORDER[status]:
            status = level

    kinds = {side: _is_numeric(v) for side, v in (("baseline", base), ("current", cur)) if v is not None}
    numeric = all(kinds.values())
    if len(set(kinds.values())) > 1:
        if kinds["baseline"]:
            changed = "numeric in the baseline, text in the current data"
        else:
            changed = "text in the baseline, numeric in the current data"
        raise_to("ACT", f"type changed: {changed}; compared as categories")
    convert = _as_float if numeric else _as_labels
    base_v = convert(base) if base is not None else None
    cur_v = convert(cur) if cur is not None else None

    base_null = _null_rate(base_v, numeric) if base_v is not None else None
    cur_null = _null_rate(cur_v, numeric) if cur_v is not None else None
    delta = cur_null - base_null if base_null is not None and cur_null is not None else None

    value, insufficient = None, False
    new: list[Any] | None
    new_count: int | None
    new, new_count = (None, None) if numeric else ([], 0)
    if base_v is None:
        raise_to("WATCH", "not in the baseline, so there is nothing to compare it with")
    elif cur_v is None:
        raise_to("ACT", "missing from the current data")
    else:
        try:
            expected, actual = _histograms(base_v, cur_v, numeric)
            value = psi(expected, actual)
        except StatsInputError:
            # Nothing to compare is not a stable feature: a column empty in both files would otherwise be OK.
            empty = [side for side, v in (("baseline", base_v), ("current", cur_v)) if _null_rate(v, numeric) == 1.0]
            where = " and ".join(empty) or "one side"
            raise_to("INSUFFICIENT", f"PSI undefined: no values present in the {where}")
        if value is not None:
            # Minimum sample: below it, noise alone would reach the watch level too often to read
            # the PSI at all (50 rows on ten bins reach 0.2 about half the time with no drift).
            used = int(np.count_nonzero(np.add(expected, actual)))
            n_b, n_c = int(np.sum(expected)), int(np.sum(actual))
            noise = psi_noise(used, n_b, n_c)
            if noise >= psi_watch:
                needed = current_rows_needed(used, n_b, psi_watch)
                more = (
                    f"about {plural(needed, 'current row')} would do" if needed is not None
                    else "the baseline is too small as well"
                )
                raise_to(
                    "INSUFFICIENT",
                    f"PSI {value:.3f} is not read: with {n_c:,} current and {plural(n_b, 'baseline value')} over "
                    f"{plural(used, 'bin')}, noise alone reaches {noise:.3f} once in a hundred samples, above the "
                    f"watch level {psi_watch:g}; {more}",
                )
                insufficient = True
        if value is not None and not insufficient:
            if value >= psi_act:
                raise_to("ACT", f"PSI {value:.3f} is at or above {psi_act:g}")
            elif value >= psi_watch:
                raise_to("WATCH", f"PSI {value:.3f} is at or above {psi_watch:g}")
        if delta is not None and abs(delta) > null_rate_tolerance:
            raise_to(
                "ACT",
                f"missing values went from {base_null:.1%} to {cur_null:.1%} "
                f"(tolerance {null_rate_tolerance:.1%})",
            )
        if not numeric:
            seen = {v for v in base_v if v is not None}
            unseen = sorted({v for v in cur_v if v is not None} - seen)
            new, new_count = unseen[:NEW_CATEGORIES_LISTED], len(unseen)
            if unseen:
                noun = "category" if len(unseen) == 1 else "categories"
                raise_to("WATCH", f"{len(unseen)} {noun} not seen in the baseline")
    return {
        "feature": name,
        "kind": "numeric" if numeric else "categorical",
        "psi": value,
        "status": status,
        "baseline_null_rate": base_null,
        "current_null_rate": cur_null,
        "null_rate_delta": delta,
        "new_categories": new,
        "new_categories_count": new_count,
        "missing_in_current": cur is None,
        "missing_in_baseline": base is None,
        "psi_insufficient": insufficient,
        "reasons": reasons,
    }


def drift_report(
    baseline: dict[str, list[Any] | np.ndarray],
    current: dict[str, list[Any] | np.ndarray],
    *,
    psi_act: float = 0.2,
    psi_watch: float = 0.1,
    null_rate_tolerance: float = 0.05,
) -> dict[str, Any]:
    """Per-feature drift of ``current`` against ``baseline`` (JSON-ready).

    A feature's status is the worst of:

    - ACT: PSI >= ``psi_act``; share of missing values changed by more than
      ``null_rate_tolerance``; feature missing from the current data; type changed (numbers
      became text or the reverse);
    - WATCH: PSI >= ``psi_watch``; categories not seen in the baseline; feature absent from the
      baseline (reported, with nothing to compare);
    - INSUFFICIENT: too few rows to read the PSI (see ``psi_noise``); its PSI is reported but
      left out of the ``psi.*`` metrics, and ``psi.insufficient`` counts such features;
    - OK otherwise. ``reasons`` lists what raised it.

    Features present on only one side are reported, never dropped. A feature is numeric when its
    present values are all numbers (a float array from ``parse_feature_table``), else categorical.
    """
    if not isinstance(baseline, dict) or not isinstance(current, dict):
        raise StatsInputError("file", "baseline and current data must be tables of named features", code="not_a_table")
    if not 0 <= psi_watch <= psi_act:
        raise StatsInputError("psi_watch", "the PSI watch level must be between 0 and the act level", code="out_of_range")
    names = list(baseline) + [name for name in current if name not in baseline]
    features = [
        _feature(
            name,
            baseline.get(name),
            current.get(name),
            psi_act=psi_act,
            psi_watch=psi_watch,
            null_rate_tolerance=null_rate_tolerance,
        )
        for name in names
    ]
    overall = max((f["status"] for f in features), key=_STATUS_ORDER.__getitem__, default="OK")
    return {
        "method": "psi-baseline-deciles-point-masses",
        "psi_noise_quantile": 0.99,
        "thresholds": {
            "psi_act": float(psi_act),
            "psi_watch": float(psi_watch),
            "null_rate_tolerance": float(null_rate_tolerance),
        },
        "status": overall,
        "features": features,
        "metrics": _flat_metrics(features),
    }


def _flat_metrics(features: list[dict[str, Any]]) -> dict[str, float | int]:
    """Numbers only, for the rule engine; values that are undefined are left out."""
    metrics: dict[str, float | int] = {}
    keys = unique_metric_keys([f["feature"] for f in features])
    psis, deltas, news = [], [], []
    for f in features:
        key = keys[f["feature"]]
        if f["psi"] is not None and not f["psi_insufficient"]:
            metrics[f"psi.{key}"] = f["psi"]
            psis.append(f["psi"])
        if f["null_rate_delta"] is not None:
            metrics[f"null_rate_delta.{key}"] = abs(f["null_rate_delta"])
            deltas.append(abs(f["null_rate_delta"]))
        if (
            f["new_categories_count"] is not None
            and not f["missing_in_current"]
            and not f["missing_in_baseline"]
        ):
            metrics[f"new_categories.{key}"] = f["new_categories_count"]
            news.append(f["new_categories_count"])
    metrics["psi.insufficient"] = sum(1 for f in features if f["psi_insufficient"])
    for name, values in (("psi", psis), ("null_rate_delta", deltas), ("new_categories", news)):
        if values:
            metrics[f"{name}.max"] = max(values)
    return metrics
