"""State changes of incidents, action items and postmortems. Each checks permission, validates, locks,
writes and audits; nothing else writes these rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import TextChoices
from django.utils import timezone

from governance.kernel import audit, clock
from governance.kernel.errors import Conflict, PermissionDenied, ValidationFailed
from governance.kernel.permissions import has_role, require
from governance.kernel.principals import TokenPrincipal, acting_person, actor_label, actor_user
from governance.kernel.roles import Role
from governance.kernel.services import full_clean
from governance.kernel.visibility import RESTRICTED, incident_visible_to, is_privileged
from governance.models import MLModel, PolicyChange, RiskTier, User
from governance.policies import services as policies
from governance.validation import services as model_risk

from . import inputs, selectors
from .models import (
    NARRATIVE_FIELDS,
    POSTMORTEM_TRANSITIONS,
    REQUIRED_FOR_REVIEW,
    TRANSITIONS,
    ActionItem,
    ContributingFactor,
    DetectionSource,
    FactorCategory,
    Incident,
    IncidentStatus,
    Postmortem,
    PostmortemAmendment,
    PostmortemReview,
    PostmortemStatus,
    Severity,
    TimelineEvent,
)

# Clocks of monitoring systems drift a little; a time further ahead than this is a mistake.
if TYPE_CHECKING:
    from governance.kernel.principals import Actor, Requester
    from readiness.models import LaunchRequest

FUTURE_TOLERANCE = timedelta(minutes=5)
TIME_FIELDS = ("began_at", "detected_at", "mitigated_at", "resolved_at", "closed_at")
TIME_NAMES = {"began_at": "began", "detected_at": "detected", "mitigated_at": "mitigated",
              "resolved_at": "resolved", "closed_at": "closed"}
# The time each status requires once reached (and forbids before).
STATUS_TIME = {IncidentStatus.MITIGATED: "mitigated_at", IncidentStatus.RESOLVED: "resolved_at",
               IncidentStatus.CLOSED: "closed_at"}
STATUS_ORDER = [IncidentStatus.INVESTIGATING, IncidentStatus.MITIGATED, IncidentStatus.RESOLVED,
                IncidentStatus.CLOSED]
INCIDENT_FIELDS = ("title", "severity", "status", "detection_source", *TIME_FIELDS, "summary", "impact_text",
                   "impact_figures", "fair_lending", "consumer_harm", "restricted", "launch")
EDITABLE_INCIDENT_FIELDS = ("title", "severity", "detection_source", "began_at", "detected_at", "mitigated_at",
                            "resolved_at", "summary", "impact_text", "impact_figures", "fair_lending",
                            "consumer_harm", "restricted", "launch", "members", "models")
ACTION_ITEM_FIELDS = ("title", "kind", "owner", "due_date", "priority", "status")
POLICY_OPERATIONS = (PolicyChange.Operation.ADD_CHECKLIST_ITEM, PolicyChange.Operation.ADD_GUARDRAIL,
                     PolicyChange.Operation.SET_REQUIRED_ROLES, PolicyChange.Operation.SET_ROLLOUT)
MAX_NARRATIVE = 50_000


# --- validation helpers (pure) ------------------------------------------------------------------------

def _text(value: object, field: str, *, max_length: int | None = None, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed("Enter text.", field=field)
    value = value.strip()
    if required and not value:
        raise ValidationFailed("This field is required.", field=field)
    if max_length and len(value) > max_length:
        raise ValidationFailed(f"At most {max_length} characters.", field=field)
    return value


def _choice(value: object, choices: type[TextChoices], field: str, what: str) -> str:
    if value not in choices.values:
        raise ValidationFailed(f"Unknown {what} {value!r}; use one of {', '.join(choices.values)}.", field=field,
                               code="unknown_choice")
    return value


def _moment(value: object, field: str, *, required: bool = False) -> datetime | None:
    if value in (None, ""):
        if required:
            raise ValidationFailed("Give a date and time.", field=field)
        return None
    if not isinstance(value, datetime):
        raise ValidationFailed("Give a date and time.", field=field)
    if timezone.is_naive(value):  # forms and the API give zoned times; a zone is never guessed here
        raise ValidationFailed("Give a time with its time zone.", field=field)
    if value > timezone.now() + FUTURE_TOLERANCE:
        raise ValidationFailed(f"The {TIME_NAMES.get(field, 'event')} time is in the future.", field=field)
    return value


def validate_impact_figures(figures: object) -> dict[str, Any]:
    """Structured impact: decisions affected (a count), revenue impact (a number, negative for a loss) and
    the approval-rate shift per segment in percentage points. The shape is declared once, in
    postmortems.inputs; this is the final check on what any caller passes."""
    return inputs.impact_figures(figures)


def check_incident_times(incident: Incident) -> None:
    """Times run began ≤ detected ≤ mitigated ≤ resolved ≤ closed, and each status carries its time."""
    values = [(name, getattr(incident, name)) for name in TIME_FIELDS]
    for i, (earlier, earlier_at) in enumerate(values):
        for later, later_at in values[i + 1:]:
            if earlier_at is not None and later_at is not None and later_at < earlier_at:
                raise ValidationFailed(
                    f"The incident cannot be {TIME_NAMES[later]} ({later_at:%Y-%m-%d %H:%M}) before it "
                    f"{TIME_NAMES[earlier]} ({earlier_at:%Y-%m-%d %H:%M}); times run began ≤ detected ≤ "
                    "mitigated ≤ resolved ≤ closed.", field=later, code="times_out_of_order")
    reached = STATUS_ORDER.index(IncidentStatus(incident.status))
    for status, name in STATUS_TIME.items():
        if STATUS_ORDER.index(status) <= reached and getattr(incident, name) is None:
            raise ValidationFailed(f"A {incident.get_status_display().lower()} incident needs its "
                                   f"{TIME_NAMES[name]} time.", field=name)
        if STATUS_ORDER.index(status) > reached and getattr(incident, name) is not None:
            raise ValidationFailed(f"Set the {TIME_NAMES[name]} time by moving the incident to "
                                   f"{status.label.lower()}, not by editing it.", field=name)


def _event_values(data: object, prefix: str = "") -> dict[str, Any]:
    def where(key: str) -> str:
        return f"{prefix}.{key}" if prefix else key

    if not isinstance(data, dict):
        raise ValidationFailed("Give a timeline event as {at, kind, text}.", field=prefix or None)
    return {
        "at": _moment(data.get("at"), where("at"), required=True),
        "kind": _choice(data.get("kind"), TimelineEvent.Kind, where("kind"), "timeline event kind"),
        "text": _text(data.get("text"), where("text"), max_length=5000),
    }


def _factor_values(data: object, prefix: str = "") -> dict[str, Any]:
    def where(key: str) -> str:
        return f"{prefix}.{key}" if prefix else key

    if not isinstance(data, dict):
        raise ValidationFailed("Give a contributing factor as {category, description}.", field=prefix or None)
    return {
        "category": _choice(data.get("category"), FactorCategory, where("category"), "category"),
        "description": _text(data.get("description"), where("description"), max_length=5000),
    }


def _people(users: Iterable[User] | None, field: str) -> list[User]:
    users = list(users or [])
    for user in users:
        if not isinstance(user, User) or not user.is_active:
            raise ValidationFailed("Members are active people.", field=field)
    return users


def _is_privileged(actor: Requester) -> bool:
    return is_privileged(actor)


CIRCLE_MESSAGE = ("Only Legal or Compliance can change who may see a restricted incident: its members and its "
                  "restriction protect a legally privileged matter.")


def _incident_snapshot(incident: Incident, *, members: Iterable[User] | None = None,
                       models: Iterable[MLModel] | None = None) -> dict[str, Any]:
    data = {name: getattr(incident, name) for name in INCIDENT_FIELDS}
    data["launch"] = incident.launch_id
    if members is not None:
        data["members"] = sorted(u.username for u in members)
    if models is not None:
        data["models"] = sorted(m.slug for m in models)
    return data


def _diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    changed = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}


def _lock(incident: Incident) -> Incident:
    return Incident.objects.select_for_update().get(pk=incident.pk)


# --- incidents ----------------------------------------------------------------------------------------

def open_incident(*, actor: Actor, title: str, severity: str, detection_source: str,
                  detected_at: datetime | None = None, began_at: datetime | None = None, summary: str = "",
                  launch: LaunchRequest | None = None, models: Iterable[MLModel] = (), restricted: bool = False,
                  members: Iterable[User] = (), fair_lending: bool = False, consumer_harm: bool = False,
                  timeline: Iterable[dict[str, Any]] = (), impact_text: str = "", impact_figures: object = None,
                  factors: Iterable[dict[str, Any]] = ()) -> Incident:
    """Open an incident, with any timeline events and contributing factors already known, in one transaction.
    ``timeline``: dicts {"at", "kind", "text"}; ``factors``: dicts {"category", "description"}.

    A restricted incident opened by a person outside Legal and Compliance names that person as a member,
    so they keep sight of what they opened; an API token cannot open one (it could never read it back).
    """
    require(actor, "incident.create")
    if launch is not None:
        require(actor, "incident.create", launch)  # a token limited to some models opens incidents on those only
    models = list(models or [])
    if launch is not None and not models:
        models = [launch.version.model]
    if isinstance(actor, TokenPrincipal) and actor.model_ids is not None and not models:
        raise PermissionDenied("This token is limited to some models: name the affected model or launch, one of "
                               "those it is limited to.", field="models", code="token_model_limit")
    for model in models:
        if not isinstance(model, MLModel):
            raise ValidationFailed("Affected models are inventory entries.", field="models")
        require(actor, "incident.create", model)
    if restricted and isinstance(actor, TokenPrincipal):
        raise ValidationFailed("Restricting an incident is a decision for a person, not an API token; open it "
                               "unrestricted and ask Legal to restrict it.", field="restricted")
    members = _people(members, "members")
    if not _is_privileged(actor) and any(m != actor for m in members):
        raise PermissionDenied(CIRCLE_MESSAGE, field="members", code="circle_change_forbidden")
    if restricted and isinstance(actor, User) and not _is_privileged(actor) and actor not in members:
        members.append(actor)
    incident = Incident(
        title=_text(title, "title", max_length=200),
        severity=_choice(severity, Severity, "severity", "severity"),
        detection_source=_choice(detection_source, DetectionSource, "detection_source", "detection source"),
        began_at=_moment(began_at, "began_at"),
        detected_at=_moment(detected_at, "detected_at") or clock.now(),
        summary=_text(summary, "summary", required=False, max_length=MAX_NARRATIVE),
        impact_text=_text(impact_text, "impact_text", required=False, max_length=MAX_NARRATIVE),
        impact_figures=validate_impact_figures(impact_figures),
        fair_lending=bool(fair_lending), consumer_harm=bool(consumer_harm), restricted=bool(restricted),
        launch=launch, created_by=actor_user(actor), opened_by=actor_label(actor)[:200], created_at=clock.now(),
    )
    check_incident_times(incident)
    full_clean(incident)
    events = [_event_values(data, f"timeline[{index}]") for index, data in enumerate(timeline or ())]
    factor_rows = [_factor_values(data, f"factors[{index}]") for index, data in enumerate(factors or ())]
    with transaction.atomic():
        incident.save()
        incident.models.set(models)
        incident.members.set(members)
        TimelineEvent.objects.bulk_create([
            TimelineEvent(incident=incident, author=actor_user(actor), author_label=actor_label(actor)[:200],
                          created_at=clock.now(), **e)
            for e in events
        ])
        ContributingFactor.objects.bulk_create([ContributingFactor(incident=incident, created_at=clock.now(), **f) for f in factor_rows])
        audit.record("incident.opened", incident, actor=actor, after={
            **_incident_snapshot(incident, members=members, models=models), "timeline_events": len(events),
            "factors": factor_rows,
        })
        _mark_recurrence(incident, actor=actor)
        _follow_in_model_risk(incident, actor=actor)
    return incident


def _follow_in_model_risk(incident: Incident, *, actor: Actor, items: Iterable[ActionItem] | None = None) -> None:
    """An incident on a model asks for its revalidation (once per model and incident), and each of the
    incident's open action items holds the model's launches once it is past due; a finished item lifts its hold.
    Called down into the validation package, which sits below this layer. Labels name records by number only:
    an incident's title and an item's may be restricted content."""
    models = list(incident.models.all())
    if not models:
        return
    for model in models:
        model_risk.trigger_incident(model, actor=actor, incident_id=incident.pk)
    for item in incident.action_items.all() if items is None else items:
        for model in models:
            if item.status in ActionItem.OPEN_STATUSES:
                model_risk.raise_hold(model, actor=actor, source_type="postmortems.actionitem", source_id=item.pk,
                                      source_label=f"Action item #{item.pk} of incident #{incident.pk}",
                                      due_date=item.due_date, source_incident_id=incident.pk)
            else:
                model_risk.clear_hold(model, actor=actor, source_type="postmortems.actionitem", source_id=item.pk)


def update_incident(incident: Incident, *, actor: Actor, reason: str = "", **changes: Any) -> Incident:
    """Edit an incident's facts. Status moves only through transition_incident. Who may see a restricted
    incident is a decision for Legal or Compliance alone: only they add or remove its members or lift the
    restriction, and they say why (``reason``, kept in the audit event). Anyone else widening or narrowing the
    circle is refused with ``circle_change_forbidden``; a person who restricts an incident is kept in it."""
    require(actor, "incident.edit", incident)
    unknown = sorted(set(changes) - set(EDITABLE_INCIDENT_FIELDS))
    if unknown:
        field = unknown[0]
        if field == "status":
            raise ValidationFailed("Change the status with a transition, not an edit.", field="status")
        raise ValidationFailed(f"Unknown or read-only field {field!r}.", field=field)
    if "title" in changes:
        changes["title"] = _text(changes["title"], "title", max_length=200)
    if "severity" in changes:
        _choice(changes["severity"], Severity, "severity", "severity")
    if "detection_source" in changes:
        _choice(changes["detection_source"], DetectionSource, "detection_source", "detection source")
    for name in ("began_at", "detected_at", "mitigated_at", "resolved_at"):
        if name in changes:
            changes[name] = _moment(changes[name], name, required=name == "detected_at")
    for name in ("summary", "impact_text"):
        if name in changes:
            changes[name] = _text(changes[name], name, required=False, max_length=MAX_NARRATIVE)
    if "impact_figures" in changes:
        changes["impact_figures"] = validate_impact_figures(changes["impact_figures"])
    members = _people(changes.pop("members"), "members") if "members" in changes else None
    models = list(changes.pop("models")) if "models" in changes else None
    with transaction.atomic():
        locked = _lock(incident)
        current_members = list(locked.members.all())
        current_models = list(locked.models.all())
        before = _incident_snapshot(locked, members=current_members, models=current_models)
        lifting = changes.get("restricted") is False and locked.restricted
        # Members matter only once restricted, but they are the circle the moment it is: so naming them is
        # Legal's or Compliance's decision whether or not the incident is restricted yet.
        regrouping = members is not None and {u.pk for u in members} != {u.pk for u in current_members}
        if (lifting or regrouping) and not _is_privileged(actor):
            raise PermissionDenied(CIRCLE_MESSAGE, field="restricted" if lifting else "members",
                                   code="circle_change_forbidden")
        reason = _text(reason, "reason", max_length=2000, required=False)
        if (lifting or regrouping) and not reason:
            raise ValidationFailed("Say why the circle of this restricted incident changes.", field="reason")
        if changes.get("restricted") is True and isinstance(actor, TokenPrincipal):
            raise ValidationFailed("An API token cannot restrict an incident.", field="restricted")
        for name, value in changes.items():
            setattr(locked, name, bool(value) if name in ("fair_lending", "consumer_harm", "restricted") else value)
        members = current_members if members is None else members
        models = current_models if models is None else models
        if locked.restricted and isinstance(actor, User) and not _is_privileged(actor) and actor not in members:
            members = [*members, actor]
        for model in models:
            if not isinstance(model, MLModel):
                raise ValidationFailed("Affected models are inventory entries.", field="models")
        check_incident_times(locked)
        full_clean(locked)
        after = _incident_snapshot(locked, members=members, models=models)
        if after == before:
            return locked
        locked.save()
        if after["members"] != before["members"]:
            locked.members.set(members)
        if after["models"] != before["models"]:
            locked.models.set(models)
        old, new = _diff(before, after)
        if reason:
            new["reason"] = reason
        audit.record("incident.updated", locked, actor=actor, before=old, after=new)
        if "models" in new or "began_at" in new or "detected_at" in new:
            _mark_recurrence(locked, actor=actor)
        if "models" in new:
            _follow_in_model_risk(locked, actor=actor)
    return locked


def transition_incident(incident: Incident, *, actor: Actor, to: str, at: datetime | None = None) -> Incident:
    """Move an incident along INVESTIGATING → MITIGATED → RESOLVED → CLOSED. Reaching a status records its
    time (``at``, or the time already recorded, or now); times must stay in order."""
    require(actor, "incident.edit", incident)
    to = _choice(to, IncidentStatus, "status", "status")
    at = _moment(at, "at")
    with transaction.atomic():
        locked = _lock(incident)
        current = IncidentStatus(locked.status)
        if to not in TRANSITIONS[current]:
            allowed = ", ".join(sorted(TRANSITIONS[current])) or "none: it is final"
            raise Conflict(f"A {current.label.lower()} incident cannot move to {IncidentStatus(to).label.lower()}"
                           f" (next: {allowed}).", code="invalid_transition")
        time_field = STATUS_TIME[IncidentStatus(to)]
        before = {"status": current.value, time_field: getattr(locked, time_field)}
        locked.status = to
        setattr(locked, time_field, at or getattr(locked, time_field) or clock.now())
        try:
            check_incident_times(locked)
        except ValidationFailed as error:
            raise ValidationFailed(error.message, field="at" if at else error.field, code=error.code) from None
        locked.save(update_fields=["status", time_field])
        audit.record("incident.transitioned", locked, actor=actor, before=before,
                     after={"status": to, time_field: getattr(locked, time_field)})
    return locked


def add_timeline_event(incident: Incident, *, actor: Actor, at: datetime, kind: str, text: str) -> TimelineEvent:
    require(actor, "incident.edit", incident)
    values = _event_values({"at": at, "kind": kind, "text": text})
    with transaction.atomic():
        locked = _lock(incident)
        event = TimelineEvent.objects.create(incident=locked, author=actor_user(actor),
                                             author_label=actor_label(actor)[:200], created_at=clock.now(),
                                             **values)
        audit.record("incident.timeline_event_added", locked, actor=actor,
                     after={"event": event.pk, **values})
    return event


def add_contributing_factor(incident: Incident, *, actor: Actor, category: str, description: str) -> ContributingFactor:
    """Record one contributing factor; an incident has several, never a single root-cause person.
    Adding one may reveal that this incident, or a later one, recurs an earlier incident."""
    require(actor, "incident.edit", incident)
    values = _factor_values({"category": category, "description": description})
    with transaction.atomic():
        locked = _lock(incident)
        factor = ContributingFactor.objects.create(incident=locked, created_at=clock.now(), **values)
        audit.record("incident.factor_added", locked, actor=actor, after={"factor": factor.pk, **values})
        _mark_recurrence(locked, actor=actor)
        for later in selectors.later_candidates(locked):
            _mark_recurrence(later, actor=actor)
    return factor


def _mark_recurrence(incident: Incident, *, actor: Actor) -> Incident | None:
    """A new incident sharing a contributing-factor category and a model with one in the previous 180 days
    recurs it. A mark, once made, is kept."""
    if incident.recurrence_of_id is not None:
        return None
    previous = selectors.previous_occurrence(incident)
    if previous is None:
        return None
    Incident.objects.filter(pk=incident.pk, recurrence_of__isnull=True).update(recurrence_of=previous)
    incident.recurrence_of = previous
    audit.record("incident.recurrence_marked", incident, actor=actor, after={"recurrence_of": previous.pk})
    return previous


# --- action items -------------------------------------------------------------------------------------

def _check_owner(owner: object, incident: Incident) -> User:
    if not isinstance(owner, User) or not owner.is_active:
        raise ValidationFailed("The owner is an active person.", field="owner")
    if not incident_visible_to(owner, incident):
        raise ValidationFailed(f"{owner.display_name} cannot see this restricted incident; add them as a member "
                               "first.", field="owner")
    return owner


def _check_due_date(value: object) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValidationFailed("Give a due date.", field="due_date")
    if value < clock.today():
        raise ValidationFailed("The due date is in the past; choose today or a later day.", field="due_date")
    return value


def add_action_item(incident: Incident, *, actor: Actor, title: str, kind: str, owner: User, due_date: date,
                    priority: str = "P2") -> ActionItem:
    require(actor, "action_item.edit", incident)
    item = ActionItem(
        incident=incident, title=_text(title, "title", max_length=300),
        kind=_choice(kind, ActionItem.Kind, "kind", "action item kind"),
        owner=_check_owner(owner, incident), due_date=_check_due_date(due_date),
        priority=_choice(priority, ActionItem.Priority, "priority", "priority"), created_at=clock.now(),
    )
    with transaction.atomic():
        item.incident = _lock(incident)
        item.save()
        audit.record("action_item.added", item, actor=actor, after={
            "incident": incident.pk, "title": item.title, "kind": item.kind, "owner": owner.username,
            "due_date": item.due_date, "priority": item.priority,
        })
        _follow_in_model_risk(item.incident, actor=actor, items=[item])
    return item


def _item_snapshot(item: ActionItem) -> dict[str, Any]:
    return {"title": item.title, "kind": item.kind, "owner": item.owner.username, "due_date": item.due_date,
            "priority": item.priority, "status": item.status, "completed_at": item.completed_at}


def update_action_item(item: ActionItem, *, actor: Actor, **changes: Any) -> ActionItem:
    """Edit an action item. Marking it done records when, which is what on-time completion is measured by."""
    require(actor, "action_item.edit", item)
    unknown = sorted(set(changes) - set(ACTION_ITEM_FIELDS))
    if unknown:
        raise ValidationFailed(f"Unknown field {unknown[0]!r}.", field=unknown[0])
    if "title" in changes:
        changes["title"] = _text(changes["title"], "title", max_length=300)
    if "kind" in changes:
        _choice(changes["kind"], ActionItem.Kind, "kind", "action item kind")
    if "priority" in changes:
        _choice(changes["priority"], ActionItem.Priority, "priority", "priority")
    if "status" in changes:
        _choice(changes["status"], ActionItem.Status, "status", "status")
    with transaction.atomic():
        locked = ActionItem.objects.select_for_update(of=("self",)).select_related("owner").get(pk=item.pk)
        incident = item.incident
        if "owner" in changes and changes["owner"] != locked.owner:
            _check_owner(changes["owner"], incident)
        if "due_date" in changes and changes["due_date"] != locked.due_date:
            _check_due_date(changes["due_date"])
        before = _item_snapshot(locked)
        for name, value in changes.items():
            setattr(locked, name, value)
        if locked.status == ActionItem.Status.DONE and locked.completed_at is None:
            locked.completed_at = clock.now()
        elif locked.status != ActionItem.Status.DONE:
            locked.completed_at = None
        after = _item_snapshot(locked)
        if after == before:
            return locked
        locked.save()
        old, new = _diff(before, after)
        audit.record("action_item.updated", locked, actor=actor, before=old, after=new)
        if "status" in new or "due_date" in new:
            _follow_in_model_risk(incident, actor=actor, items=[locked])
    return locked


def propose_policy_change_for_action_item(item: ActionItem, *, actor: Actor, tier: str, operation: str, payload: Any,
                                          rationale: str) -> PolicyChange:
    """Turn an action item into a proposed change of a tier's template (a checklist item or a guardrail).
    It takes effect only when a second person approves it under the policy two-person rule."""
    require(actor, "action_item.edit", item)
    _choice(tier, RiskTier, "tier", "risk tier")
    if operation not in POLICY_OPERATIONS:
        raise ValidationFailed(f"An action item proposes {' or '.join(POLICY_OPERATIONS)}, not {operation!r}.",
                               field="operation")
    with transaction.atomic():
        locked = ActionItem.objects.select_for_update(of=("self",)).select_related("policy_change").get(pk=item.pk)
        existing = locked.policy_change
        if existing is not None and existing.status in (PolicyChange.Status.PENDING, PolicyChange.Status.APPROVED):
            raise Conflict(f"This action item already carries a policy change ({existing.summary}, "
                           f"{existing.get_status_display().lower()}).", code="policy_change_exists")
        change = policies.propose_change(policies.get_policy(tier), actor=actor, operation=operation,
                                         payload=payload, rationale=rationale, source_incident_id=locked.incident_id)
        locked.policy_change = change
        locked.save(update_fields=["policy_change"])
        audit.record("action_item.policy_change_proposed", locked, actor=actor,
                     after={"policy_change": change.pk, "tier": tier, "operation": operation})
    item.policy_change = change
    return change


def send_overdue_reminders(*, today: date | None = None) -> int:
    """E-mail each owner of overdue open action items one message listing them; return the messages sent.
    An item is reminded at most once a day, so a retried task does not e-mail twice."""
    today = today or timezone.localdate()
    by_owner = defaultdict(list)
    for item in selectors.overdue_action_items(today).exclude(last_reminded_on=today):
        by_owner[item.owner].append(item)
    sent = 0
    for owner, items in by_owner.items():
        if not owner.email or not owner.is_active:
            continue
        lines = []
        for item in items:
            # Nothing from a restricted incident goes into e-mail, which travels outside Gatehouse: the owner
            # follows the link and reads it there, where the visibility rule applies.
            sealed = item.incident.restricted
            where = f"restricted incident #{item.incident_id}" if sealed else (
                f"incident #{item.incident_id} {item.incident.title}")
            title = f"an action item ({RESTRICTED})" if sealed else item.title
            late = (today - item.due_date).days
            lines.append(f"- [{item.priority}] {title} — due {item.due_date:%Y-%m-%d}, {late} day"
                         f"{'s' if late != 1 else ''} overdue ({where})\n  {settings.SITE_URL}{item.get_absolute_url()}")
        count = len(items)
        send_mail(
            subject=f"Gatehouse: {count} overdue action item{'s' if count != 1 else ''}",
            message=(f"Hello {owner.display_name},\n\nThese action items you own are past their due date:\n\n"
                     + "\n".join(lines)
                     + "\n\nUpdate each one (done, a new date, or won't do with a reason) so the follow-through "
                       "figures stay true.\n"),
            from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[owner.email],
        )
        ActionItem.objects.filter(pk__in=[i.pk for i in items]).update(last_reminded_on=today)
        sent += 1
    return sent


# --- postmortems --------------------------------------------------------------------------------------

def _lock_postmortem(postmortem: Postmortem) -> Postmortem:
    locked = Postmortem.objects.select_for_update().get(pk=postmortem.pk)
    locked.incident = postmortem.incident
    return locked


def start_postmortem(incident: Incident, *, actor: Actor) -> Postmortem:
    """Start the incident's postmortem as a draft written by ``actor``, seeded with the incident's summary
    and impact. Starting one that exists returns it."""
    require(actor, "postmortem.edit", incident)
    if not isinstance(actor, User):
        raise ValidationFailed("A person writes a postmortem.", field="author")
    with transaction.atomic():
        locked = _lock(incident)
        existing = Postmortem.objects.filter(incident=locked).first()
        if existing is not None:
            return existing
        postmortem = Postmortem.objects.create(incident=locked, author=actor, summary=locked.summary,
                                               impact=locked.impact_text, created_at=clock.now(),
                                               updated_at=clock.now())
        audit.record("postmortem.started", postmortem, actor=actor, after={"incident": locked.pk})
    return postmortem


def edit_postmortem(postmortem: Postmortem, *, actor: Actor, **sections: Any) -> Postmortem:
    """Edit the draft. An edit during review returns it to draft: approvals covered the earlier text.
    A published postmortem changes only through amend_published_postmortem."""
    require(actor, "postmortem.edit", postmortem)
    unknown = sorted(set(sections) - set(NARRATIVE_FIELDS))
    if unknown:
        raise ValidationFailed(f"Unknown section {unknown[0]!r}.", field=unknown[0])
    for name, value in sections.items():
        sections[name] = _text(value, name, required=False, max_length=MAX_NARRATIVE)
    with transaction.atomic():
        locked = _lock_postmortem(postmortem)
        if locked.status == PostmortemStatus.PUBLISHED:
            raise Conflict("A published postmortem changes only through a recorded amendment.", code="postmortem_published")
        before = {name: getattr(locked, name) for name in sections}
        changed = {name: value for name, value in sections.items() if before[name] != value}
        if not changed:
            return locked
        for name, value in changed.items():
            setattr(locked, name, value)
        locked.updated_at = clock.now()
        previous_status = locked.status
        if locked.status == PostmortemStatus.IN_REVIEW:
            locked.status = PostmortemStatus.DRAFT
        locked.save()
        audit.record("postmortem.edited", locked, actor=actor,
                     before={**{k: before[k] for k in changed}, "status": previous_status},
                     after={**changed, "status": locked.status})
    return locked


def submit_postmortem(postmortem: Postmortem, *, actor: Actor) -> Postmortem:
    """Send the draft for review. Blame findings are recorded with the submission but do not block it."""
    require(actor, "postmortem.edit", postmortem)
    with transaction.atomic():
        locked = _lock_postmortem(postmortem)
        _move_postmortem(locked, PostmortemStatus.IN_REVIEW)
        for name in REQUIRED_FOR_REVIEW:
            if not getattr(locked, name).strip():
                label = locked._meta.get_field(name).verbose_name  # type: ignore[union-attr]  # the sections are text fields, never relations
                raise ValidationFailed(f"Write the {label} before asking for review.", field=name)
        locked.review_round += 1
        locked.submitted_at = clock.now()
        locked.save(update_fields=["status", "review_round", "submitted_at"])
        findings = sum(len(f) for f in selectors.blameless_findings(locked).values())
        audit.record("postmortem.submitted", locked, actor=actor, before={"status": PostmortemStatus.DRAFT},
                     after={"status": locked.status, "round": locked.review_round, "blameless_findings": findings})
    return locked


def _move_postmortem(postmortem: Postmortem, to: str) -> None:
    current = PostmortemStatus(postmortem.status)
    if to not in POSTMORTEM_TRANSITIONS[current]:
        raise Conflict(f"A postmortem that is {current.label.lower()} cannot become "
                       f"{PostmortemStatus(to).label.lower()}.", code="invalid_transition")
    postmortem.status = to


def review_postmortem(postmortem: Postmortem, *, actor: Actor, role: str, decision: str, comment: str = ""
                      ) -> PostmortemReview:
    """A reviewer other than the author approves or requests changes, as a role they hold. Requesting
    changes returns the document to draft."""
    require(actor, "postmortem.review", postmortem)
    _choice(role, Role, "role", "role")
    if not has_role(actor, role):
        raise ValidationFailed(f"You do not hold the {Role(role).label} role.", field="role")
    _choice(decision, PostmortemReview.Decision, "decision", "decision")
    comment = _text(comment, "comment", required=decision == PostmortemReview.Decision.REQUEST_CHANGES,
                    max_length=10_000)
    with transaction.atomic():
        locked = _lock_postmortem(postmortem)
        if locked.status != PostmortemStatus.IN_REVIEW:
            raise Conflict(f"The postmortem is {locked.get_status_display().lower()}, not in review.", code="not_in_review")
        if locked.author_id == actor.pk:
            raise ValidationFailed("You wrote this postmortem; someone else reviews it.", field="decision")
        if locked.reviews.filter(reviewer=acting_person(actor), round=locked.review_round).exists():
            raise Conflict("You have already reviewed this version.", code="already_reviewed")
        review = PostmortemReview.objects.create(postmortem=locked, reviewer=acting_person(actor), role=role, decision=decision,
                                                 comment=comment, round=locked.review_round,
                                                 created_at=clock.now())
        if decision == PostmortemReview.Decision.REQUEST_CHANGES:
            _move_postmortem(locked, PostmortemStatus.DRAFT)
            locked.save(update_fields=["status"])
        audit.record("postmortem.reviewed", locked, actor=actor, after={
            "role": role, "decision": decision, "comment": comment, "round": locked.review_round,
            "status": locked.status,
        })
    return review


def publish_postmortem(postmortem: Postmortem, *, actor: Actor) -> Postmortem:
    """Publish after at least one approval from someone other than the author in the current review round;
    when the incident carries a fair-lending or consumer-harm flag, one approval must be given as Compliance."""
    require(actor, "postmortem.edit", postmortem)
    with transaction.atomic():
        locked = _lock_postmortem(postmortem)
        incident = Incident.objects.get(pk=locked.incident_id)
        _move_postmortem(locked, PostmortemStatus.PUBLISHED)
        approvals = list(locked.reviews.select_related("reviewer").filter(round=locked.review_round,
                                               decision=PostmortemReview.Decision.APPROVE)
                         .exclude(reviewer_id=locked.author_id))
        if not approvals:
            raise ValidationFailed("Publishing needs an approval from a reviewer other than the author.",
                                   field="reviews", code="approval_required")
        if incident.has_regulatory_flag and not any(r.role == Role.COMPLIANCE for r in approvals):
            raise ValidationFailed("This incident carries a fair-lending or consumer-harm flag: a Compliance "
                                   "reviewer must approve before it is published.", field="reviews",
                                   code="compliance_approval_required")
        locked.published_at = clock.now()
        locked.save(update_fields=["status", "published_at"])
        audit.record("postmortem.published", locked, actor=actor, before={"status": PostmortemStatus.IN_REVIEW},
                     after={"status": locked.status, "approvals": sorted(r.reviewer.username for r in approvals)})
        _resolve_on_publish(incident, actor=actor, at=locked.published_at)
    return locked


def _resolve_on_publish(incident: Incident, *, actor: Actor, at: datetime) -> None:
    """A published postmortem ends the investigation: an incident still Investigating moves on to Resolved (its
    mitigation and resolution stamped at publication), audited as any transition is. One already Mitigated is
    left to its owner, who resolves it when the remediation is done (which may outlast the postmortem); a resolved
    or closed one is left alone."""
    locked = _lock(incident)
    if locked.status != IncidentStatus.INVESTIGATING:
        return
    before = {"status": locked.status, "mitigated_at": locked.mitigated_at, "resolved_at": locked.resolved_at}
    locked.mitigated_at = locked.mitigated_at or at
    locked.resolved_at = locked.resolved_at or max(at, locked.mitigated_at)
    locked.status = IncidentStatus.RESOLVED
    check_incident_times(locked)
    locked.save(update_fields=["status", "mitigated_at", "resolved_at"])
    audit.record("incident.transitioned", locked, actor=actor, before=before,
                 after={"status": locked.status, "mitigated_at": locked.mitigated_at,
                        "resolved_at": locked.resolved_at, "reason": "postmortem published"})


def amend_published_postmortem(postmortem: Postmortem, *, actor: Actor, field: str, text: str, reason: str
                               ) -> PostmortemAmendment:
    """Change one section of a published postmortem, keeping the earlier text and the reason."""
    require(actor, "postmortem.edit", postmortem)
    if field not in NARRATIVE_FIELDS:
        raise ValidationFailed(f"Unknown section {field!r}.", field="field")
    text = _text(text, "text", required=False, max_length=MAX_NARRATIVE)
    reason = _text(reason, "reason", max_length=5000)
    if not isinstance(actor, User):
        raise ValidationFailed("A person amends a postmortem.", field="reason")
    with transaction.atomic():
        locked = _lock_postmortem(postmortem)
        if locked.status != PostmortemStatus.PUBLISHED:
            raise Conflict("Only a published postmortem is amended; edit the draft instead.", code="not_published")
        before = getattr(locked, field)
        if before == text:
            raise ValidationFailed("The amendment changes nothing.", field="text")
        amendment = PostmortemAmendment.objects.create(postmortem=locked, field=field, before=before, after=text,
                                                       reason=reason, author=actor, created_at=clock.now())
        setattr(locked, field, text)
        locked.updated_at = clock.now()
        locked.save(update_fields=[field, "updated_at"])
        audit.record("postmortem.amended", locked, actor=actor, before={field: before},
                     after={field: text, "reason": reason, "amendment": amendment.pk})
    return amendment
