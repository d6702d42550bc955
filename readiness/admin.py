"""Admin views of readiness. State changes still go through the services: the admin is for looking, and for
the few corrections that have a service behind them."""

from django.contrib import admin

from governance.admin import ReadOnlyAdmin

from .models import (
    ChecklistItem,
    ChecklistResponse,
    Evaluation,
    FlaggerCanary,
    GitHubReview,
    Guardrail,
    LaunchRequest,
    Observation,
    PendingDecision,
    ResignRequest,
    RolloutPlan,
    RolloutStage,
    SignOff,
    ToolCall,
    ToolDecisionState,
    Waiver,
)


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    fields = readonly_fields = ("key", "title", "blocking", "kind", "status")
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class SignOffInline(admin.TabularInline):
    model = SignOff
    fields = readonly_fields = ("role", "signer", "decision", "dissent", "content_hash", "signed_at", "stale")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(LaunchRequest)
class LaunchRequestAdmin(ReadOnlyAdmin):
    list_display = ["title", "version", "status", "author", "created_at"]
    list_filter = ["status", "version__model__risk_tier"]
    list_select_related = ["version__model", "author"]
    search_fields = ["title", "version__model__slug"]
    inlines = [SignOffInline, ChecklistItemInline]

    def get_exclude(self, request, obj=None):
        # The rollback reason follows the visibility of the incidents about the launch.
        from governance.kernel.visibility import RESTRICTED
        from readiness.selectors import rollback_reason

        if obj is not None and rollback_reason(request.user, obj) == RESTRICTED:
            return ["rollback_reason"]
        return super().get_exclude(request, obj)


@admin.register(ChecklistItem)
class ChecklistItemAdmin(ReadOnlyAdmin):
    list_display = ["title", "launch", "status", "blocking", "kind"]
    list_filter = ["status", "kind", "source"]
    list_select_related = ["launch"]


@admin.register(ChecklistResponse)
class ChecklistResponseAdmin(ReadOnlyAdmin):
    list_display = ["item", "outcome", "responder", "created_at"]
    list_select_related = ["item", "responder"]


@admin.register(Waiver)
class WaiverAdmin(ReadOnlyAdmin):
    list_display = ["item", "granted_by", "role", "expires_at", "revoked_at"]
    list_select_related = ["item", "granted_by"]


@admin.register(SignOff)
class SignOffAdmin(ReadOnlyAdmin):
    list_display = ["launch", "role", "signer", "decision", "stale", "signed_at"]
    list_filter = ["decision", "stale", "role"]
    list_select_related = ["launch", "signer"]


@admin.register(Evaluation)
class EvaluationAdmin(ReadOnlyAdmin):
    list_display = ["launch", "kind", "submitted_by", "created_at"]
    list_select_related = ["launch"]


class RolloutStageInline(admin.TabularInline):
    model = RolloutStage
    fields = readonly_fields = ("position", "name", "traffic_percent", "min_duration_minutes", "approval_role", "entered_at")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(RolloutPlan)
class RolloutPlanAdmin(ReadOnlyAdmin):
    list_display = ["launch", "current_stage", "paused"]
    list_select_related = ["launch", "current_stage"]
    inlines = [RolloutStageInline]


@admin.register(Guardrail)
class GuardrailAdmin(ReadOnlyAdmin):
    list_display = ["plan", "metric", "comparator", "threshold", "action", "state"]
    list_select_related = ["plan__launch"]


@admin.register(Observation)
class ObservationAdmin(ReadOnlyAdmin):
    list_display = ["launch", "metric", "segment", "value", "observed_at"]
    list_filter = ["metric"]
    list_select_related = ["launch"]


@admin.register(RolloutStage)
class RolloutStageAdmin(ReadOnlyAdmin):
    list_display = ["plan", "position", "name", "traffic_percent", "min_duration_minutes", "approval_role"]
    list_select_related = ["plan__launch"]


# -- deploy-tool contracts: what each tool asked, the decision it got, and what waits for a person --------------

@admin.register(ToolCall)
class ToolCallAdmin(ReadOnlyAdmin):
    list_display = ["asked_at", "tool", "kind", "caller", "model", "version", "stage", "decision", "receipt_id"]
    list_filter = ["tool", "decision"]
    list_select_related = ["launch"]


@admin.register(ToolDecisionState)
class ToolDecisionStateAdmin(ReadOnlyAdmin):
    list_display = ["launch", "stage", "tool", "decision", "changed_at"]
    list_select_related = ["launch"]


@admin.register(FlaggerCanary)
class FlaggerCanaryAdmin(ReadOnlyAdmin):
    list_display = ["namespace", "name", "checksum", "model", "version", "bound_at"]


@admin.register(PendingDecision)
class PendingDecisionAdmin(ReadOnlyAdmin):
    list_display = ["launch", "stage", "role", "status", "opened_by_tool", "opened_at", "deadline", "decided_by"]
    list_filter = ["status", "role"]
    list_select_related = ["launch", "decided_by"]


@admin.register(ResignRequest)
class ResignRequestAdmin(ReadOnlyAdmin):
    list_display = ["launch", "signer", "role", "content_hash", "asked_by", "created_at"]
    list_select_related = ["launch", "signer"]


@admin.register(GitHubReview)
class GitHubReviewAdmin(ReadOnlyAdmin):
    list_display = ["delivery_id", "repository", "environment", "run_id", "sha", "model"]
