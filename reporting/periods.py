"""Report periods: 2026-Q3, 2026-W40, 2026-07 or a date range, and the governance pack's parameters."""

import re
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from governance.kernel.errors import ValidationFailed
from reporting.common import (
    MAX_PERIOD_DAYS,
)

_PERIOD = re.compile(r"^(\d{4})-(?:Q([1-4])|W(\d{1,2})|(\d{2}))$")
# What a pack's ``period`` parameter takes, as the OpenAPI schema states it (a quarter, ISO week or month).
PERIOD_PATTERN = r"^[0-9]{4}-(Q[1-4]|W(0?[1-9]|[1-4][0-9]|5[0-3])|(0[1-9]|1[0-2]))$"
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
PERIOD_HELP = "Give a period as 2026-Q3, 2026-W40, 2026-07 or 2026-07-01..2026-09-30."


def _month_end(year: int, month: int) -> date:
    return (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)


def parse_period(text, *, field: str = "period") -> tuple[date, date]:
    """A quarter, ISO week, month or explicit range as (first day, last day), both inclusive."""
    text = str(text or "").strip().upper()
    try:
        if match := _RANGE.match(text):
            return date.fromisoformat(match[1]), date.fromisoformat(match[2])
        if match := _PERIOD.match(text):
            year = int(match[1])
            if match[2]:
                first_month = 3 * (int(match[2]) - 1) + 1
                return date(year, first_month, 1), _month_end(year, first_month + 2)
            if match[3]:
                start = date.fromisocalendar(year, int(match[3]), 1)
                return start, start + timedelta(days=6)
            return date(year, int(match[4]), 1), _month_end(year, int(match[4]))
    except ValueError:
        raise ValidationFailed(f"{text!r} is not a real period. {PERIOD_HELP}", field=field) from None
    raise ValidationFailed(PERIOD_HELP, field=field)


def period_label(start: date, end: date) -> str:
    if start.day == 1 and start.month % 3 == 1 and end == _month_end(start.year, start.month + 2):
        return f"{start.year} Q{start.month // 3 + 1}"
    if start.isoweekday() == 1 and end == start + timedelta(days=6):
        year, week, _ = start.isocalendar()
        return f"{year} week {week}"
    if start.day == 1 and end == _month_end(start.year, start.month):
        return start.strftime("%B %Y")
    return f"{start:%-d %b %Y} – {end:%-d %b %Y}"


def _day(value, field: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise ValidationFailed("Give a date as YYYY-MM-DD.", field=field) from None


def pack_params(params: object) -> dict[str, Any]:
    """Normalise a governance pack's parameters to {start, end, label}; names the field at fault."""
    if params in (None, ""):
        params = {}
    if not isinstance(params, dict):
        raise ValidationFailed("Give parameters as an object.", field="params")
    unknown = sorted(set(params) - {"period", "start", "end"})
    if unknown:
        raise ValidationFailed(f"Unknown parameter {unknown[0]!r}; use period, or start and end.",
                               field=f"params.{unknown[0]}")
    if params.get("period") and (params.get("start") or params.get("end")):
        raise ValidationFailed("Give a period, or start and end, not both.", field="params.period")
    if params.get("period"):
        start, end = parse_period(params["period"], field="params.period")
    elif params.get("start") or params.get("end"):
        start, end = _day(params.get("start"), "params.start"), _day(params.get("end"), "params.end")
    else:
        raise ValidationFailed(f"A governance pack needs a period. {PERIOD_HELP}", field="params.period")
    if end < start:
        raise ValidationFailed("The period ends before it starts.", field="params.end")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise ValidationFailed(f"A pack covers at most {MAX_PERIOD_DAYS} days.", field="params.end")
    if start > timezone.localdate():
        raise ValidationFailed("The period has not started yet.", field="params.start")
    return {"start": start.isoformat(), "end": end.isoformat(), "label": period_label(start, end)}


def audit_events_between(queryset: QuerySet, since, until) -> QuerySet:
    """Audit events whose act happened in [since, until): by the effective time a trusted historical caller gave,
    else by when the event was written. A period counts what happened in it, not when it was recorded."""
    return (queryset.annotate(happened_at=Coalesce(F("effective_at"), F("created_at")))
            .filter(happened_at__gte=since, happened_at__lt=until))


def recorded_differently(event) -> bool:
    """True when an event was written on another day than the act it records (shown beside the act's time)."""
    return (event.effective_at is not None
            and timezone.localtime(event.effective_at).date() != timezone.localtime(event.created_at).date())


# -- who sees what -------------------------------------------------------------------------------------------
