"""The tamper-evident audit log: one function appends, one function verifies.

Appends are serialised so concurrent writers cannot fork the chain: on PostgreSQL with a
transaction-scoped advisory lock, on SQLite by the IMMEDIATE transactions the settings ask for.
The lock is held until the surrounding transaction commits, so the chain order is the commit order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace

from django.db import connection, transaction
from django.db.models import Model, QuerySet

from governance.kernel import clock
from governance.kernel.canonical import canonical_json, sha256_hex, to_plain
from governance.kernel.models import AuditEvent, AuditSource
from governance.kernel.principals import Actor, actor_label, actor_user

GENESIS_HASH = "0" * 64
_ADVISORY_LOCK_KEY = 7_140_221_001  # arbitrary constant identifying "audit chain append"


def event_payload(event: AuditEvent | _StoredEvent) -> dict[str, object]:
    """Everything an event vouches for; its hash covers exactly this.

    ``effective_at`` joins the payload only when it is set, so events written before the column existed (and
    every event of an act done now) hash exactly as they always did, and a backdated event's claimed time is
    covered by its hash like any other field."""
    payload = {
        "seq": event.seq,
        "created_at": event.created_at,
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "verb": event.verb,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "before": event.before,
        "after": event.after,
    }
    if event.effective_at is not None:
        payload["effective_at"] = event.effective_at
    return payload


def compute_hash(prev_hash: str, event: AuditEvent | _StoredEvent) -> str:
    return sha256_hex(prev_hash + canonical_json(event_payload(event)))


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_KEY])


def object_key(obj: Model) -> tuple[str, str]:
    return f"{obj._meta.app_label}.{obj._meta.model_name}", str(obj.pk)


def record(verb: str, obj: Model | None = None, *, actor: Actor | None, before: object = None,
           after: object = None, object_type: str | None = None, object_id: str | None = None,
           object_repr: str | None = None, source_incident: Model | int | None = None) -> AuditEvent:
    """Append one event for ``verb`` done by ``actor`` to ``obj``. Call it inside the service's transaction.

    ``source_incident`` (an incident or its id; by default ``obj.source_incident_id`` when the object has one) is
    the incident whose content the event carries: readers who may not see that incident do not see the event."""
    if source_incident is None and obj is not None:
        source_incident = getattr(obj, "source_incident_id", None)
    if isinstance(source_incident, Model):
        source_incident = int(source_incident.pk)
    if obj is not None:
        object_type, object_id = object_key(obj)
        object_repr = object_repr or str(obj)
    with transaction.atomic():
        _lock_chain()
        last = AuditEvent.objects.order_by("-seq").only("seq", "hash").first()
        event = AuditEvent(
            seq=(last.seq + 1) if last else 1,
            created_at=clock.wall_clock(),
            effective_at=clock.effective_time(),
            actor=actor_user(actor),
            actor_label=actor_label(actor)[:200],
            verb=verb,
            object_type=object_type or "",
            object_id=object_id or "",
            object_repr=(object_repr or "")[:300],
            before=to_plain(before) if before is not None else None,
            after=to_plain(after) if after is not None else None,
            prev_hash=last.hash if last else GENESIS_HASH,
        )
        event.hash = compute_hash(event.prev_hash, event)
        event.save(force_insert=True)
        if source_incident is not None:
            AuditSource.objects.create(event=event, incident_id=source_incident)
    return event


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    event_id: int | None
    reason: str


class _StoredEvent(SimpleNamespace):
    @property
    def pk(self) -> int:
        return int(self.id)


def stored_events(chunk_size: int = 5000) -> Iterator[_StoredEvent]:
    """Every stored event in chain order, streamed in chunks as plain rows with the model's attribute names.

    A bank's log holds millions of events: building a model instance per row cost more than hashing it, and the
    server-side cursor keeps memory flat however long the chain is."""
    names = [f.attname for f in AuditEvent._meta.concrete_fields]
    for row in AuditEvent.objects.order_by("seq").values_list(*names).iterator(chunk_size=chunk_size):
        yield _StoredEvent(**dict(zip(names, row, strict=True)))


def verify_chain(events: Iterable[AuditEvent] | Iterable[_StoredEvent] | None = None) -> tuple[int, ChainBreak | None]:
    """Recompute the chain; return (events checked, first break or None)."""
    if events is None:
        events = stored_events()
    prev_hash = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for event in events:
        if event.seq != expected_seq:
            return checked, ChainBreak(
                expected_seq, None,
                f"event #{expected_seq} is missing (the next stored event is #{event.seq}): a row was removed",
            )
        if event.prev_hash != prev_hash:
            return checked, ChainBreak(
                event.seq, event.pk, f"event #{event.seq} does not follow the previous event's hash"
            )
        if compute_hash(prev_hash, event) != event.hash:
            return checked, ChainBreak(
                event.seq, event.pk, f"event #{event.seq} ({event.verb}) was altered after it was written"
            )
        prev_hash = event.hash
        expected_seq += 1
        checked += 1
    return checked, None


def events_for(obj: Model, limit: int = 200) -> QuerySet[AuditEvent]:
    object_type, object_id = object_key(obj)
    return (
        AuditEvent.objects.filter(object_type=object_type, object_id=object_id)
        .order_by("-seq")[:limit]
    )
