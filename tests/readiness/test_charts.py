"""Charts fit the box they are drawn for: nothing placed outside the data stretches the figure."""

import re

from examples.seeding.lending import e4_predictions
from governance.stats import fairness_report, parse_predictions
from readiness.charts import group_intervals_chart

LABELS = 0.5  # inches


def _size_in_inches(svg: str) -> tuple[float, float]:
    width = float(re.search(r'<svg[^>]* width="([\d.]+)pt"', svg).group(1))
    height = float(re.search(r'<svg[^>]* height="([\d.]+)pt"', svg).group(1))
    return width / 72, height / 72


def test_the_e4_one_group_fairness_chart_fits_its_box():
    """E4's adverse-impact chart has one assessable group; its floor label used to sit at y = -0.7, outside the
    data, and the tight bounding box left most of the page blank."""
    report = fairness_report(parse_predictions(e4_predictions()), n_boot=200)
    svg = group_intervals_chart(report, metric="air")
    rows = [g for g in report["groups"] if g.get("air")]
    assert len(rows) == 1
    width, height = _size_in_inches(svg)
    # The height it is drawn for, plus the tick labels and axis title that hang below a figure this small.
    box = 0.9 + 0.38 * len(rows) + LABELS
    assert height <= box, f"{height:.2f} in tall for a {box:.2f} in box (the misplaced label made it 7.5 in)"
    assert width <= 6.4 * 1.15
    assert "floor 0.8" in svg


def test_a_many_group_chart_fits_its_box_too():
    report = fairness_report(parse_predictions(e4_predictions()), n_boot=200)
    svg = group_intervals_chart(report, metric="selection_rate")
    rows = [g for g in report["groups"] if g.get("selection_rate")]
    _, height = _size_in_inches(svg)
    assert height <= 0.9 + 0.38 * len(rows) + LABELS


def test_the_reliability_plot_draws_each_group_worst_calibrated_first_with_its_ece():
    from examples.seeding.lending import relaunch_predictions
    from readiness.charts import reliability_chart, reliability_groups

    report = fairness_report(parse_predictions(relaunch_predictions(), attributes=["race"]), n_boot=200)
    scores = report["scores"]
    drawn = reliability_groups(scores)
    assert [g["group"] for g in drawn] == [g["group"] for g in sorted(
        scores["groups"], key=lambda g: -g["ece"]["estimate"])]
    svg = reliability_chart.uncached(scores)
    assert svg.startswith("<svg") and 'role="img"' in svg and "perfectly calibrated" in svg
    for group in drawn:
        assert f"{group['group']}  ECE" in svg
    assert reliability_chart.uncached({"groups": []}) == ""
