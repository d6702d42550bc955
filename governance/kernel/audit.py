"""The tamper-evident audit log: one function appends, one function verifies.

Appends are serialised so concurrent writers cannot fork the chain: on PostgreSQL with a
transaction-scoped advisory lock, on SQLite by the IMMEDIATE transactions the settings ask for.
The lock is held until the surrounding transaction commits, so the chain order is the commit order.
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import F, Model, QuerySet

from governance.kernel import clock
from governance.kernel.canonical import canonical_json, sha256_hex, to_plain
from governance.kernel.models import AuditEvent, AuditSource
from governance.kernel.principals import Actor, actor_label, actor_user

GENESIS_HASH = "0" * 64
_ADVISORY_LOCK_KEY = 7_140_221_001  # arbitrary constant identifying "audit chain append"
_CHUNK = 5000  # rows in one keyset page when the chain is checked
PARALLEL_MIN_EVENTS = 100_000  # below this, one pass beats starting processes


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
    """The first place the chain does not verify. ``code`` says how: ``event_missing`` (a row was removed),
    ``link_broken`` (an event does not follow its predecessor's hash) or ``event_altered``."""

    seq: int
    event_id: int | None
    reason: str
    code: str


class _StoredEvent(SimpleNamespace):
    @property
    def pk(self) -> int:
        return int(self.id)


def stored_events(chunk_size: int = _CHUNK) -> Iterator[_StoredEvent]:
    """Every stored event in chain order, streamed in chunks as plain rows with the model's attribute names.

    A bank's log holds millions of events: building a model instance per row cost more than hashing it, and
    keyset pages of ``chunk_size`` keep memory flat however long the chain is. On PostgreSQL the rows come straight from
    the driver, times already in the canonical text the hash covers (see ``_CANONICAL_ROWS``)."""
    if connection.vendor == "postgresql":
        yield from _canonical_rows(chunk_size)
        return
    names = [f.attname for f in AuditEvent._meta.concrete_fields]
    after = 0
    while True:  # keyset pages, not a cursor held open: works behind a pooler in transaction mode
        page = list(AuditEvent.objects.filter(seq__gt=after).order_by("seq").values_list(*names)[:chunk_size])
        for row in page:
            yield _StoredEvent(**dict(zip(names, row, strict=True)))
        if len(page) < chunk_size:
            return
        after = page[-1][names.index("seq")]


def _utc_iso(column: str) -> str:
    """SQL for a timestamp as Python's ``isoformat()`` of it in UTC, which is what canonical JSON writes:
    microseconds only when there are some, and the offset as +00:00. NULL stays NULL."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN date_part('microseconds', {column})::bigint "
            f"%% 1000000 <> 0 THEN to_char({utc}, '.US') ELSE '' END || '+00:00'")


_CANONICAL_COLUMNS = ("id", "seq", "created_at", "effective_at", "actor_id", "actor_label", "verb", "object_type",
                      "object_id", "object_repr", "before", "after", "prev_hash", "hash")
_CANONICAL_ROWS = (
    f"SELECT id, seq, {_utc_iso('created_at')}, {_utc_iso('effective_at')}, actor_id, actor_label, verb, "
    f"object_type, object_id, object_repr, before::text, after::text, prev_hash, hash "
    f"FROM {AuditEvent._meta.db_table} WHERE seq >= %s AND seq <= %s ORDER BY seq LIMIT %s"
)
_LAST_SEQ = 9_223_372_036_854_775_807


def _canonical_rows(chunk_size: int, first: int = 1, last: int | None = None) -> Iterator[_StoredEvent]:
    """The PostgreSQL path of ``stored_events``: raw keyset pages, JSON decoded once, times formatted by the database. Converting each time to a datetime and back to text, and
    Django's per-row converters, cost more than the hash itself on a log of millions of events. ``last`` None
    reads to the end."""
    last = _LAST_SEQ if last is None else last
    loads = json.loads
    while True:  # keyset pages (seq > last seen, LIMIT n): bounded memory with no server-side cursor or long
        # transaction, so it runs behind PgBouncer in transaction mode and with DISABLE_SERVER_SIDE_CURSORS
        with connection.cursor() as cursor:
            cursor.execute(_CANONICAL_ROWS, [first, last, chunk_size])
            page = cursor.fetchall()
        for row in page:
            event = _StoredEvent(**dict(zip(_CANONICAL_COLUMNS, row, strict=True)))
            event.before = None if event.before is None else loads(event.before)
            event.after = None if event.after is None else loads(event.after)
            yield event
        if len(page) < chunk_size:
            return
        first = page[-1][1] + 1


def verify_chain(events: Iterator[AuditEvent] | None = None, *, workers: int = 1) -> tuple[int, ChainBreak | None]:
    """Recompute the chain; return (events checked, first break or None).

    With ``workers`` above one on PostgreSQL, the stored chain is cut into that many ranges of sequence numbers,
    checked in parallel processes (each event vouches for its own link: its ``prev_hash`` must be the stored hash
    before it), and the first break found is the one a single pass would have reported."""
    if events is None and workers > 1 and connection.vendor == "postgresql":
        head = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        if head >= PARALLEL_MIN_EVENTS:  # a shorter log is quicker in one pass than starting processes
            return _verify_in_parallel(workers, head)
    source: Iterator[Any] = stored_events() if events is None else events
    return _verify_range(source, first=1, prev_hash=GENESIS_HASH, last=None)


def _verify_range(events: Iterator[Any], *, first: int, prev_hash: str | None, last: int | None
                  ) -> tuple[int, ChainBreak | None]:
    """Check events ``first`` .. ``last`` (to the end when None) following ``prev_hash``."""
    expected_seq = first
    checked = 0
    for event in events:
        if event.seq != expected_seq:
            return checked, ChainBreak(
                expected_seq, None,
                f"event #{expected_seq} is missing (the next stored event is #{event.seq}): a row was removed",
                "event_missing",
            )
        if prev_hash is None or event.prev_hash != prev_hash:  # None: the event before this range is gone
            return checked, ChainBreak(
                event.seq, event.pk, f"event #{event.seq} does not follow the previous event's hash", "link_broken"
            )
        if compute_hash(prev_hash, event) != event.hash:
            return checked, ChainBreak(
                event.seq, event.pk, f"event #{event.seq} ({event.verb}) was altered after it was written",
                "event_altered",
            )
        prev_hash = event.hash
        expected_seq += 1
        checked += 1
    if last is not None and expected_seq <= last:
        return checked, ChainBreak(
            expected_seq, None, f"event #{expected_seq} is missing: a row was removed", "event_missing")
    return checked, None


def _check_range(bounds: tuple[int, int | None]) -> tuple[int, ChainBreak | None]:
    """One worker's share: the events in ``bounds``, following the stored hash of the event before them."""
    first, last = bounds
    prev_hash: str | None = GENESIS_HASH
    if first > 1:
        prev_hash = AuditEvent.objects.filter(seq=first - 1).values_list("hash", flat=True).first()
    try:
        return _verify_range(_canonical_rows(_CHUNK, first, last), first=first, prev_hash=prev_hash, last=last)
    finally:
        connection.close()


def _verify_in_parallel(workers: int, top: int) -> tuple[int, ChainBreak | None]:
    step = -(-top // workers)
    ranges: list[tuple[int, int | None]] = [(lo, lo + step - 1) for lo in range(1, top + 1, step)]
    ranges[-1] = (ranges[-1][0], None)  # the last range runs to whatever is stored
    connections.close_all()  # each process opens its own connection
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        results = pool.map(_check_range, ranges)
    checked = 0
    for count, broken in results:
        checked += count
        if broken is not None:
            return checked, broken
    return checked, None


def newest_first(events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    """A selection of events, newest first, sorted after they are found. Ordered by an expression of ``seq``
    rather than ``seq`` itself: given ``ORDER BY seq DESC LIMIT n``, PostgreSQL walks the whole log backwards from
    its newest event looking for matches, which for an old launch read most of a 2M-event log (0.37 s where
    sorting its few hundred events, found through their indexes, takes 9 ms)."""
    return events.annotate(newest_first=F("seq") * -1).order_by("newest_first")


def events_for(obj: Model, limit: int = 200) -> QuerySet[AuditEvent]:
    object_type, object_id = object_key(obj)
    return newest_first(AuditEvent.objects.filter(object_type=object_type, object_id=object_id))[:limit]


#: The PostgreSQL triggers the audit log relies on (migrations 0002 and 0006): refuse UPDATE/DELETE, refuse TRUNCATE.
AUDIT_TRIGGERS = ("governance_auditevent_append_only", "governance_auditevent_no_truncate")


def missing_protections() -> list[str]:
    """The audit triggers that are absent or disabled on PostgreSQL; a chain that verifies says nothing about a
    table anyone may now rewrite. Empty elsewhere (SQLite has no such protection to lose)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'governance_auditevent'::regclass "
                       "AND tgenabled <> 'D' AND NOT tgisinternal")
        present = {row[0] for row in cursor.fetchall()}
    return [name for name in AUDIT_TRIGGERS if name not in present]
