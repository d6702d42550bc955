"""What the launch page shows of the latest evaluation: verdicts, charts, and what would settle a check."""

from .charts import group_intervals_chart, reliability_chart, reliability_groups


def evaluation_context(evaluation) -> dict:
    if evaluation is None or not evaluation.report:
        return {"fairness": None, "drift": None}
    report = evaluation.report
    fairness = report.get("fairness")
    drift = report.get("drift")
    charts: dict[str, str | int] = {}
    if fairness:
        charts["selection"] = group_intervals_chart(fairness, metric="selection_rate")
        if any(g.get("air") for g in fairness.get("groups", [])):
            charts["air"] = group_intervals_chart(fairness, metric="air")
        scores = fairness.get("scores") or {}
        if reliability_groups(scores):
            charts["reliability"] = reliability_chart(scores)
            charts["reliability_shown"] = len(reliability_groups(scores))
    return {"fairness": fairness, "drift": drift, "charts": charts}
