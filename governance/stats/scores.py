"""What a model's scores say, before any threshold: discrimination and calibration per group.

- AUC: probability that a random positive scores above a random negative (ties count half);
- KS: the largest distance between the score distributions of positives and negatives;
- Brier score: mean of (score - label)^2, for scores that are probabilities (all in [0, 1]);
- reliability table: in ten equal-width score bins, the mean score against the observed rate.

Point estimates are exact (ranks over the rows). Intervals come from the same cell bootstrap as
the rest of the engine: scores are put in at most ``MAX_BINS`` bins (every distinct value when
there are few, quantiles of all scores otherwise), rows are counted once into cells
``n[group, label, bin]``, and each resample draws the cells multinomially. The binned statistic's
resampled deviation from its own estimate is added to the exact estimate (a shifted percentile
interval), so binning coarsens only the spread, never the figure. The Brier score's resamples
reweigh each cell's mean squared error by the resampled counts.

Threshold-free disparity: the AUC gap of each group behind the group with the highest AUC, with
an interval of the signed gap (Šidák-adjusted over all pairs of groups, not folded at zero); the
check figure is the largest gap.
"""

from __future__ import annotations

import math
from typing import Any, Literal, SupportsFloat

import numpy as np

from .csvparse import unique_metric_keys
from .intervals import _abs_interval, sidak

__all__ = ["score_report"]

MAX_BINS = 100
RELIABILITY_BINS = 10
_MAX_BOOT = 2000  # resamples for score figures: (B x groups x 2 x bins) cells per block
_BLOCK_ELEMENTS = 4_000_000
_SLICE_ROWS = 1 << 18  # rows binned at a time


def _num(x: SupportsFloat | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _interval(est: SupportsFloat | None, low: SupportsFloat | None, high: SupportsFloat | None) -> dict[str, Any]:
    return {"estimate": _num(est), "ci_low": _num(low), "ci_high": _num(high)}


def exact_auc(score: np.ndarray, y: np.ndarray) -> float:
    """Mann-Whitney AUC with average ranks for ties; NaN without both labels."""
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
    pos, neg = np.sort(score[y == 1]), np.sort(score[y == 0])
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    points = np.unique(score)
    f1 = np.searchsorted(pos, points, side="right") / pos.size
    f0 = np.searchsorted(neg, points, side="right") / neg.size
    return float(np.abs(f1 - f0).max())


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
    """Percentile interval of ``samples`` moved by (exact - binned) estimate."""
    samples = samples[np.isfinite(samples)]
    if samples.size < 2 or not (math.isfinite(binned_est) and math.isfinite(exact_est)):
        return None, None
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(samples, [tail, 100 - tail])
    return lo + exact_est - binned_est, hi + exact_est - binned_est


def _reliability(score: np.ndarray, y: np.ndarray) -> list[dict[str, Any]]:
    edges = np.linspace(0, 1, RELIABILITY_BINS + 1)
    which = np.clip(np.searchsorted(edges, score, side="right") - 1, 0, RELIABILITY_BINS - 1)
    n = np.bincount(which, minlength=RELIABILITY_BINS)
    s = np.bincount(which, weights=score, minlength=RELIABILITY_BINS)
    k = np.bincount(which, weights=y, minlength=RELIABILITY_BINS)
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
    probabilities = bool(score.size and score.min() >= 0 and score.max() <= 1)
    distinct = np.unique(score)
    side: Literal["left", "right"]
    if distinct.size <= MAX_BINS:
        edges, side, n_bins = distinct, "left", distinct.size
    else:
        edges = np.unique(np.quantile(score, np.arange(1, MAX_BINS) / MAX_BINS))
        side, n_bins = "left", edges.size + 1
    del distinct  # as large as the file when scores are continuous
    # Cells n[group, label, bin] and their squared errors, counted in slices of rows so that
    # the int64 and float64 temporaries stay small whatever the file.
    size = groups * 2 * n_bins
    cells: np.ndarray = np.zeros(size, dtype=np.int64)
    sq: np.ndarray = np.zeros(size)
    for start in range(0, score.size, _SLICE_ROWS):
        part = slice(start, start + _SLICE_ROWS)
        flat = (group[part].astype(np.int64) * 2 + y[part]) * n_bins + np.searchsorted(edges, score[part], side=side)
        cells += np.bincount(flat, minlength=size)
        sq += np.bincount(flat, weights=(score[part] - y[part]) ** 2, minlength=size)
    cells, sq = cells.reshape(groups, 2, n_bins), sq.reshape(groups, 2, n_bins)
    mse = np.divide(sq, cells, out=np.zeros_like(sq), where=cells > 0)

    sizes = cells.sum(axis=(1, 2))
    sufficient = sizes >= min_group_count
    with_both = sufficient & (cells[:, 0].sum(1) > 0) & (cells[:, 1].sum(1) > 0)

    # Exact figures.
    def exact(mask: np.ndarray | None) -> dict[str, float]:
        s, t = (score, y) if mask is None else (score[mask], y[mask])
        out = {"auc": exact_auc(s, t), "ks": exact_ks(s, t)}
        out["brier"] = float(np.mean((s - t) ** 2)) if probabilities and s.size else float("nan")
        return out

    overall_exact = exact(None)
    group_exact = [exact(group == g) for g in range(groups)]

    # Bootstrap over cells: group sizes, then each group's (label, bin) cells.
    b = int(min(n_boot, _MAX_BOOT))
    rng = np.random.default_rng([seed, 2])
    within = cells.reshape(groups, -1) / np.maximum(sizes, 1)[:, None]
    within[sizes == 0, 0] = 1.0
    drawn_sizes = rng.multinomial(int(sizes.sum()), sizes / sizes.sum(), size=b)
    total = np.zeros((b, 2 * n_bins))
    stats = {k: np.full((b, groups), np.nan) for k in ("auc", "ks", "brier")}
    block = max(1, _BLOCK_ELEMENTS // (b * 2 * n_bins))
    flat_mse = mse.reshape(groups, -1)
    for start in range(0, groups, block):
        idx = np.arange(start, min(groups, start + block))
        drawn = rng.multinomial(drawn_sizes[:, idx], within[idx])  # (B, k, 2 * bins)
        total += drawn.sum(axis=1)
        auc, ks = _binned(drawn.reshape(b, idx.size, 2, n_bins))
        stats["auc"][:, idx], stats["ks"][:, idx] = auc, ks
        with np.errstate(invalid="ignore", divide="ignore"):
            stats["brier"][:, idx] = (drawn * flat_mse[idx]).sum(-1) / drawn.sum(-1)
    overall_auc, overall_ks = _binned(total.reshape(b, 2, n_bins))
    overall_brier = (total * mse.sum(0).reshape(-1) / np.maximum(cells.sum(0).reshape(-1), 1)).sum(-1) / total.sum(-1)
    binned_auc, binned_ks = _binned(cells)
    binned_auc_all, binned_ks_all = _binned(cells.sum(0))
    binned_brier = (sq.sum(axis=(1, 2))) / np.maximum(sizes, 1)

    def figure(name: str, samples: np.ndarray, binned_est: float | np.ndarray, exact_est: float) -> dict[str, Any] | None:
        if name == "brier" and not probabilities:
            return None
        lo, hi = _shifted(samples, binned_est, exact_est, confidence)
        return _interval(exact_est, lo, hi)

    overall = {
        "n": int(score.size),
        "auc": figure("auc", overall_auc, binned_auc_all, overall_exact["auc"]),
        "ks": figure("ks", overall_ks, binned_ks_all, overall_exact["ks"]),
        "brier": figure("brier", overall_brier, float(sq.sum() / max(score.size, 1)), overall_exact["brier"]),
        "reliability": _reliability(score, y) if probabilities else None,
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
                "reliability": _reliability(score[group == g], y[group == g]) if probabilities else None,
            }
        )

    # AUC gap behind the best group, over groups with enough rows and both labels.
    gap: dict[str, Any] = {"estimate": None, "ci_low": None, "ci_high": None, "group": None, "reference_group": None}
    usable = np.flatnonzero(with_both & np.isfinite([e["auc"] for e in group_exact]))
    pairs = max(usable.size * (usable.size - 1) // 2, 1)
    level = sidak(confidence, pairs)
    if usable.size >= 2:
        exact_aucs = np.array([group_exact[g]["auc"] for g in usable])
        best = usable[int(np.argmax(exact_aucs))]
        rows = []
        tail = (1 - level) / 2 * 100
        for g in usable.tolist():
            if g == best:
                continue
            diff = stats["auc"][:, best] - stats["auc"][:, g]
            diff = diff[np.isfinite(diff)]
            shift = (group_exact[best]["auc"] - group_exact[g]["auc"]) - (binned_auc[best] - binned_auc[g])
            lo, hi = np.percentile(diff, [tail, 100 - tail]) + shift
            lo, hi = _abs_interval(lo, hi)
            rows.append((names[g], group_exact[best]["auc"] - group_exact[g]["auc"], float(lo), float(hi)))
        worst = max(rows, key=lambda r: r[1])
        gap = _interval(worst[1], max(r[2] for r in rows), max(r[3] for r in rows)) | {
            "group": worst[0],
            "reference_group": names[best],
        }
    gap |= {"comparisons": pairs, "interval_confidence": level, "confidence": confidence}

    return {
        "method": "multinomial-cell-bootstrap over score bins (shifted percentile)",
        "n_boot": b,
        "bins": int(n_bins),
        "probabilities": probabilities,
        "overall": overall,
        "groups": per_group,
        "auc_gap": gap,
        "metrics": _metrics(overall, per_group, gap),
    }


def _metrics(overall: dict[str, Any], per_group: list[dict[str, Any]], gap: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}

    def put(key: str, fig: dict[str, Any] | None) -> None:
        if fig is not None and fig["estimate"] is not None:
            out[key] = fig["estimate"]
            if fig["ci_low"] is not None:
                out[f"{key}.ci_low"], out[f"{key}.ci_high"] = fig["ci_low"], fig["ci_high"]

    for name in ("auc", "ks", "brier"):
        put(name, overall[name])
    keys = unique_metric_keys([g["group"] for g in per_group])
    for g in per_group:
        for name in ("auc", "ks", "brier"):
            put(f"{name}.{keys[g['group']]}", g[name])
    put("fairness.auc_gap", gap)
    return out
