"""The Django admin for the governance app's models: people and roles, the inventory, API tokens and
read-only views of the audit log and the tier policies (a policy change is proposed and approved through
the policy services). Only Django imports this module.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from governance.models import (
    ApiToken,
    AuditEvent,
    BeatLease,
    Feature,
    Finding,
    GateWaiver,
    Hold,
    IdempotencyRecord,
    MLModel,
    ModelVersion,
    RevalidationNeed,
    RoleMembership,
    User,
    Validation,
)


class RoleMembershipInline(admin.TabularInline):
    """Shown for reference; roles are granted and revoked on the Role memberships page, which audits them."""

    model = RoleMembership
    fields = readonly_fields = ("role", "granted_at")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(RoleMembership)
class RoleMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "granted_at"]
    list_filter = ["role"]
    list_select_related = ["user"]
    fields = ["user", "role"]

    def has_change_permission(self, request, obj=None):
        return obj is None

    def save_model(self, request, obj, form, change):
        from governance.kernel.services import grant_role

        membership = grant_role(obj.user, obj.role, actor=request.user)
        obj.pk = membership.pk

    def delete_model(self, request, obj):
        from governance.kernel.services import revoke_role

        revoke_role(obj.user, obj.role, actor=request.user)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("user"):
            self.delete_model(request, membership)


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


class SealedBySource(admin.ModelAdmin):
    """An admin whose rows carry an incident's content, sealed by the visibility rule. The list, the change, history
    and delete pages and every action all read their rows through ``get_queryset``, so this one filter keeps a
    superuser outside the circle from reaching a row by its id. ``source_field``: the path to the incident's key."""

    source_field = "source_incident_id"

    def get_queryset(self, request):
        from governance.kernel.visibility import without_hidden_sources

        return without_hidden_sources(request.user, super().get_queryset(request), self.source_field)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BeatLease)
class BeatLeaseAdmin(ReadOnlyAdmin):
    """Which beat sends the schedule (governance.kernel.beat); the schedulers alone write it."""

    list_display = ["name", "holder", "acquired_at", "expires_at"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "created_at", "actor_label", "verb", "object_type", "object_repr"]
    list_filter = ["verb", "object_type"]
    search_fields = ["actor_label", "verb", "object_repr"]

    def get_queryset(self, request):
        # Administrators are not in a restricted incident's circle by being administrators.
        from governance.kernel.visibility import visible_events

        return visible_events(request.user, super().get_queryset(request))


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
        from governance.kernel.errors import DomainError
        from governance.kernel.services import revoke_api_token

        for token in queryset:
            try:
                revoke_api_token(token, actor=request.user)
            except DomainError:
                pass

    def save_model(self, request, obj, form, change):
        if "revoked_at" in form.changed_data and obj.revoked_at:
            from governance.kernel.services import revoke_api_token

            revoke_api_token(obj, actor=request.user)
        else:
            super().save_model(request, obj, form, change)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["owner", "key", "status_code", "created_at"]


# -- tier policies: edited in the admin through the same two-person rule as the policy pages -----------------

from django import forms as django_forms  # noqa: E402

from governance.models import PolicyChange, TierPolicy, TierPolicyVersion  # noqa: E402


class TierPolicyVersionInline(admin.TabularInline):
    model = TierPolicyVersion
    fields = readonly_fields = ("number", "content_hash", "created_at", "change")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(TierPolicy)
class TierPolicyAdmin(ReadOnlyAdmin):
    list_display = ["tier", "current"]
    list_select_related = ["current"]
    inlines = [TierPolicyVersionInline]


class PolicyChangeForm(django_forms.ModelForm):
    class Meta:
        model = PolicyChange
        fields = ["policy", "operation", "payload", "rationale"]

    def clean(self):
        from governance.kernel.errors import DomainError
        from governance.policies.rules import apply_change
        from governance.policies.services import current_version

        data = super().clean() or {}
        policy, operation = data.get("policy"), data.get("operation")
        if policy and operation:
            try:
                apply_change(current_version(policy.tier).content, operation, data.get("payload"), tier=policy.tier)
            except DomainError as error:
                raise django_forms.ValidationError(f"{error.field or 'payload'}: {error.message}") from None
        return data


@admin.register(PolicyChange)
class PolicyChangeAdmin(admin.ModelAdmin):
    """Propose a change here (validated and audited by the service). Approving needs a second person who
    re-authenticates, so it is done on the policy's page, not as a bulk action here."""

    form = PolicyChangeForm
    list_display = ["__str__", "policy", "status", "proposed_by", "decided_by", "proposed_at"]
    list_select_related = ["policy", "proposed_by", "decided_by"]
    list_filter = ["status", "operation", "policy"]

    def get_queryset(self, request):
        # A change proposed from a restricted incident carries its content in the rationale.
        from governance.kernel.visibility import hidden_incidents

        return super().get_queryset(request).exclude(source_incident_id__in=hidden_incidents(request.user))

    def has_change_permission(self, request, obj=None):
        return obj is None

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        from governance.kernel.web import refusal_shown
        from governance.policies.services import propose_change

        with refusal_shown(request) as refused:
            created = propose_change(obj.policy, actor=request.user, operation=obj.operation, payload=obj.payload,
                                     rationale=obj.rationale)
        if refused:
            return
        obj.pk = created.pk


@admin.register(TierPolicyVersion)
class TierPolicyVersionAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "content_hash", "created_at", "change"]
    list_select_related = ["policy", "change__policy"]


# Model risk records change only through governance.validation.services; the admin reads them.
@admin.register(Validation)
class ValidationAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "validator", "status", "outcome", "completed_at", "valid_until"]
    list_select_related = ["model", "validator"]


@admin.register(Finding)
class FindingAdmin(SealedBySource, ReadOnlyAdmin):
    list_display = ["__str__", "model", "severity", "owner", "due_date", "status"]
    list_select_related = ["model", "owner"]


@admin.register(RevalidationNeed)
class RevalidationNeedAdmin(SealedBySource, ReadOnlyAdmin):
    list_display = ["__str__", "source_type", "source_id", "due_date", "resolved_at"]
    list_select_related = ["model"]


@admin.register(Hold)
class HoldAdmin(SealedBySource, ReadOnlyAdmin):
    list_display = ["__str__", "due_date", "cleared_at"]
    list_select_related = ["model"]


@admin.register(GateWaiver)
class GateWaiverAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "granted_by", "expires_at", "revoked_at"]
    list_select_related = ["model", "granted_by"]
