"""Readiness charts (SVG): per-group rates with intervals, and guardrail sparklines. Shared by pages and PDFs."""

from datetime import timedelta

import matplotlib.dates as mdates

from governance.kernel import formatting as fmt
from governance.kernel.charts import PALETTE, cached_chart, figure, to_svg


@cached_chart
def group_intervals_chart(report: dict, *, metric: str = "selection_rate", title: str = "") -> str:
    """Per-group estimate with its 95 % interval, reference group marked, insufficient groups greyed."""
    groups = report.get("groups") or []
    rows = [g for g in groups if g.get(metric)]
    if not rows:
        return ""
    height = 0.9 + 0.38 * len(rows)
    fig, ax = figure(6.4, height)
    labels = []
    for index, group in enumerate(rows):
        value = group[metric]
        colour = PALETTE["muted"] if group.get("insufficient_data") else PALETTE["accent"]
        low, high = value.get("ci_low"), value.get("ci_high")
        if low is not None and high is not None:
            ax.plot([low, high], [index, index], color=colour, linewidth=3, solid_capstyle="round", alpha=0.55)
        if value.get("estimate") is not None:
            ax.plot([value["estimate"]], [index], "o", color=colour, markersize=6)
        name = group["group"]
        if name == report.get("reference_group"):
            name += " (reference)"
        if group.get("insufficient_data"):
            name += " — too few rows"
        labels.append(f"{name}  n={group['n']:,}")
    ax.set_yticks(range(len(rows)), labels)
    # Half a row of room above and below: with one group, autoscaling would leave a sliver of axis.
    ax.set_ylim(len(rows) - 0.5, -0.5)
    names = {"selection_rate": "selection rate", "air": "adverse-impact ratio", "tpr": "true-positive rate"}
    ax.set_xlabel(f"{names.get(metric, metric)} (95 % interval)")
    if metric == "air":
        floor = (report.get("thresholds") or {}).get("air_floor")
        if floor:
            ax.axvline(floor, color=PALETTE["fail"], linestyle="--", linewidth=1)
            # Anchored to the top of the axes, not to a data row: a label outside the data range stretches the
            # figure's tight bounding box (one group left most of the page blank).
            ax.annotate(f" floor {floor:g}", xy=(floor, 1.0), xycoords=("data", "axes fraction"),
                        color=PALETTE["fail"], fontsize=8, va="bottom", annotation_clip=False)
    ax.grid(axis="x", color=PALETTE["line"], linewidth=0.6)
    return to_svg(fig, title=title or f"Per-group {names.get(metric, metric.replace('_', ' '))} with 95 % intervals")

RELIABILITY_GROUPS = 8  # groups drawn in one reliability plot: past that the lines cannot be told apart
_SERIES = ("#2b6cb0", "#b42318", "#1e7a46", "#8a5a00", "#6b46c1", "#c05621", "#2c7a7b", "#5b6575")


def reliability_groups(scores: dict) -> list[dict]:
    """The groups the reliability plot draws: those with enough rows and a table, worst calibrated (highest
    ECE) first, at most ``RELIABILITY_GROUPS``."""
    rows = [g for g in scores.get("groups") or [] if g.get("reliability") and not g.get("insufficient_data")]
    rows.sort(key=lambda g: -((g.get("ece") or {}).get("estimate") or 0.0))
    return rows[:RELIABILITY_GROUPS]


@cached_chart
def reliability_chart(scores: dict, *, title: str = "") -> str:
    """Reliability plot per group: mean score (x) against observed rate (y) in each score bin, one line a
    group (the worst calibrated first), the diagonal of perfect calibration dashed; a marker's area follows the
    bin's rows. The legend gives each group's ECE."""
    rows = reliability_groups(scores)
    if not rows:
        return ""
    fig, ax = figure(4.8, 4.2)
    ax.plot([0, 1], [0, 1], color=PALETTE["muted"], linestyle="--", linewidth=1, label="perfectly calibrated")
    for index, group in enumerate(rows):
        table = group["reliability"]
        colour = _SERIES[index % len(_SERIES)]
        total = sum(b["n"] for b in table) or 1
        xs, ys = [b["mean_score"] for b in table], [b["observed_rate"] for b in table]
        ece = (group.get("ece") or {}).get("estimate")
        label = f"{group['group']}" + (f"  ECE {fmt.number(ece)}" if ece is not None else "")
        ax.plot(xs, ys, color=colour, linewidth=1.4, label=label)
        ax.scatter(xs, ys, s=[8 + 120 * b["n"] / total for b in table], color=colour, zorder=3)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("mean score in bin")
    ax.set_ylabel("observed positive rate")
    ax.grid(color=PALETTE["line"], linewidth=0.6)
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    return to_svg(fig, title=title or "Reliability per group: observed positive rate against mean score")


MIN_SPAN = timedelta(hours=1)  # the narrowest time axis a sparkline draws


@cached_chart
def sparkline(points, *, threshold: float, comparator: str, title: str = "") -> str:
    """Observations over time against a guardrail threshold, drawn large enough to read a small dip: a labelled
    threshold line, the value axis kept around both the data and the threshold, breaching points in red."""
    if not points:
        return ""
    fig, ax = figure(6.4, 1.7)
    times = [p[0] for p in points]
    values = [p[1] for p in points]
    ax.plot(times, values, color=PALETTE["accent"], linewidth=1.2)
    healthy = {"<=": lambda v: v <= threshold, "<": lambda v: v < threshold, ">=": lambda v: v >= threshold,
               ">": lambda v: v > threshold}[comparator]
    bad = [(t, v) for t, v in points if not healthy(v)]
    if bad:
        ax.plot([t for t, _ in bad], [v for _, v in bad], "o", color=PALETTE["fail"], markersize=2.5)
    ax.axhline(threshold, color=PALETTE["fail"], linestyle="--", linewidth=1.2)
    low, high = min(min(values), threshold), max(max(values), threshold)
    margin = (high - low) * 0.15 or abs(threshold) * 0.1 or 1
    ax.set_ylim(low - margin, high + margin)
    ax.annotate(f"threshold {fmt.number(threshold)}", xy=(1, threshold), xycoords=("axes fraction", "data"),
                xytext=(-4, 3), textcoords="offset points", ha="right", va="bottom", color=PALETTE["fail"],
                fontsize=8)
    first, last = min(times), max(times)
    if last - first < MIN_SPAN:
        # One observation (or a burst at one instant) gives matplotlib no span, and it widens a date axis by
        # years: centre the points in a window of MIN_SPAN instead.
        pad = (MIN_SPAN - (last - first)) / 2
        ax.set_xlim(first - pad, last + pad)
    ax.tick_params(axis="both", labelsize=8)
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=6))
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
    ax.grid(axis="y", color=PALETTE["line"], linewidth=0.6)
    return to_svg(fig, title=title or "Observations against the threshold")
