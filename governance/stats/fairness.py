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
through in blocks of groups with bounded memory.

A resample in which a denominator is zero (a group drawn with no positive labels, a reference
group drawn with no selections) leaves that quantity undefined (NaN) in that resample; its
interval is taken over the resamples where it is defined (what ``np.nanpercentile`` does).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from .csvparse import Predictions, StatsInputError, unique_metric_keys

__all__ = ["cell_counts", "fairness_report"]

PASS, FAIL, INCONCLUSIVE = "PASS", "FAIL", "INCONCLUSIVE"
REGRESSION, NO_REGRESSION = "REGRESSION", "NO_REGRESSION"

# Per-block budget for bootstrap arrays (elements), so memory stays bounded with many groups.
_BLOCK_ELEMENTS = 2_000_000


def cell_counts(p: Predictions) -> np.ndarray:
    """Counts ``n[group, y_true, y_pred]``; the y_true axis has size 1 when there are no labels."""
    groups = len(p.group_names)
    if p.y_true is None:
        flat = p.group.astype(np.int64) * 2 + p.y_pred
        return np.bincount(flat, minlength=groups * 2).reshape(groups, 1, 2)
    flat = (p.group.astype(np.int64) * 2 + p.y_true) * 2 + p.y_pred
    return np.bincount(flat, minlength=groups * 4).reshape(groups, 2, 2)


# --------------------------------------------------------------------------------------------
# Rates over arrays of cells; leading axes (resamples) are carried through.


def _ratio(num, den):
    """num / den with NaN wherever it is undefined (0/0) or infinite (x/0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.divide(num, den, dtype=np.float64)
    return np.where(np.isfinite(out), out, np.nan)


def _rates(cells: np.ndarray) -> dict[str, np.ndarray]:
    """Selection rate, and TPR/FPR when labelled, from cells of shape (..., T, 2)."""
    out = {"sel": _ratio(cells[..., 1].sum(axis=-1), cells.sum(axis=(-2, -1)))}
    if cells.shape[-2] == 2:
        out["tpr"] = _ratio(cells[..., 1, 1], cells[..., 1, :].sum(axis=-1))
        out["fpr"] = _ratio(cells[..., 0, 1], cells[..., 0, :].sum(axis=-1))
    return out


def _disparities(rates: dict, ref: dict) -> dict[str, np.ndarray]:
    """AIR, EOD and equalized-odds difference of groups against reference rates (broadcast)."""
    out = {"air": _ratio(rates["sel"], ref["sel"])}
    if "tpr" in rates:
        tpr_gap = np.abs(rates["tpr"] - ref["tpr"])
        fpr_gap = np.abs(rates["fpr"] - ref["fpr"])
        out["eod"] = tpr_gap
        out["eqodds"] = np.maximum(tpr_gap, fpr_gap)  # NaN if either gap is undefined
    return out


def _percentile_interval(samples: np.ndarray, confidence: float) -> np.ndarray:
    """(2, K) percentile interval of each column of a (B, K) array, ignoring NaN resamples.

    Same result as ``np.nanpercentile``, but columns without NaN (the usual case) go through the
    much faster ``np.percentile`` in one call. Columns with no defined resample give NaN.
    """
    tail = (1.0 - confidence) / 2.0 * 100.0
    q = [tail, 100.0 - tail]
    out = np.full((2, samples.shape[1]), np.nan)
    defined = ~np.isnan(samples)
    complete = defined.all(axis=0)
    if complete.any():
        out[:, complete] = np.percentile(samples[:, complete], q, axis=0)
    for j in np.flatnonzero(~complete & defined.any(axis=0)):
        out[:, j] = np.percentile(samples[defined[:, j], j], q)
    return out


def _spread(samples: np.ndarray, confidence: float) -> np.ndarray:
    """z * bootstrap standard deviation of each column (NaN resamples ignored): a half-width
    that, unlike a percentile interval folded at zero, scales as 1/sqrt(n)."""
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    out = np.full(samples.shape[1], np.nan)
    defined = ~np.isnan(samples)
    for j in np.flatnonzero(defined.sum(axis=0) >= 2):
        out[j] = z * samples[defined[:, j], j].std()
    return out


# --------------------------------------------------------------------------------------------
# JSON helpers


def _num(x) -> float | None:
    """A plain float for JSON, or None for NaN/inf (JSON has no NaN)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _interval(estimate, low, high) -> dict:
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


# n_required aims for the predicted interval edge to clear the threshold by a tenth of the gap
# between estimate and threshold; aiming at the gap itself would put the edge exactly on the
# threshold, and a rerun at that size would settle the check only half the time.
_SETTLE_MARGIN = 0.9


def _rows_required(per_group: list[tuple], comparator: str, threshold: float, rows: int) -> int | None:
    """Rows at which an inconclusive check would settle, if the estimates held.

    Half-widths are taken to shrink as 1/sqrt(n), so a group's interval clears the threshold at
    ``rows * (half_width / (0.9 * |estimate - threshold|))^2`` rows (0.9: see
    ``_SETTLE_MARGIN``). The half-width is z times the bootstrap standard error of the signed
    quantity (the ratio, or the difference before taking its absolute value): the percentile
    interval of an absolute difference near zero is folded at zero and would understate it.
    If some group's estimate is on the failing side, the check settles (FAIL) as soon as the
    first such group's interval clears the threshold: the minimum over those groups. Otherwise
    it settles (PASS) once the last group's interval clears it: the maximum. None when a
    deciding estimate sits exactly on the threshold, which no sample size can settle.
    """
    sign = 1.0 if comparator == ">=" else -1.0  # mirror "<=" onto ">="
    t = sign * threshold
    groups = []
    for _, est, low, high, half_width in per_group:
        if not math.isfinite(half_width):
            half_width = (high - low) / 2.0
        groups.append((sign * est, half_width))
    failing = [(e, hw) for e, hw in groups if e < t]
    if failing:
        need = min(rows * (hw / (_SETTLE_MARGIN * (t - e))) ** 2 for e, hw in failing)
    elif all(e > t for e, _ in groups):
        need = max(rows * (hw / (_SETTLE_MARGIN * (e - t))) ** 2 for e, hw in groups)
    else:
        return None
    return max(math.ceil(need), rows + 1)


def _check(
    *,
    key: str,
    label: str,
    metric: str,
    comparator: str,
    threshold: float,
    per_group: list[tuple],
    rows: int,
    confidence: float,
    unavailable: str,
) -> dict:
    """Combine per-group intervals into one check over all groups.

    ``per_group`` holds (group, estimate, ci_low, ci_high, half_width). For ">=" the check's
    interval is (min of ci_low, min of ci_high): its low end clears the threshold only if every
    group's does (PASS), and its high end misses it if any group's whole interval does (FAIL).
    "<=" mirrors this with maxima. The reported group is the one deciding the low (">=") or
    high ("<=") end; the estimate is the worst estimate (min for ">=", max for "<=").
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
        "detail": "",
    }
    if not per_group:
        check["detail"] = f"The {metric} cannot be assessed: {unavailable}."
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
    text = (
        f"Worst group {per_group[worst][0]}: {metric} {_f(per_group[worst][1])}. Across groups the "
        f"{metric} is {_f(estimate)} ({pct} interval {_f(low)} to {_f(high)}); it must be {words} "
        f"{threshold:g}. "
    )
    n_required = None
    if verdict == PASS:
        text += f"The whole interval is {words} the threshold."
    elif verdict == FAIL:
        which = " for at least one group" if len(per_group) > 1 else ""
        text += f"The whole interval is on the wrong side of the threshold{which}."
    else:
        n_required = _rows_required(per_group, comparator, threshold, rows)
        if n_required is None:
            text += (
                "The interval straddles the threshold and the estimate sits on it, so this cannot be "
                "settled by sample size alone."
            )
        else:
            text += (
                f"The interval straddles the threshold; about {n_required:,} rows (now {rows:,}) would "
                "settle it if the estimates hold."
            )
    check.update(
        group=per_group[worst][0],
        estimate=_num(estimate),
        ci_low=_num(low),
        ci_high=_num(high),
        verdict=verdict,
        n_required=n_required,
        detail=text,
    )
    return check


# --------------------------------------------------------------------------------------------
# Bootstrap


def _bootstrap_groups(
    counts: np.ndarray, ref: int, *, n_boot: int, seed: int, confidence: float
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per-group (2, G) intervals of every rate and disparity against group ``ref``, and (G,)
    half-widths of the disparities for sizing (see ``_spread``)."""
    groups = counts.shape[0]
    cells = counts.reshape(groups, -1)
    n_cells = cells.shape[1]
    sizes_obs = cells.sum(axis=1)
    total = int(sizes_obs.sum())
    within = np.zeros(cells.shape)
    nonempty = sizes_obs > 0
    within[nonempty] = cells[nonempty] / sizes_obs[nonempty, None]
    within[~nonempty, 0] = 1.0  # never drawn (size always 0); any valid distribution will do

    rng = np.random.default_rng(seed)
    sizes = rng.multinomial(total, sizes_obs / total, size=n_boot)  # (B, G)
    ref_cells = rng.multinomial(sizes[:, ref], within[ref])  # (B, cells)
    ref_rates = _rates(ref_cells.reshape(n_boot, *counts.shape[1:]))

    labelled = counts.shape[1] == 2
    names = ["sel", "tpr", "fpr", "air", "eod", "eqodds"] if labelled else ["sel", "air"]
    intervals = {name: np.full((2, groups), np.nan) for name in names}
    spreads = {name: np.full(groups, np.nan) for name in names if name in ("air", "eod", "eqodds")}
    if labelled:  # the equalized-odds gap follows whichever rate differs more in the data
        observed = _rates(counts)
        tpr_leads = np.abs(observed["tpr"] - observed["tpr"][ref]) >= np.abs(
            observed["fpr"] - observed["fpr"][ref]
        )
    own = _percentile_interval(np.column_stack([ref_rates[k] for k in ref_rates]), confidence)
    for i, k in enumerate(ref_rates):
        intervals[k][:, ref] = own[:, i]

    others = np.array([g for g in range(groups) if g != ref], dtype=np.int64)
    block = max(1, _BLOCK_ELEMENTS // (n_boot * n_cells))
    for start in range(0, others.shape[0], block):
        idx = others[start : start + block]
        drawn = rng.multinomial(sizes[:, idx], within[idx])  # (B, k, cells)
        rates = _rates(drawn.reshape(n_boot, idx.shape[0], *counts.shape[1:]))
        values = rates | _disparities(rates, {k: v[:, None] for k, v in ref_rates.items()})
        stacked = np.concatenate([values[name] for name in names], axis=1)  # (B, k * len(names))
        bounds = _percentile_interval(stacked, confidence)
        for i, name in enumerate(names):
            intervals[name][:, idx] = bounds[:, i * idx.shape[0] : (i + 1) * idx.shape[0]]
        signed = {"air": values["air"]}
        if labelled:
            tpr_diff = rates["tpr"] - ref_rates["tpr"][:, None]
            signed["eod"] = tpr_diff
            signed["eqodds"] = np.where(tpr_leads[idx], tpr_diff, rates["fpr"] - ref_rates["fpr"][:, None])
        for name, samples in signed.items():
            spreads[name][idx] = _spread(samples, confidence)
    return intervals, spreads


def _champion_section(
    p: Predictions,
    ref: int,
    worst: int | None,
    *,
    n_boot: int,
    seed: int,
    confidence: float,
    challenger_air_verdict: str,
) -> dict:
    """Champion (current model) vs challenger (new model) on the same rows.

    Cells are paired: n[group, champion decision, challenger decision] for the reference group
    and the challenger's worst group, plus one cell for every other row, all drawn jointly in one
    multinomial so that each resample keeps how the two models agree on the same rows. The
    change is AIR(challenger) - AIR(champion) for the worst group, both against the same
    reference group.

    Verdict: REGRESSION when the whole interval of the change is below 0; NO_REGRESSION when the
    whole interval is at or above 0, or when it straddles 0 but the challenger's own AIR check
    passes; INCONCLUSIVE otherwise.
    """
    empty = {
        "air_change": _interval(None, None, None),
        "challenger_air": _interval(None, None, None),
        "champion_air": _interval(None, None, None),
        "verdict": INCONCLUSIVE,
    }
    if worst is None:
        why = "No group could be compared with the reference group, so the change in AIR cannot be assessed."
        return empty | {"detail": why}
    pair = p.y_pred_champion.astype(np.int64) * 2 + p.y_pred  # champion decision, challenger decision
    slot = np.full(len(p.group_names), 8, dtype=np.int64)  # 8 = "any other row"
    slot[ref], slot[worst] = 0, 4
    flat = np.where(slot[p.group] == 8, 8, slot[p.group] + pair)
    observed = np.bincount(flat, minlength=9)
    rows = int(observed.sum())

    def airs(c):  # c: (..., 9) -> challenger AIR, champion AIR
        ref_c, worst_c = c[..., 0:4], c[..., 4:8]
        challenger = (
            _ratio(worst_c[..., 1] + worst_c[..., 3], worst_c.sum(-1)),
            _ratio(ref_c[..., 1] + ref_c[..., 3], ref_c.sum(-1)),
        )
        champion = (
            _ratio(worst_c[..., 2] + worst_c[..., 3], worst_c.sum(-1)),
            _ratio(ref_c[..., 2] + ref_c[..., 3], ref_c.sum(-1)),
        )
        return _ratio(*challenger), _ratio(*champion)

    est_new, est_old = airs(observed)
    rng = np.random.default_rng([seed, 1])  # a stream of its own: adding the column leaves the rest unchanged
    drawn = rng.multinomial(rows, observed / rows, size=n_boot)
    new, old = airs(drawn)
    bounds = _percentile_interval(np.column_stack([new - old, new, old]), confidence)
    change = _interval(est_new - est_old, *bounds[:, 0])
    result = {
        "air_change": change,
        "challenger_air": _interval(est_new, *bounds[:, 1]),
        "champion_air": _interval(est_old, *bounds[:, 2]),
    }
    low, high = change["ci_low"], change["ci_high"]
    group = p.group_names[worst]
    pct = f"{confidence:.0%}"
    if low is None or high is None or change["estimate"] is None:
        why = f"The change in adverse-impact ratio for group {group} is undefined in too many resamples."
        return result | {"verdict": INCONCLUSIVE, "detail": why}
    figures = (
        f"For group {group} the adverse-impact ratio goes from {_f(result['champion_air']['estimate'])} "
        f"(champion) to {_f(result['challenger_air']['estimate'])} (challenger), a change of "
        f"{change['estimate']:+.3f} ({pct} interval {low:+.3f} to {high:+.3f}). "
    )
    if high < 0:
        verdict = REGRESSION
        why = "The whole interval is below zero: the challenger is measurably less fair."
    elif low >= 0:
        verdict = NO_REGRESSION
        why = "The whole interval is at or above zero."
    elif challenger_air_verdict == PASS:
        verdict = NO_REGRESSION
        why = "The interval includes zero and the challenger passes the adverse-impact check on its own."
    else:
        verdict = INCONCLUSIVE
        why = (
            "The interval includes zero and the challenger does not clearly pass the adverse-impact "
            "check; more rows would tell."
        )
    return result | {"verdict": verdict, "detail": figures + why}


# --------------------------------------------------------------------------------------------
# Report


def _validate(p, names, reference_group, air_floor, eo_max_diff, min_group_count, n_boot, confidence):
    if p.rows == 0:
        raise StatsInputError("file", "the predictions file has no rows")
    if not 0 < air_floor <= 1:
        raise StatsInputError("air_floor", "the adverse-impact floor must be above 0 and at most 1")
    if not 0 <= eo_max_diff <= 1:
        raise StatsInputError(
            "eo_max_diff", "the maximum equal-opportunity difference must be between 0 and 1"
        )
    if int(min_group_count) < 1:
        raise StatsInputError("min_group_count", "the minimum group size must be at least 1")
    if not 100 <= int(n_boot) <= 1_000_000:
        raise StatsInputError("n_boot", "the number of bootstrap resamples must be between 100 and 1,000,000")
    if not 0 < confidence < 1:
        raise StatsInputError("confidence", "the confidence level must be between 0 and 1, e.g. 0.95")
    if reference_group is not None and reference_group not in names:
        raise StatsInputError(
            "reference_group", f"there is no group named '{reference_group}' in the predictions"
        )


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
) -> dict:
    """Per-group rates and disparity checks with percentile bootstrap intervals (JSON-ready).

    The reference group defaults to the highest observed selection rate among groups with at
    least ``min_group_count`` rows. Smaller groups are reported with ``insufficient_data`` and
    left out of the checks. Checks: AIR >= ``air_floor``; with labels, EOD and equalized-odds
    difference <= ``eo_max_diff``. With a champion column, the change in AIR between the models
    (see ``_champion_section``). Deterministic for a given ``seed``.
    """
    names = p.group_names
    _validate(p, names, reference_group, air_floor, eo_max_diff, min_group_count, n_boot, confidence)
    n_boot, min_group_count = int(n_boot), int(min_group_count)
    counts = cell_counts(p)
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
                f"the reference group '{reference_group}' has {int(sizes[ref])} rows; "
                f"at least {min_group_count} are needed",
            )
    else:
        pool = sufficient if sufficient.any() else sizes > 0
        ref = int(np.argmax(np.where(pool, np.nan_to_num(observed["sel"], nan=-1.0), -2.0)))
    ref_observed = {k: v[ref] for k, v in observed.items()}
    observed |= _disparities(observed, ref_observed)
    bounds, spreads = _bootstrap_groups(counts, ref, n_boot=n_boot, seed=seed, confidence=confidence)

    def entry(name, g):
        return _interval(observed[name][g], bounds[name][0, g], bounds[name][1, g])

    compared = [g for g in range(len(names)) if sufficient[g] and g != ref]
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
            }
        )

    def per_group(name):
        out = []
        for g in compared:
            values = (observed[name][g], bounds[name][0, g], bounds[name][1, g])
            if all(math.isfinite(v) for v in values):
                out.append((names[g], *(float(v) for v in values), float(spreads[name][g])))
        return out

    if not compared:
        why = (
            f"no group other than the reference ({names[ref]}) has at least {min_group_count} rows"
            if sufficient.any()
            else f"no group has at least {min_group_count} rows"
        )
    else:
        why = None
    common = {"rows": rows, "confidence": confidence}
    checks = [
        _check(
            key="fairness.air",
            label="Adverse-impact ratio (worst group)",
            metric="adverse-impact ratio",
            comparator=">=",
            threshold=air_floor,
            per_group=per_group("air"),
            unavailable=why
            or f"the reference group {names[ref]} has no selections, so the ratio is undefined",
            **common,
        )
    ]
    if labels:
        no_tpr = why or "true-positive rates are undefined (a group or the reference has no positive labels)"
        checks.append(
            _check(
                key="fairness.eod",
                label="Equal-opportunity difference (worst group)",
                metric="equal-opportunity difference",
                comparator="<=",
                threshold=eo_max_diff,
                per_group=per_group("eod"),
                unavailable=no_tpr,
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
                per_group=per_group("eqodds"),
                unavailable=why or "true- or false-positive rates are undefined for the groups compared",
                **common,
            )
        )

    champion = None
    if p.y_pred_champion is not None:
        air_check = checks[0]
        worst = names.index(air_check["group"]) if air_check["group"] is not None else None
        champion = _champion_section(
            p,
            ref,
            worst,
            n_boot=n_boot,
            seed=seed,
            confidence=confidence,
            challenger_air_verdict=air_check["verdict"],
        )

    insufficient = [names[g] for g in range(len(names)) if not sufficient[g]]
    return {
        "method": "multinomial-cell-bootstrap",
        "n_boot": n_boot,
        "seed": int(seed),
        "confidence": float(confidence),
        "rows": rows,
        "labels": labels,
        "reference_group": names[ref],
        "thresholds": {
            "air_floor": float(air_floor),
            "eo_max_diff": float(eo_max_diff),
            "min_group_count": min_group_count,
        },
        "groups": groups,
        "checks": checks,
        "champion": champion,
        "metrics": _flat_metrics(rows, groups, checks, champion, insufficient),
        "insufficient_groups": insufficient,
    }


def _flat_metrics(rows, groups, checks, champion, insufficient) -> dict[str, float | int]:
    """Numbers only, for the rule engine: KEY, KEY.ci_low, KEY.ci_high. Undefined values are left out."""
    metrics: dict[str, float | int] = {"rows": rows, "groups.insufficient": len(insufficient)}

    def put(key, value):
        if value is not None:
            metrics[key] = value

    for check in checks:
        put(check["key"], check["estimate"])
        put(f"{check['key']}.ci_low", check["ci_low"])
        put(f"{check['key']}.ci_high", check["ci_high"])
        if check["verdict"] == INCONCLUSIVE:
            put(f"{check['key']}.n_required", check["n_required"])
    keys = unique_metric_keys([g["group"] for g in groups])
    for g in groups:
        key = keys[g["group"]]
        put(f"fairness.selection_rate.{key}", g["selection_rate"]["estimate"])
        if g["tpr"] is not None:
            put(f"tpr.{key}", g["tpr"]["estimate"])
            put(f"fpr.{key}", g["fpr"]["estimate"])
    if champion is not None:
        change = champion["air_change"]
        put("fairness.air_change", change["estimate"])
        put("fairness.air_change.ci_low", change["ci_low"])
        put("fairness.air_change.ci_high", change["ci_high"])
    return metrics
