"""Reads of the registry integration, for the dashboard and the governance pack (a fixed number of queries)."""

from typing import Any

from .models import AliasActuation, AliasState, RegistryLink


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
