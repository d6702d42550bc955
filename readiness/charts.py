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
