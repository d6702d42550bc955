"""Admin views for inspection. Changes belong in the services (they audit); the admin is read-mostly."""

from django.contrib import admin

from .models import (
    ActionItem,
    CommitteeAsk,
    ContributingFactor,
    CustomerRemediation,
    ImpactCount,
    Incident,
    Postmortem,
    PostmortemAmendment,
    PostmortemReview,
    RegulatoryNotification,
    TimelineEvent,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TimelineInline(ReadOnlyInline):
    model = TimelineEvent
    fields = ["at", "kind", "text", "author_label"]


class FactorInline(ReadOnlyInline):
    model = ContributingFactor
    fields = ["category", "description"]


class ActionItemInline(ReadOnlyInline):
    model = ActionItem
    fields = ["title", "kind", "owner", "due_date", "priority", "status", "policy_change"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Incident records are written by the services, which audit every change."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = ["id", "title", "severity", "status", "detected_at", "restricted", "fair_lending",
                    "consumer_harm", "recurrence_of"]
    list_select_related = ["recurrence_of"]
    list_filter = ["status", "severity", "restricted", "fair_lending", "consumer_harm", "detection_source"]
    search_fields = ["title", "summary"]
    inlines = [TimelineInline, FactorInline, ActionItemInline]

    def get_queryset(self, request):
        # Even in the admin, a restricted incident shows only to those who may see it.
        from .selectors import visible_incidents

        return visible_incidents(request.user, super().get_queryset(request))


def _visible(request, qs, path="incident"):
    from .selectors import visible_incidents

    return qs.filter(**{f"{path}__in": visible_incidents(request.user)})


@admin.register(TimelineEvent)
class TimelineEventAdmin(ReadOnlyAdmin):
    list_display = ["incident", "at", "kind", "author_label"]
    list_filter = ["kind"]
    list_select_related = ["incident"]

    def get_queryset(self, request):
        return _visible(request, super().get_queryset(request))


@admin.register(ContributingFactor)
class ContributingFactorAdmin(ReadOnlyAdmin):
    list_display = ["incident", "category", "description"]
    list_filter = ["category"]
    list_select_related = ["incident"]

    def get_queryset(self, request):
        return _visible(request, super().get_queryset(request))


@admin.register(ActionItem)
class ActionItemAdmin(ReadOnlyAdmin):
    list_display = ["title", "incident", "kind", "owner", "due_date", "priority", "status", "policy_change"]
    list_filter = ["status", "kind", "priority"]
    list_select_related = ["incident", "owner", "policy_change__policy"]

    def get_queryset(self, request):
        return _visible(request, super().get_queryset(request))


@admin.register(Postmortem)
class PostmortemAdmin(ReadOnlyAdmin):
    list_display = ["incident", "status", "author", "review_round", "published_at"]
    list_filter = ["status"]
    list_select_related = ["incident", "author"]

    def get_queryset(self, request):
        return _visible(request, super().get_queryset(request))


@admin.register(PostmortemReview)
class PostmortemReviewAdmin(ReadOnlyAdmin):
    list_display = ["postmortem", "reviewer", "role", "decision", "round", "created_at"]
    list_filter = ["decision", "role"]
    list_select_related = ["postmortem__incident", "reviewer"]

    def get_queryset(self, request):
        return _visible(request, super().get_queryset(request), "postmortem__incident")


@admin.register(PostmortemAmendment)
class PostmortemAmendmentAdmin(ReadOnlyAdmin):
    list_display = ["postmortem", "field", "author", "created_at"]
    list_select_related = ["postmortem__incident", "author"]

    def get_queryset(self, request):
        return _visible(request, super().get_queryset(request), "postmortem__incident")


@admin.register(ImpactCount)
class ImpactCountAdmin(ReadOnlyAdmin):
    list_display = ["incident", "measure", "count", "source", "recorded_at"]
    list_select_related = ["incident"]

    def get_queryset(self, request):
        return _visible(request, super().get_queryset(request))


@admin.register(CustomerRemediation)
class CustomerRemediationAdmin(ReadOnlyAdmin):
    list_display = ["incident", "action", "customers", "status", "due_date"]
    list_filter = ["status"]
    list_select_related = ["incident"]

    def get_queryset(self, request):
        return _visible(request, super().get_queryset(request))


@admin.register(RegulatoryNotification)
class RegulatoryNotificationAdmin(ReadOnlyAdmin):
    list_display = ["incident", "recipient", "due_at", "sent_at"]
    list_select_related = ["incident"]

    def get_queryset(self, request):
        return _visible(request, super().get_queryset(request))


@admin.register(CommitteeAsk)
class CommitteeAskAdmin(ReadOnlyAdmin):
    list_display = ["kind", "text", "incident", "period_start", "period_end"]
    list_filter = ["kind"]
    list_select_related = ["incident"]

    def get_queryset(self, request):
        # An ask on a pack's period belongs to no incident; one on an incident follows its visibility.
        from django.db.models import Q

        from .selectors import visible_incidents

        return super().get_queryset(request).filter(
            Q(incident__isnull=True) | Q(incident__in=visible_incidents(request.user)))
