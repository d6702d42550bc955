"""Turning uploaded predictions and feature samples into evaluation metrics, with the launch's thresholds."""

from __future__ import annotations

import csv
import hashlib
import io
from typing import TYPE_CHECKING, Any

from django.conf import settings

from governance.kernel.errors import ValidationFailed
from governance.stats import (
    StatsInputError,
    drift_report,
    fairness_report,
    parse_feature_table,
    parse_predictions,
)

from . import services
from .models import Evaluation

if TYPE_CHECKING:
    from governance.kernel.principals import Actor

    from .models import LaunchRequest


def _hash(digest, source) -> None:
    """Add an upload to the source digest: bytes as they are, a file on disk in chunks (never whole in memory)."""
    if isinstance(source, bytes | bytearray | memoryview):
        digest.update(source)
        return
    with open(source, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)


def _in_file_order(attributes: list[str], source) -> list[str]:
    """The model's protected attributes (kept sorted by the inventory) in the order of the file's columns, those
    it lacks last: the first one the file carries is the report's headline grouping, so the file's author decides
    it (race before age band for a credit model), not the alphabet. Reads the header line only."""
    if isinstance(source, bytes | bytearray | memoryview):
        first = bytes(source[:65536]).split(b"\n", 1)[0]
    else:
        with open(source, "rb") as handle:
            first = handle.readline(65536)
    columns = [c.strip().strip('"').strip() for c in first.decode("utf-8", "replace").lstrip("\ufeff").split(",")]
    position = {name: i for i, name in reversed(list(enumerate(columns)))}
    return sorted(attributes, key=lambda a: position.get(a, len(columns)))


def _parse(parser, data, upload_field: str, **options):
    """Run a stats parser or report; its errors name a CSV column or option, or the whole file as the upload
    field."""
    try:
        return parser(data, **options)
    except StatsInputError as error:
        field = upload_field if error.field in ("file", "", None) else error.field
        raise ValidationFailed(error.message, field=field, code=error.code) from None


def compute(launch, *, predictions=None, baseline=None, current=None, metrics: dict | None = None,
            n_boot: int | None = None, reference_group: str | None = None) -> dict:
    """Metrics, report, source digest and row count for an evaluation of ``launch``. Submitted metrics win over
    computed ones of the same name. Each upload is bytes or the path of a file on disk (a large upload that
    Django streamed to a temporary file), which the parser reads as a stream. ``reference_group`` names the
    group the others are compared with (a group of the predictions file)."""
    thresholds = launch.policy_version.thresholds
    computed, report, digest, rows = {}, {}, hashlib.sha256(), None
    if reference_group is not None and predictions is None:
        raise ValidationFailed("A reference group needs a predictions file to choose it from.",
                               field="reference_group", code="needs_predictions")
    if predictions is not None:
        _hash(digest, predictions)
        # The model's protected attributes, when the file carries them as columns, are assessed
        # one by one and in intersection beside the `group` column.
        attributes = _in_file_order(
            [str(a) for a in (launch.version.model.protected_attributes or []) if isinstance(a, str)], predictions)
        parsed = _parse(parse_predictions, predictions, "predictions", attributes=attributes)
        rows = parsed.rows
        report["fairness"] = _parse(
            fairness_report, parsed, "predictions", reference_group=reference_group, declared_attributes=attributes,
            air_floor=thresholds.get("air_floor", 0.8), eo_max_diff=thresholds.get("eo_max_diff", 0.1),
            min_group_count=int(thresholds.get("min_group_count", 30)),
            n_boot=n_boot or settings.FAIRNESS_BOOTSTRAP_RESAMPLES)
        computed.update(report["fairness"]["metrics"])
    if (baseline is None) != (current is None):
        raise ValidationFailed("Drift needs both a baseline and a current file.",
                               field="current" if baseline is not None else "baseline")
    if baseline is not None:
        _hash(digest, baseline)
        _hash(digest, current)
        report["drift"] = drift_report(
            _parse(parse_feature_table, baseline, "baseline"), _parse(parse_feature_table, current, "current"),
            psi_act=thresholds.get("psi_act", 0.2), psi_watch=thresholds.get("psi_watch", 0.1),
            null_rate_tolerance=thresholds.get("null_rate_tolerance", 0.05))
        computed.update(report["drift"]["metrics"])
    computed.update(metrics or {})
    if not computed:
        raise ValidationFailed("Send metrics, a predictions file, or baseline and current files.", field="metrics")
    return {"metrics": computed, "report": report or None,
            "source_sha256": digest.hexdigest() if report else "", "source_rows": rows}


def submit(launch: LaunchRequest, *, actor: Actor, **uploads: Any) -> Evaluation:
    result = compute(launch, **uploads)
    return services.submit_evaluation(
        launch, actor=actor, metrics=result["metrics"], report=result["report"],
        kind=Evaluation.Kind.PREDICTIONS if result["report"] else Evaluation.Kind.METRICS,
        source_sha256=result["source_sha256"], source_rows=result["source_rows"])


# The per-group table as CSV: one row a group, each figure as estimate and interval ends.
_GROUP_FIGURES = ("selection_rate", "air", "tpr", "fpr", "fnr", "ppv", "fdr", "for")


def _cell(value) -> str:
    """A CSV cell a spreadsheet shows as text: a value starting with =, +, - or @ (a group name) is not run as
    a formula."""
    if value is None:
        return ""
    text = str(value)
    if isinstance(value, str) and text[:1] in ("=", "+", "-", "@"):
        return "'" + text
    return text


def groups_csv(report: dict | None) -> str | None:
    """The fairness report's per-group table as CSV text, or None when the evaluation has no fairness report."""
    fairness = (report or {}).get("fairness")
    if not fairness:
        return None
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["group", "n", "insufficient_data",
                     *(f"{name}{end}" for name in _GROUP_FIGURES for end in ("", "_ci_low", "_ci_high"))])
    for group in fairness["groups"]:
        row = [group["group"], group["n"], group["insufficient_data"]]
        for name in _GROUP_FIGURES:
            figure = group.get(name) or {}
            row += [figure.get("estimate"), figure.get("ci_low"), figure.get("ci_high")]
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()
