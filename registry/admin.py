"""The Django admin for the registry's models, read-only: rows change only through the registry services."""

from django.contrib import admin

from governance.admin import SealedBySource

from .models import AliasActuation, AliasMapping, AliasState, RegistryLink, SyncedVersion


class ReadOnly(admin.ModelAdmin):
    """Rows change only through the registry services (which write the audit log)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RegistryLink)
class RegistryLinkAdmin(ReadOnly):
    list_display = ["registered_model", "model", "last_synced_at", "last_sync_error"]


@admin.register(AliasMapping)
class AliasMappingAdmin(ReadOnly):
    list_display = ["tier", "stage", "alias"]


@admin.register(SyncedVersion)
class SyncedVersionAdmin(ReadOnly):
    list_display = ["link", "mlflow_version", "model_version", "status", "run_id", "note"]
    list_select_related = ["link", "model_version__model"]


@admin.register(AliasState)
class AliasStateAdmin(SealedBySource, ReadOnly):
    source_field = "incident_id"

    list_display = ["link", "alias", "expected_version", "observed_version", "observed_at"]


@admin.register(AliasActuation)
class AliasActuationAdmin(ReadOnly):
    list_display = ["link", "alias", "kind", "target_version", "status", "attempts", "requested_at", "applied_at"]
    list_select_related = ["link"]
