"""Charts of the follow-through page, as SVG strings drawn with governance.kernel.charts (the same on pages and PDFs)."""

import math
from datetime import UTC, datetime, timedelta

from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.ticker import FixedLocator, NullLocator

from governance.kernel.charts import PALETTE, cached_chart, figure, to_svg

# Log-scale ticks labelled in the units people think of durations in.
_TICKS = [(1 / 60, "1 min"), (10 / 60, "10 min"), (1, "1 h"), (6, "6 h"), (24, "1 d"), (24 * 7, "1 wk"),
          (24 * 30, "30 d"), (24 * 90, "90 d")]


def _hours(delta) -> float:
    # A zero duration cannot sit on a log axis; show it at the floor of one minute.
    return max(delta.total_seconds() / 3600, 1 / 60)


TREND_POINTS = 60


def _quarterly_medians(points):
    """(middle of the quarter, median duration) for each calendar quarter the points fall in."""
    quarters: dict[tuple[int, int], list] = {}
    for at, delta in points:
        quarters.setdefault((at.year, (at.month - 1) // 3), []).append(delta)
    out = []
    for (year, q), deltas in sorted(quarters.items()):
        deltas.sort()
        mid = len(deltas) // 2
        median = deltas[mid] if len(deltas) % 2 else (deltas[mid - 1] + deltas[mid]) / 2
        out.append((datetime(year, 3 * q + 2, 15, tzinfo=UTC), median))
    return out


@cached_chart
def duration_trend_svg(ttd, ttr) -> str:
    """Time to detect and time to resolve per incident, by detection date, on a log axis; past TREND_POINTS
    incidents, the median of each quarter (years of incidents would draw a point each, and the chart would grow
    with the history). ``ttd`` and ``ttr`` are lists of (detected_at, timedelta). Returns "" when there is nothing
    to draw."""
    if not ttd and not ttr:
        return ""
    per_quarter = max(len(ttd), len(ttr)) > TREND_POINTS
    if per_quarter:
        ttd, ttr = _quarterly_medians(ttd), _quarterly_medians(ttr)
    fig, ax = figure(9.0, 2.8)
    series = [(ttd, "time to detect", PALETTE["warn"], "o"), (ttr, "time to resolve", PALETTE["accent"], "s")]
    values, dates = [], []
    for points, label, colour, marker in series:
        if not points:
            continue
        xs = [at for at, _ in points]
        dates.extend(xs)
        ys = [_hours(delta) for _, delta in points]
        values.extend(ys)
        ax.plot(xs, ys, marker=marker, color=colour, label=label, linewidth=1.4, markersize=5)
    ax.set_yscale("log")
    low, high = min(values), max(values)
    ticks = [(v, t) for v, t in _TICKS if low / 3 <= v <= high * 3] or [(v, t) for v, t in _TICKS][:3]
    ax.yaxis.set_major_locator(FixedLocator([v for v, _ in ticks]))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_yticklabels([t for _, t in ticks])
    ax.set_ylim(min(low, ticks[0][0]) / 1.5, max(high, ticks[-1][0]) * 1.5)
    ax.set_ylabel("duration (log scale)")
    ax.grid(axis="y", color=PALETTE["line"], linewidth=0.6)
    ax.legend(frameon=False, loc="upper left", fontsize=8)
    first, last = min(dates), max(dates)
    if last - first < timedelta(days=14):
        # A single incident (or a few close together) still gets a readable few weeks of axis.
        ax.set_xlim(first - timedelta(days=14), last + timedelta(days=14))
    locator = AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    return to_svg(fig, title="Median time to detect and to resolve per quarter" if per_quarter
                  else "Time to detect and time to resolve per incident")


@cached_chart
def factor_categories_svg(categories) -> str:
    """Incidents per contributing-factor category; ``categories`` is a list of (label, count)."""
    if not any(count for _, count in categories):
        return ""
    ordered = sorted(categories, key=lambda pair: pair[1])
    fig, ax = figure(6.4, 0.35 * len(ordered) + 0.6)
    labels = [label for label, _ in ordered]
    counts = [count for _, count in ordered]
    bars = ax.barh(labels, counts, color=PALETTE["accent"], height=0.6)
    for bar, count in zip(bars, counts, strict=True):
        ax.text(bar.get_width() + 0.05, bar.get_y() + bar.get_height() / 2, str(count), va="center",
                color=PALETTE["ink"], fontsize=8)
    top = max(counts)
    ax.set_xlim(0, top + max(1, math.ceil(top * 0.1)))
    ax.xaxis.set_major_locator(FixedLocator(list(range(0, top + 1, max(1, math.ceil(top / 5))))))
    ax.set_xlabel("incidents")
    return to_svg(fig, title="Incidents by contributing-factor category")
