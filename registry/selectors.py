"""Reads of the registry integration, for the dashboard and the governance pack (a fixed number of queries)."""

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from .models import AliasActuation, AliasMove, AliasState, RegistryLink


def alias_drift() -> list[dict[str, Any]]:
    """Governed aliases that MLflow last reported pointing somewhere Gatehouse did not put them: moved, set or
    removed by hand. Read from the last sync, so pages and reports never wait on MLflow."""
    rows = []
    for state in (AliasState.objects.filter(observed_at__isnull=False).select_related("link__model")
                  .order_by("link__registered_model", "alias")):
        if not state.drifted:
            continue
        rows.append({"model": state.link.model.name, "model_slug": state.link.model.slug,
                     "url": state.link.model.get_absolute_url(), "registered_model": state.link.registered_model,
                     "alias": state.alias, "observed_version": state.observed_version,
                     "expected_version": state.expected_version, "observed_at": state.observed_at,
                     "expected_since": state.expected_since})
    return rows


def unsettled_alias_changes() -> list[AliasActuation]:
    """Alias changes Gatehouse decided that MLflow has not taken yet (waiting) or refused."""
    return list(AliasActuation.objects.filter(status__in=(AliasActuation.Status.PENDING,
                                                          AliasActuation.Status.FAILED))
                .select_related("link__model", "launch").order_by("requested_at", "pk"))


def failing_syncs() -> list[RegistryLink]:
    return list(RegistryLink.objects.exclude(last_sync_error="").select_related("model").order_by("pk"))


HISTORY_PER_PAGE = 25


def alias_history(link: RegistryLink) -> QuerySet[AliasMove]:
    """Every position of the link's governed aliases over time, newest first: set by Gatehouse (with the launch
    and the person behind it) or seen moved by hand (with what the guard did about it)."""
    return AliasMove.objects.filter(link=link).select_related("launch").order_by("-at", "-pk")


def alias_on_day(link: RegistryLink, alias: str, day: date) -> dict[str, Any]:
    """Where ``alias`` pointed on ``day`` (in the site's time zone), from the record: the position in force when
    the day began and every move during it. Two queries, whatever the history's length."""
    start = timezone.make_aware(datetime.combine(day, time.min))
    end = start + timedelta(days=1)
    moves = AliasMove.objects.filter(link=link, alias=alias)
    before = moves.filter(at__lt=start).order_by("-at", "-pk").first()
    during = list(moves.filter(at__gte=start, at__lt=end).order_by("at", "pk"))
    return {"alias": alias, "day": day, "at_start": before, "during": during,
            "at_end": during[-1] if during else before}
