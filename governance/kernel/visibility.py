"""Confidentiality by construction: who may read a restricted incident and everything derived from it.

One rule, evaluated when a thing is read, never when it was made. A restricted incident (a matter under legal
privilege) is visible to its named members, to people holding Legal or Compliance, and to Gatehouse acting for
itself; to nobody else — not to other roles, not to administrators (running the system is not a need to know),
never to an API token. A token limited to some models sees only incidents bound to those models (through the
incident's affected models and its launch).

Records that carry an incident's content elsewhere keep a link to their source incident: audit events
(``AuditSource``), a policy change proposed from an action item (``PolicyChange.source_incident_id``), a launch's
rollback reason (the incidents about that launch), report files (``Report.source_incident_ids``). Every read path
asks this module whether the reader may see the source and shows ``RESTRICTED`` in place of the text when not.

Incidents live two layers up: postmortems registers its model here when Django starts (``register_incident_model``
in its AppConfig.ready), so lower layers can filter by hidden sources without importing it.
"""

from collections.abc import Iterable
from typing import Any, TypeVar, cast

from django.db.models import Exists, Model, OuterRef, Q, QuerySet

from governance.kernel.principals import Requester, SystemActor, TokenPrincipal
from governance.kernel.roles import Role, roles_of

PRIVILEGED_INCIDENT_ROLES = frozenset({Role.LEGAL, Role.COMPLIANCE})
# What a reader outside the circle sees where the product must say that something exists.
RESTRICTED = "details restricted"

T = TypeVar("T")
M = TypeVar("M", bound=Model)

_registry: dict[str, type[Model]] = {}


def register_incident_model(model: type[Model]) -> None:
    _registry["incident"] = model


def incident_model() -> Any:
    try:
        return _registry["incident"]
    except KeyError:
        raise RuntimeError("No incident model registered with governance.kernel.visibility.") from None


def is_privileged(actor: Requester) -> bool:
    """Legal and Compliance see every restricted incident; so does Gatehouse acting for itself."""
    if isinstance(actor, SystemActor):
        return True
    if actor is None or isinstance(actor, TokenPrincipal) or not getattr(actor, "is_authenticated", False):
        return False
    return bool(roles_of(actor) & PRIVILEGED_INCIDENT_ROLES)


def visible_incidents(actor: Requester, queryset: QuerySet[Any] | None = None) -> QuerySet[Any]:
    """The incidents ``actor`` may see. ``queryset`` (default: all incidents) carries the caller's joins."""
    model = incident_model()
    qs = model.objects.all() if queryset is None else queryset
    if isinstance(actor, SystemActor):
        return qs
    if actor is None or not getattr(actor, "is_authenticated", False) or not getattr(actor, "is_active", False):
        return qs.none()
    if isinstance(actor, TokenPrincipal):
        qs = qs.filter(restricted=False)
        if actor.model_ids is not None:
            allowed = list(actor.model_ids)
            through = model.models.through.objects.filter(incident_id=OuterRef("pk"))
            bound = Exists(through.filter(mlmodel_id__in=allowed)) | Q(launch__version__model_id__in=allowed)
            outside = (Exists(through.exclude(mlmodel_id__in=allowed))
                       | (Q(launch__isnull=False) & ~Q(launch__version__model_id__in=allowed)))
            qs = qs.filter(bound).exclude(outside)
        return qs
    if is_privileged(actor):
        return qs
    membership = model.members.through.objects.filter(incident_id=OuterRef("pk"), user_id=actor.pk)
    return qs.filter(Q(restricted=False) | Exists(membership))


def hidden_incidents(actor: Requester) -> QuerySet[Any]:
    """The incidents ``actor`` may not see, as a subquery of primary keys (for ``__in`` filters)."""
    model = incident_model()
    if isinstance(actor, SystemActor):
        return cast("QuerySet[Any]", model.objects.none().values("pk"))
    return cast("QuerySet[Any]", model.objects.exclude(pk__in=visible_incidents(actor).values("pk")).values("pk"))


def hidden_incident_ids(actor: Requester) -> set[int]:
    """The same as a set, read once, for code that redacts row by row."""
    return set(hidden_incidents(actor).values_list("pk", flat=True))


def incident_visible_to(actor: Requester, incident: Any) -> bool:
    """The rule for one incident object (uses ``incident._member_ids`` when a selector prefetched them)."""
    if incident is None:
        return True
    if isinstance(actor, SystemActor):
        return True
    if actor is None or not getattr(actor, "is_authenticated", False):
        return False
    if isinstance(actor, TokenPrincipal):
        if getattr(incident, "restricted", False):
            return False
        if actor.model_ids is None:
            return True
        return visible_incidents(actor).filter(pk=incident.pk).exists()
    if not getattr(incident, "restricted", False) or is_privileged(actor):
        return True
    member_ids = getattr(incident, "_member_ids", None)
    if member_ids is None:
        member_ids = set(incident.members.values_list("pk", flat=True))
    return actor.pk in member_ids


def sources_visible(actor: Requester, incident_ids: Iterable[int | str | None] | None) -> bool:
    """Whether ``actor`` may see every one of these incidents now (a report, a derived record)."""
    ids = {int(i) for i in (incident_ids or ()) if i is not None}
    if not ids or isinstance(actor, SystemActor):
        return True
    return visible_incidents(actor).filter(pk__in=ids).count() == len(ids)


def without_hidden_sources(actor: Requester, queryset: QuerySet[M], field: str) -> QuerySet[M]:
    """The rows of ``queryset`` whose source incident (``field``: a path to its primary key; empty means none)
    ``actor`` may see."""
    if isinstance(actor, SystemActor):
        return queryset
    return queryset.exclude(**{f"{field}__in": hidden_incidents(actor)})


def redact(text: T, source_id: int | None, hidden: set[int]) -> T | str:
    """``text`` when its source incident is not hidden from the reader, else the restricted notice."""
    if source_id is not None and source_id in hidden:
        return RESTRICTED
    return text


def visible_events(actor: Requester, queryset: QuerySet[M]) -> QuerySet[M]:
    """Audit events whose source incident ``actor`` may see (events without a source are not restricted)."""
    if isinstance(actor, SystemActor) or is_privileged(actor):
        return queryset
    return queryset.exclude(source__incident_id__in=hidden_incidents(actor))
