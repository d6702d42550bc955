"""Read queries of the postmortems app. Which incidents a person may see is decided in one place:
``visible_incidents``. Every list, page, API answer, search, dashboard count, export and report starts there.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from governance.kernel import visibility
from governance.kernel.permissions import can
from governance.models import User

from .blameless import check_text
from .models import (
    NARRATIVE_FIELDS,
    OPEN_STATUSES,
    ActionItem,
    ContributingFactor,
    FactorCategory,
    Incident,
    Postmortem,
    PostmortemAmendment,
    PostmortemReview,
    PostmortemStatus,
    TimelineEvent,
)

RECURRENCE_WINDOW = timedelta(days=180)
# Two timeline entries farther apart than this get a highlighted gap row between them.
TIMELINE_GAP = timedelta(hours=24)

if TYPE_CHECKING:
    from governance.kernel.principals import Requester
    from readiness.models import LaunchRequest


def visible_incidents(user: Requester, queryset: QuerySet[Incident] | None = None) -> QuerySet[Incident]:
    """Incidents ``user`` may see, by the one rule in governance.kernel.visibility: every unrestricted one (for
    a token limited to models, those bound to its models), and a restricted one only for its named members,
    Legal and Compliance. ``queryset`` (default: all incidents) carries the caller's joins and prefetches."""
    return visibility.visible_incidents(user, queryset)


def get_visible_incident(user: Requester, pk: int | str, queryset: QuerySet[Incident] | None = None) -> Incident:
    """The incident if ``user`` may see it; Incident.DoesNotExist otherwise (callers answer 404, not 403,
    so that a restricted incident's existence does not leak)."""
    return visible_incidents(user, queryset).get(pk=pk)


def _with_member_ids(incident: Incident) -> Incident:
    """Let governance.kernel.permissions.incident_visible_to use the prefetched members instead of a query."""
    incident._member_ids = {m.pk for m in incident.members.all()}
    return incident


def incident_list(user: Requester, *, status: str | None = None, severity: str | None = None,
                  q: str | None = None) -> QuerySet[Incident]:
    today = timezone.localdate()
    open_items = Q(action_items__status__in=ActionItem.OPEN_STATUSES)
    qs = (
        visible_incidents(user)
        .select_related("postmortem")
        .annotate(
            open_item_count=Count("action_items", filter=open_items, distinct=True),
            overdue_item_count=Count("action_items", filter=open_items & Q(action_items__due_date__lt=today),
                                     distinct=True),
            recurrence_visible=Exists(visible_incidents(user).filter(pk=OuterRef("recurrence_of_id"))),
        )
        .order_by("-detected_at", "-pk")
    )
    if status:
        qs = qs.filter(status=status)
    if severity:
        qs = qs.filter(severity=severity)
    if q:
        q = q.strip()
        match = (Q(title__icontains=q) | Q(summary__icontains=q) | Q(impact_text__icontains=q)
                 | Exists(TimelineEvent.objects.filter(incident_id=OuterRef("pk"), text__icontains=q))
                 | Exists(ContributingFactor.objects.filter(incident_id=OuterRef("pk"), description__icontains=q)))
        if q.lstrip("#").isdigit():
            match |= Q(pk=int(q.lstrip("#")))
        qs = qs.filter(match)
    return qs


def incident_detail(user: Requester, pk: int | str) -> Incident:
    """Everything the incident page shows, fetched in a fixed number of queries."""
    qs = (
        Incident.objects.select_related("launch__version__model", "created_by", "recurrence_of", "postmortem")
        .prefetch_related(
            "members", "models",
            Prefetch("timeline", queryset=TimelineEvent.objects.order_by("at", "pk")),
            Prefetch("factors", queryset=ContributingFactor.objects.order_by("category", "pk")),
            Prefetch("action_items", queryset=ActionItem.objects.select_related(
                "owner", "policy_change__policy", "policy_change__resulting_version").order_by("due_date", "pk")),
            "impact_counts", "remediations", "notifications", "committee_asks",
        )
    )
    return _with_member_ids(get_visible_incident(user, pk, qs))


def later_recurrences(user: Requester, incident: Incident) -> list[Incident]:
    return list(visible_incidents(user).filter(recurrence_of=incident).order_by("detected_at"))


SAME_CAUSE_SHOWN = 10


def earlier_with_same_cause(user: Requester, incident: Incident, *, limit: int = SAME_CAUSE_SHOWN) -> list[Incident]:
    """Earlier incidents ``user`` may see that share a contributing-factor category with ``incident``, newest
    first, each with what it shares (categories, models, features of the launched version) in ``shared_*``. A
    fixed number of queries, whatever the history."""
    categories = {f.category for f in incident.factors.all()}
    if not categories:
        return []
    rows: list[Incident] = list(visible_incidents(user).exclude(pk=incident.pk)
                .annotate(start=Coalesce("began_at", "detected_at"))
                .filter(start__lt=incident.started_at, factors__category__in=categories)
                .distinct().order_by("-start", "-pk")[:limit])
    if not rows:
        return rows
    ids = [i.pk for i in rows] + [incident.pk]
    categories_of: defaultdict[int, set[str]] = defaultdict(set)
    for incident_id, category in ContributingFactor.objects.filter(incident_id__in=ids).values_list(
            "incident_id", "category"):
        categories_of[incident_id].add(category)
    models_of: defaultdict[int, set[str]] = defaultdict(set)
    for incident_id, name in Incident.models.through.objects.filter(incident_id__in=ids).values_list(
            "incident_id", "mlmodel__name"):
        models_of[incident_id].add(name)
    features_of: defaultdict[int, set[str]] = defaultdict(set)
    for incident_id, name in Incident.objects.filter(pk__in=ids, launch__isnull=False).values_list(
            "pk", "launch__version__features__name"):
        if name:
            features_of[incident_id].add(name)
    for row in rows:
        row.shared_categories = sorted(FactorCategory(c).label for c in categories_of[row.pk] & categories_of[incident.pk])
        row.shared_models = sorted(models_of[row.pk] & models_of[incident.pk])
        row.shared_features = sorted(features_of[row.pk] & features_of[incident.pk])
    return rows


def recurrences_by_cause(visible: QuerySet[Incident], since: datetime, until: datetime) -> list[dict[str, Any]]:
    """For each contributing-factor category: how many incidents detected in [since, until) share it with an
    earlier incident among ``visible`` (a recurrence of that cause). Counted by the database."""
    earlier = ContributingFactor.objects.filter(
        incident__in=visible, category=OuterRef("category"),
        incident__detected_at__lt=OuterRef("incident__detected_at")).exclude(incident_id=OuterRef("incident_id"))
    counts = dict(ContributingFactor.objects.filter(incident__in=visible, incident__detected_at__gte=since,
                                                    incident__detected_at__lt=until)
                  .filter(Exists(earlier)).values("category")
                  .annotate(n=Count("incident", distinct=True)).values_list("category", "n"))
    return [{"category": c, "label": FactorCategory(c).label, "count": counts[c]}
            for c in FactorCategory.values if counts.get(c)]


def recurrence_window(incident: Incident, recurrences: Iterable[Incident], now: datetime | None = None
                      ) -> dict[str, Any] | None:
    """What can truthfully be said about recurrence, computed from the data rather than written by hand: since
    when the incident has been over (resolved, else mitigated), whether a later incident recurs it, and how long
    the quiet period has lasted. ``covers_window`` says whether that period spans the whole window in which a
    recurrence is recognised (180 days), so "no recurrence in six months" is claimed only when it is true."""
    over = incident.resolved_at or incident.mitigated_at
    if over is None:
        return None
    now = now or timezone.now()
    recurrences = sorted(recurrences, key=lambda r: r.detected_at)
    first = recurrences[0] if recurrences else None
    until = first.detected_at if first is not None else now
    quiet = max(until - over, timedelta(0))
    return {"since": over, "since_label": "resolved" if incident.resolved_at else "mitigated",
            "quiet": quiet, "days": quiet.days, "recurred": first is not None,
            "first_recurrence": None if first is None else {"id": first.pk, "title": first.title,
                                                            "detected_at": first.detected_at},
            "covers_window": first is None and quiet >= RECURRENCE_WINDOW}


def timeline_rows(events: Iterable[TimelineEvent], *, launch: LaunchRequest | None = None,
                  gap: timedelta = TIMELINE_GAP) -> list[dict[str, Any]]:
    """Timeline entries in time order, with the launch's go-live as a synthetic entry and a "gap" row
    wherever two consecutive entries are more than ``gap`` apart. Pure: no queries."""
    rows: list[dict[str, Any]] = [{"type": "event", "at": e.at, "event": e} for e in events]
    if launch is not None:
        live_at = launch.rollout_started_at or launch.approved_at
        # An incident opened by a rollback already records the rollout start as an event.
        if live_at is not None and not any(row["at"] == live_at for row in rows):
            label = "rollout started" if launch.rollout_started_at else "approved"
            rows.append({"type": "launch", "at": live_at, "launch": launch, "label": label})
    rows.sort(key=lambda row: (row["at"], row["type"] != "launch"))
    out: list[dict[str, Any]] = []
    previous: datetime | None = None
    for row in rows:
        if previous is not None and row["at"] - previous > gap:
            out.append({"type": "gap", "at": previous, "until": row["at"], "duration": row["at"] - previous})
        out.append(row)
        previous = row["at"]
    return out


def previous_occurrence(incident: Incident) -> Incident | None:
    """The most recent earlier incident, started in the 180 days before this one, that shares a
    contributing-factor category and an affected model with it."""
    categories = list(incident.factors.values_list("category", flat=True).distinct())
    model_ids = list(incident.models.values_list("pk", flat=True))
    if not categories or not model_ids:
        return None
    start = incident.started_at
    return (
        Incident.objects.exclude(pk=incident.pk)
        .annotate(start=Coalesce("began_at", "detected_at"))
        .filter(start__gte=start - RECURRENCE_WINDOW, start__lt=start)
        .filter(factors__category__in=categories, models__in=model_ids)
        .order_by("-start", "-pk")
        .first()
    )


def later_candidates(incident: Incident) -> QuerySet[Incident]:
    """Unmarked incidents that started within 180 days after ``incident`` and could recur it."""
    start = incident.started_at
    return (
        Incident.objects.exclude(pk=incident.pk)
        .filter(recurrence_of__isnull=True)
        .annotate(start=Coalesce("began_at", "detected_at"))
        .filter(start__gt=start, start__lte=start + RECURRENCE_WINDOW)
        .filter(factors__category__in=incident.factors.values("category"),
                models__in=incident.models.values("pk"))
        .distinct()
    )


def known_person_names() -> list[str]:
    """Names of active people, so the blameless check can recognise a person used as a subject."""
    names = []
    for first, last in User.objects.filter(is_active=True).values_list("first_name", "last_name"):
        full = f"{first} {last}".strip()
        if full:
            names.append(full)
    return names


def blameless_findings(postmortem: Postmortem, *, known_names: list[str] | None = None
                       ) -> dict[str, list[Any]]:
    """The blameless-language findings per narrative section: warnings for the writer and the reviewers."""
    names = known_person_names() if known_names is None else known_names
    return {name: check_text(getattr(postmortem, name), known_names=names) for name in NARRATIVE_FIELDS}


def postmortem_page(user: Requester, incident_pk: int | str) -> Postmortem:
    """The postmortem of a visible incident with its reviews and amendments (Postmortem.DoesNotExist if none)."""
    incident = get_visible_incident(user, incident_pk, Incident.objects.prefetch_related("members"))
    _with_member_ids(incident)
    postmortem = (
        Postmortem.objects.select_related("author")
        .prefetch_related(
            Prefetch("reviews", queryset=PostmortemReview.objects.select_related("reviewer")),
            Prefetch("amendments", queryset=PostmortemAmendment.objects.select_related("author")),
        )
        .get(incident=incident)
    )
    postmortem.incident = incident
    return postmortem


def export_bundle(user: Requester, incident_pk: int | str) -> Postmortem:
    """A postmortem with everything an export contains."""
    postmortem = postmortem_page(user, incident_pk)
    incident = (
        Incident.objects.select_related("launch__version__model")
        .prefetch_related("models", Prefetch("timeline", queryset=TimelineEvent.objects.order_by("at", "pk")),
                          "factors", Prefetch("action_items", queryset=ActionItem.objects.select_related(
                              "owner", "policy_change__policy").order_by("due_date", "pk")))
        .get(pk=postmortem.incident.pk)
    )
    incident._member_ids = postmortem.incident._member_ids
    postmortem.incident = incident
    return postmortem


def action_item_page(user: Requester, incident_pk: int | str, item_pk: int | str) -> ActionItem:
    incident = get_visible_incident(user, incident_pk, Incident.objects.prefetch_related("members"))
    _with_member_ids(incident)
    item = ActionItem.objects.select_related(
        "owner", "policy_change__policy", "policy_change__proposed_by", "policy_change__decided_by",
        "policy_change__resulting_version",
    ).get(incident=incident, pk=item_pk)
    item.incident = incident
    return item


def overdue_action_items(today: date | None = None) -> QuerySet[ActionItem]:
    """Open action items past their due date, with their owners and incidents."""
    today = today or timezone.localdate()
    return (
        ActionItem.objects.filter(status__in=ActionItem.OPEN_STATUSES, due_date__lt=today)
        .select_related("owner", "incident")
        .order_by("owner_id", "due_date", "pk")
    )


def _median(values: list[Any]) -> Any:
    return statistics.median(values) if values else None


def follow_through(user: Requester, *, today: date | None = None) -> dict[str, Any]:
    """The learning page's numbers, over the incidents ``user`` may see."""
    today = today or timezone.localdate()
    visible = visible_incidents(user)
    # Plain rows, not model instances: the page summarises every visible incident, thousands after some years.
    rows = list(visible.order_by("detected_at", "pk").values_list("began_at", "detected_at", "resolved_at"))
    ttd: list[tuple[datetime, timedelta]] = []
    ttr: list[tuple[datetime, timedelta]] = []
    zone = timezone.get_current_timezone()
    quarters: defaultdict[str, dict[str, Any]] = defaultdict(lambda: {"count": 0, "ttd": [], "ttr": []})
    for began, detected, resolved in rows:
        local = detected.astimezone(zone)
        quarter = quarters[f"{local.year} Q{(local.month - 1) // 3 + 1}"]
        quarter["count"] += 1
        if began is not None:
            ttd.append((detected, detected - began))
            quarter["ttd"].append(detected - began)
        if resolved is not None:
            ttr.append((detected, resolved - detected))
            quarter["ttr"].append(resolved - detected)
    by_quarter = [{"quarter": key, "count": q["count"], "median_ttd": _median(q["ttd"]),
                   "median_ttr": _median(q["ttr"])} for key, q in sorted(quarters.items())]

    per_category = dict(
        ContributingFactor.objects.filter(incident__in=visible).values("category")
        .annotate(n=Count("incident", distinct=True)).values_list("category", "n")
    )
    categories = [(FactorCategory(c).label, per_category.get(c, 0)) for c in FactorCategory.values]

    # Counted by the database: a bank's years of postmortems hold thousands of action items. "On time" is
    # ActionItem.completed_on_time: done on or before the due date, in the local calendar.
    done = Q(status=ActionItem.Status.DONE)
    counts = (ActionItem.objects.filter(incident__in=visible).exclude(status=ActionItem.Status.WONT_DO)
              .annotate(done_on=TruncDate("completed_at", tzinfo=timezone.get_current_timezone()))
              .aggregate(done=Count("pk", filter=done), on_time=Count("pk", filter=done & Q(done_on__lte=F("due_date"))),
                         overdue=Count("pk", filter=~done & Q(due_date__lt=today)),
                         not_due=Count("pk", filter=~done & Q(due_date__gte=today))))
    tally = {"on_time": counts["on_time"], "late": counts["done"] - counts["on_time"], "overdue": counts["overdue"],
             "not_due": counts["not_due"]}
    settled = tally["on_time"] + tally["late"] + tally["overdue"]
    on_time_rate = tally["on_time"] / settled if settled else None

    # The newest recurrences, with the count of all: years of incidents would otherwise list every pair.
    recurring = visible.filter(recurrence_of__in=visible)
    recurrence_count = recurring.count()
    recurrences = list(recurring.select_related("recurrence_of").order_by("-detected_at", "-pk")[:RECURRENCES_SHOWN])
    # What each pair shares, from two flat queries over every incident involved (not a manager per incident).
    involved = {i.pk for i in recurrences} | {i.recurrence_of_id for i in recurrences if i.recurrence_of_id}
    categories_of: defaultdict[int, set[str]] = defaultdict(set)
    for incident_id, category in ContributingFactor.objects.filter(incident_id__in=involved).values_list(
            "incident_id", "category"):
        categories_of[incident_id].add(FactorCategory(category).label)
    models_of: defaultdict[int, set[str]] = defaultdict(set)
    for incident_id, name in Incident.models.through.objects.filter(incident_id__in=involved).values_list(
            "incident_id", "mlmodel__name"):
        models_of[incident_id].add(name)
    for incident in recurrences:
        earlier_id = incident.recurrence_of_id
        assert earlier_id is not None  # filtered on recurrence_of__in
        incident.shared_categories = sorted(categories_of[incident.pk] & categories_of[earlier_id])
        incident.shared_models = sorted(models_of[incident.pk] & models_of[earlier_id])

    return {
        "incident_count": len(rows), "ttd": ttd, "ttr": ttr, "by_quarter": by_quarter,
        "median_ttd": _median([d for _, d in ttd]), "median_ttr": _median([d for _, d in ttr]),
        "categories": categories, "items": tally, "on_time_rate": on_time_rate, "recurrences": recurrences,
        "recurrence_count": recurrence_count,
    }


RECURRENCES_SHOWN = 20

SEVERITY_ORDER = {"SEV1": 0, "SEV2": 1, "SEV3": 2, "SEV4": 3}


def dashboard_panels(user: Requester) -> list[dict[str, Any]]:
    """The postmortems app's dashboard panels (registered in PostmortemsConfig.ready)."""
    if not can(user, "incident.view"):
        return []
    open_incidents = list(visible_incidents(user).filter(status__in=OPEN_STATUSES).order_by("-detected_at"))
    open_incidents.sort(key=lambda i: SEVERITY_ORDER.get(i.severity, 9))
    panels = [{
        "title": "Open incidents", "count": len(open_incidents),
        "rows": [{"url": i.get_absolute_url(), "label": f"#{i.pk} {i.title}",
                  "note": f"{i.severity} · {i.get_status_display().lower()}" + (" · restricted" if i.restricted else "")}
                 for i in open_incidents[:5]],
        "empty": "No open incidents.",
    }]
    if isinstance(user, User):
        today = timezone.localdate()
        mine = list(ActionItem.objects.filter(owner=user, status__in=ActionItem.OPEN_STATUSES,
                                              incident__in=visible_incidents(user))
                    .select_related("incident").order_by("due_date", "pk"))
        panels.append({
            "title": "My action items", "count": len(mine),
            "rows": [{"url": item.get_absolute_url(), "label": item.title,
                      "note": f"due {item.due_date:%-d %b %Y}" + (" — overdue" if item.due_date < today else "")}
                     for item in mine[:5]],
            "empty": "No open action items assigned to you.",
        })
    if can(user, "postmortem.review"):
        reviewed = PostmortemReview.objects.filter(postmortem=OuterRef("pk"), reviewer_id=getattr(user, "pk", None),
                                                   round=OuterRef("review_round"))
        waiting = list(Postmortem.objects.filter(status=PostmortemStatus.IN_REVIEW,
                                                 incident__in=visible_incidents(user))
                       .exclude(author_id=getattr(user, "pk", None)).exclude(Exists(reviewed))
                       .select_related("incident").order_by("submitted_at"))
        panels.append({
            "title": "Postmortems awaiting review", "count": len(waiting),
            "rows": [{"url": p.get_absolute_url(), "label": f"#{p.incident_id} {p.incident.title}",
                      "note": f"submitted {p.submitted_at:%-d %b}" if p.submitted_at else ""} for p in waiting[:5]],
            "empty": "Nothing waiting for your review.",
        })
    return panels
