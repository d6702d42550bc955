from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import (
    ApiToken,
    AuditEvent,
    Feature,
    IdempotencyRecord,
    MLModel,
    ModelVersion,
    RoleMembership,
    User,
)


class RoleMembershipInline(admin.TabularInline):
    model = RoleMembership
    extra = 0


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [RoleMembershipInline]
    list_display = ["username", "first_name", "last_name", "email", "is_active", "is_staff"]


class FeatureInline(admin.TabularInline):
    model = Feature
    extra = 0


@admin.register(MLModel)
class MLModelAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "risk_tier", "owner"]
    list_filter = ["risk_tier"]
    search_fields = ["slug", "name"]


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["model", "version", "artifact_sha256", "created_at"]
    list_select_related = ["model"]
    inlines = [FeatureInline]


@admin.register(Feature)
class FeatureAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "source", "vendor", "proxy_risk_status"]
    list_filter = ["source", "proxy_risk_status"]
    list_select_related = ["version__model"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "created_at", "actor_label", "verb", "object_type", "object_repr"]
    list_filter = ["verb", "object_type"]
    search_fields = ["actor_label", "verb", "object_repr"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued with create_api_token; here they can be inspected and revoked, never read back."""

    list_display = ["name", "prefix", "scopes", "expires_at", "revoked_at", "last_used_at"]
    readonly_fields = ["name", "prefix", "scopes", "created_by", "created_at", "last_used_at", "expires_at"]
    exclude = ["secret_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        from .errors import DomainError
        from .services import revoke_api_token

        for token in queryset:
            try:
                revoke_api_token(token, actor=request.user)
            except DomainError:
                pass

    def save_model(self, request, obj, form, change):
        if "revoked_at" in form.changed_data and obj.revoked_at:
            from .services import revoke_api_token

            revoke_api_token(obj, actor=request.user)
        else:
            super().save_model(request, obj, form, change)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["owner", "key", "status_code", "created_at"]
