"""Read queries for launches, with their joins decided here so pages keep a constant query count."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Window

from governance.kernel import audit, visibility
from governance.kernel.permissions import roles_of
from governance.models import AuditEvent

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from governance.kernel.principals import Actor, Requester
    from governance.models import MLModel, User

from .models import (
    ChecklistItem,
    Evaluation,
    Guardrail,
    LaunchRequest,
    LaunchStatus,
    ResignRequest,
    RolloutStage,
    SignOff,
)


def launch_list(*, status: str | None = None, tier: str | None = None, q: str | None = None
                ) -> QuerySet[LaunchRequest]:
    qs = (LaunchRequest.objects.select_related("version__model", "author", "policy_version__policy")
          .prefetch_related(Prefetch("signoffs", queryset=SignOff.objects.filter(stale=False)))
          .order_by("-updated_at"))
    if status:
        qs = qs.filter(status=status)
    if tier:
        qs = qs.filter(version__model__risk_tier=tier)
    if q:
        qs = qs.filter(Q(title__icontains=q) | Q(version__model__slug__icontains=q))
    return qs


def awaiting_signature(user: Actor | AnonymousUser, launches: Iterable[LaunchRequest] | None = None) -> list[LaunchRequest]:
    """Launches in review that need a role this person holds, that they did not author and have not signed."""
    roles = roles_of(user)
    if not roles:
        return []
    if launches is None:
        launches = launch_list(status=LaunchStatus.IN_REVIEW)
    result = []
    for launch in launches:
        if launch.status != LaunchStatus.IN_REVIEW or launch.author_id == user.pk:
            continue
        current = [s for s in launch.signoffs.all() if not s.stale]
        if any(s.signer_id == user.pk for s in current):
            continue
        signed_roles = {s.role for s in current}
        if any(r in roles and r not in signed_roles for r in launch.required_roles):
            result.append(launch)
    return result


def launch_detail(pk: int) -> LaunchRequest:
    return (
        LaunchRequest.objects.select_related(
            "version__model__owner", "author", "policy_version__policy", "plan__current_stage",
        )
        .prefetch_related(
            "version__features",
            Prefetch("items", queryset=ChecklistItem.objects.select_related("attested_by", "added_by_signoff")
                     .prefetch_related("waivers__granted_by").order_by("position", "pk")),
            Prefetch("signoffs", queryset=SignOff.objects.select_related("signer").order_by("signed_at")),
            Prefetch("evaluations", queryset=Evaluation.objects.order_by("-created_at", "-pk")[:1],
                     to_attr="latest_evaluations"),
            Prefetch("plan__stages", queryset=RolloutStage.objects.select_related("approved_by").order_by("position")),
            Prefetch("plan__guardrails", queryset=Guardrail.objects.select_related("stage").order_by("pk")),
        )
        .get(pk=pk)
    )


# Launches that are not settled: a model page lists them first, however old.
OPEN_STATUSES = (LaunchStatus.DRAFT, LaunchStatus.IN_REVIEW, LaunchStatus.APPROVED, LaunchStatus.ROLLING_OUT)
LIVE_LIMIT = 20  # open launches shown above the history; a model with more has its history pages for the rest


def launches_for_model(model: MLModel) -> QuerySet[LaunchRequest]:
    return (LaunchRequest.objects.filter(version__model=model).select_related("version", "author")
            .order_by("-created_at", "-pk"))


def live_launches_for_model(model: MLModel) -> list[LaunchRequest]:
    """What is live for a model: its launches still open (rolling out first) and the newest launched one (the
    version serving decisions), in two bounded queries, never the model's whole history."""
    order: dict[str, int] = {LaunchStatus.ROLLING_OUT: 0, LaunchStatus.APPROVED: 1, LaunchStatus.IN_REVIEW: 2, LaunchStatus.DRAFT: 3}
    open_ = list(launches_for_model(model).filter(status__in=OPEN_STATUSES)[:LIVE_LIMIT])
    serving = launches_for_model(model).filter(status=LaunchStatus.LAUNCHED).order_by("-launched_at", "-pk").first()
    live = sorted(open_, key=lambda launch: order[launch.status])
    return live + ([serving] if serving else [])


def production_launch(model_id: int, *, other_than: LaunchRequest | None = None) -> LaunchRequest | None:
    """The launch whose version is in production: the model's newest launched one. A rollback takes a launch out of
    LAUNCHED, so the version it replaced is the one serving again (credit 4.1.3 after 4.2.0 was rolled back). With
    ``other_than``, the version that launch is compared with: the one serving beside it, or that it replaced when it
    is itself launched. One query."""
    launches = LaunchRequest.objects.filter(version__model_id=model_id, status=LaunchStatus.LAUNCHED)
    if other_than is not None:
        launches = launches.exclude(version_id=other_than.version_id)
        if other_than.status == LaunchStatus.LAUNCHED and other_than.launched_at is not None:
            launches = launches.filter(launched_at__lt=other_than.launched_at)
    return launches.select_related("version").order_by("-launched_at", "-pk").first()


def rolled_back_since(model_id: int, since: Any, *, limit: int = 3) -> list[LaunchRequest]:
    """The model's launches rolled back after ``since`` (the launch of the version in production), newest first:
    what a reader should know was tried and withdrawn in between."""
    launches = LaunchRequest.objects.filter(version__model_id=model_id, status=LaunchStatus.ROLLED_BACK)
    if since is not None:
        launches = launches.filter(rolled_back_at__gt=since)
    return list(launches.select_related("version").order_by("-rolled_back_at", "-pk")[:limit])


def audit_trail(launch: LaunchRequest, viewer: Requester, limit: int = 60) -> QuerySet[AuditEvent]:
    """The newest audit events about a launch and what hangs off it (items, sign-offs, rollout, incidents),
    newest first, leaving out those carrying content of an incident ``viewer`` may not see."""
    # content_changed is implied by the attestation or edit beside it, and observation batches are shown as
    # sparklines; the audit log keeps both all the same.
    events = (AuditEvent.objects.filter(Q(object_type="readiness.launchrequest", object_id=str(launch.pk))
                                        | Q(after__launch=launch.pk))
              .exclude(verb__in=("launch.content_changed", "observations.recorded")))
    return audit.newest_first(visibility.visible_events(viewer, events).select_related("source"))[:limit]


def rollback_reason(viewer: Requester, launch: LaunchRequest, *, sources: set[int] | None = None) -> str:
    """Why the launch was rolled back, as ``viewer`` may read it. The reason is the content of the incidents about
    the launch (the rollback opened one, and what it says is what that incident is about): when any of them is
    hidden from the viewer, they read only that details are restricted. ``sources`` collects the incidents whose
    content the answer carries, for reports."""
    if not launch.rollback_reason:
        return ""
    incidents = visibility.incident_model().objects.filter(launch_id=launch.pk)
    if incidents.filter(pk__in=visibility.hidden_incidents(viewer)).exists():
        return visibility.RESTRICTED
    if sources is not None:
        sources.update(incidents.values_list("pk", flat=True))
    return launch.rollback_reason


def rollback_signals(launch_id: int) -> list[dict[str, str]]:
    """Why a launch's deployment should be rolled back now, as reasons (empty: no reason): the launch was rolled
    back, its rollout is paused (frozen), or one of its guardrails is breached. One query."""
    row = (LaunchRequest.objects.filter(pk=launch_id)
           .annotate(breached=Exists(Guardrail.objects.filter(plan__launch=OuterRef("pk"),
                                                              state=Guardrail.State.BREACHED)))
           .values("status", "plan__paused", "breached").first())
    if row is None:
        return []
    reasons = []
    if row["status"] == LaunchStatus.ROLLED_BACK:
        reasons.append({"code": "rolled_back", "detail": f"Launch #{launch_id} was rolled back."})
    if row["plan__paused"]:
        reasons.append({"code": "rollout_paused", "detail": f"The rollout of launch #{launch_id} is paused."})
    if row["breached"]:
        reasons.append({"code": "guardrail_breached", "detail": f"A guardrail of launch #{launch_id} is breached."})
    return reasons


TOOL_CALLS_SHOWN = 30


def _latest_and_total(queryset: QuerySet[Any], limit: int) -> tuple[list[Any], int]:
    """The first ``limit`` rows and how many there are in all, in one query (a window count, taken before LIMIT)."""
    rows = list(queryset.annotate(total_rows=Window(Count("pk")))[:limit])
    return rows, rows[0].total_rows if rows else 0


def tool_calls(launch_id: int, limit: int = TOOL_CALLS_SHOWN) -> tuple[list[Any], int]:
    """Which deploy tool asked what and when: the latest ``limit`` calls, newest first, and the number of all."""
    from .models import ToolCall

    return _latest_and_total(ToolCall.objects.filter(launch_id=launch_id).order_by("-asked_at", "-pk"), limit)


def pending_decisions(launch_id: int, limit: int | None = None) -> tuple[list[Any], int]:
    """The decisions handed to a person for the launch, newest first (the latest ``limit``), and the number of all."""
    from .models import PendingDecision

    queryset = (PendingDecision.objects.filter(launch_id=launch_id).select_related("decided_by")
                .order_by("-opened_at", "-pk"))
    if limit is None:
        rows = list(queryset)
        return rows, len(rows)
    return _latest_and_total(queryset, limit)


def resign_requests_for(user: User) -> QuerySet[ResignRequest]:
    """The requests to sign again that ``user`` still has to answer: for the launch's current content, in review,
    and not yet signed by them (one query with the launch rows)."""
    signed = SignOff.objects.filter(launch=OuterRef("launch"), signer=user, stale=False)
    return (ResignRequest.objects.filter(signer=user, launch__status=LaunchStatus.IN_REVIEW,
                                         content_hash=F("launch__content_hash"))
            .exclude(Exists(signed)).select_related("launch").order_by("-created_at", "-pk"))
