"""Reports in the admin: read-only, like every evidence record."""

from django.contrib import admin

from governance.admin import ReadOnlyAdmin
from reporting.models import Report


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = ["kind", "status", "requested_by", "page_count", "size", "created_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["requested_by"]
