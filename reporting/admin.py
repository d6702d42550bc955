"""Reports in the admin: read-only, like every evidence record."""

from django.contrib import admin

from governance.admin import ReadOnlyAdmin
from reporting.models import ModelRegime, Report


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = ["kind", "status", "requested_by", "page_count", "size", "created_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["requested_by"]

    def get_queryset(self, request):
        # A report carries the content of every incident in source_incident_ids: the list, change, history and
        # delete pages and the actions show it only to those who may read all of them.
        from reporting.gather import reports_readable_by

        return reports_readable_by(request.user, super().get_queryset(request))


@admin.register(ModelRegime)
class ModelRegimeAdmin(ReadOnlyAdmin):
    """Declared on the model page (reporting.regimes.services.declare_regimes audits it)."""

    list_display = ["model", "regime", "declared_by", "declared_at"]
    list_filter = ["regime"]
    list_select_related = ["model", "declared_by"]
