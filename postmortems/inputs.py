"""The declared shape of an incident's structured impact figures, written once: the API's incident body nests it,
the incident forms check their three inputs against it, and postmortems.services runs it as its final check on
whatever a caller passes. It parses and refuses; it decides nothing about the incident."""

from typing import Any

from rest_framework import serializers

from governance.kernel.api_errors import flatten_errors
from governance.kernel.api_inputs import FiniteFloatField, StrictSerializer
from governance.kernel.errors import ValidationFailed

FIELD = "impact_figures"


class FiniteNumber(FiniteFloatField):
    """A finite number kept as given: a whole number stays whole, so stored figures (and the hashes over them)
    do not change with the path they came by."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        return data if isinstance(data, int) and not isinstance(data, bool) else value


class ShiftIn(StrictSerializer):
    segment = serializers.CharField(max_length=100)
    shift_pct = FiniteNumber(min_value=-100, max_value=100, help_text="Percentage points, -100 to 100")


class ImpactFiguresIn(StrictSerializer):
    """Decisions affected (a count), revenue impact (a number, negative for a loss) and the approval-rate shift
    per segment in percentage points, each segment once."""

    decisions_affected = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    revenue_impact = FiniteNumber(required=False, allow_null=True)
    approval_rate_shift: "serializers.ListSerializer[Any]" = serializers.ListSerializer(
        child=ShiftIn(), required=False, allow_null=True, max_length=200)

    def validate_approval_rate_shift(self, rows):
        if not rows:
            return rows
        seen: set[str] = set()
        errors: list[dict[str, list[str]]] = []
        for row in rows:
            errors.append({"segment": [f"Segment {row['segment']!r} is listed twice."]}
                          if row["segment"] in seen else {})
            seen.add(row["segment"])
        if any(errors):
            raise serializers.ValidationError(errors)
        return rows


def impact_figures(figures: Any) -> dict:
    """``figures`` checked against the declaration, as plain data without empty entries; a ValidationFailed
    naming the first fault (``impact_figures.approval_rate_shift[0].shift_pct``) otherwise."""
    if figures in (None, ""):
        return {}
    if not isinstance(figures, dict):
        raise ValidationFailed("Give impact figures as an object.", field=FIELD)
    serializer = ImpactFiguresIn(data=figures)
    if not serializer.is_valid():
        first = flatten_errors(serializer.errors)[0]
        raise ValidationFailed(first["detail"], field=f"{FIELD}.{first['field']}" if first["field"] else FIELD)
    return plain(serializer.validated_data)


def plain(values) -> dict:
    """Validated figures as the JSON the incident stores: no empty entries, plain dicts."""
    out: dict[str, Any] = {}
    for name in ("decisions_affected", "revenue_impact"):
        if values.get(name) is not None:
            out[name] = values[name]
    if values.get("approval_rate_shift"):
        out["approval_rate_shift"] = [{"segment": row["segment"], "shift_pct": row["shift_pct"]}
                                      for row in values["approval_rate_shift"]]
    return out
