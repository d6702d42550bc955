"""A read the gate repeats on every call, compiled from its queryset once per thread instead of once per call.

Building and compiling a queryset with subqueries costs far more than running it: the gate's model-risk read
took about 8 ms of CPU a call to compile and under 0.3 ms to execute. ``Prepared`` keeps the queryset as the
one statement of the read (written with the ORM, as everywhere), compiles it once with a sentinel value in
each parameter slot, and on each call runs the cached SQL with the slots' values in those places. Rows come
back through the compiler's own converters, so a date is a date and a JSON field is a value on every database.

A slot is used only where the ORM passes its value through unchanged as one parameter (an equality or range
lookup); a sentinel that turns up inside another parameter (``contains`` wraps it in ``%``) is refused when the
read is first compiled, as is a slot the queryset never uses.

On PostgreSQL the statement is also prepared on the server, once per connection: planning the gate's two reads
with subqueries took about 1 ms each, several times their execution. The statement's parameters are then bound
on the server, as the ORM's own server-side binding does. Behind a transaction pooler
(``DISABLE_SERVER_SIDE_CURSORS``, set by ``pooler=transaction``) a session's prepared statement would not
follow the next transaction to its server connection, so there the SQL is sent whole each time, as everywhere.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.db import connections
from django.db.models import QuerySet

# A slot's kind says how its value is adapted for the database, the way the ORM adapts a lookup's value.
_SENTINELS: dict[str, Any] = {
    "text": "\x1fprepared-slot-{}\x1f",
    "int": 31_337,  # inside every integer field's range: PostgreSQL's lookups turn an out-of-range value into no rows
    "date": date(1901, 2, 3),
    "datetime": datetime(1901, 2, 3, 4, 5, 6, 7000, tzinfo=UTC),
}


@dataclass(frozen=True)
class _Compiled:
    sql: str
    constants: list[Any]  # a parameter that is not a slot keeps its compiled value
    slots: list[str | None]  # per parameter: the slot whose value goes there, or None
    wrappers: list[type | None]  # a type the backend wraps that parameter in (psycopg's Int4 for an integer)
    compiler: Any
    columns: int  # the columns the queryset selects (the compiler may select more, for ordering)
    converters: dict[int, Any]


class Prepared:
    """``Prepared(build, model="text", now="datetime")``: ``build(**sentinels)`` returns a ``values_list``
    queryset; ``rows(model=..., now=...)`` runs it with those values, as tuples."""

    def __init__(self, build: Callable[..., QuerySet[Any, Any]], *, using: str = "default", **slots: str) -> None:
        unknown = sorted(set(slots.values()) - set(_SENTINELS))
        if unknown:
            raise ValueError(f"unknown slot kind(s) {unknown}; kinds are {sorted(_SENTINELS)}")
        self._build, self._using, self._slots = build, using, slots
        self._local = threading.local()

    def _sentinel(self, name: str, index: int) -> Any:
        value = _SENTINELS[self._slots[name]]
        if isinstance(value, str):
            return value.format(index)
        if isinstance(value, int):
            return value + index
        if isinstance(value, datetime):
            return value.replace(microsecond=value.microsecond + index)
        return value.replace(day=value.day + index)

    def _adapt(self, connection: Any, kind: str, value: Any) -> Any:
        if kind == "date":
            return connection.ops.adapt_datefield_value(value)
        if kind == "datetime":
            return connection.ops.adapt_datetimefield_value(value)
        return value

    def _compile(self, connection: Any) -> _Compiled:
        sentinels = {name: self._sentinel(name, i) for i, name in enumerate(sorted(self._slots))}
        queryset = self._build(**sentinels)
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        adapted = {name: self._adapt(connection, self._slots[name], value) for name, value in sentinels.items()}
        slots: list[str | None] = []
        wrappers: list[type | None] = []
        for param in params:
            matches = [name for name, value in adapted.items() if isinstance(param, type(value)) and param == value]
            slots.append(matches[0] if matches else None)
            wrappers.append(type(param) if matches and type(param) is not type(adapted[matches[0]]) else None)
            if not matches:
                for name, value in adapted.items():
                    if str(value) in str(param):
                        raise ValueError(f"slot {name!r} is used inside a parameter ({param!r}); a slot must be "
                                         "a lookup's whole value")
        unused = sorted(set(self._slots) - set(slots))
        if unused:
            raise ValueError(f"the queryset does not use slot(s) {unused}")
        columns = compiler.col_count
        converters = compiler.get_converters([selected[0] for selected in compiler.select[:columns]])
        return _Compiled(sql, list(params), slots, wrappers, compiler, columns, converters)

    def rows(self, **values: Any) -> list[tuple[Any, ...]]:
        if set(values) != set(self._slots):
            raise TypeError(f"expected values for {sorted(self._slots)}, got {sorted(values)}")
        connection = connections[self._using]
        cache = getattr(self._local, "compiled", None)
        if cache is None:
            cache = self._local.compiled = {}
        # Keyed by the thread's connection wrapper: it outlives a close and reconnect, and the SQL stays valid.
        compiled: _Compiled | None = cache.get(id(connection))
        if compiled is None or compiled.compiler.connection is not connection:
            compiled = cache[id(connection)] = self._compile(connection)
        adapted = {name: self._adapt(connection, kind, values[name]) for name, kind in self._slots.items()}
        params = [constant if slot is None else adapted[slot] if wrap is None else wrap(adapted[slot])
                  for constant, slot, wrap in zip(compiled.constants, compiled.slots, compiled.wrappers, strict=True)]
        with _cursor(connection) as cursor:
            cursor.execute(compiled.sql, params)
            fetched = cursor.fetchall()
        rows = [row[:compiled.columns] for row in fetched]
        if compiled.converters:
            rows = compiled.compiler.apply_converters(rows, compiled.converters)
        return [tuple(row) for row in rows]


def _cursor(connection: Any) -> Any:
    """The connection's cursor, or on PostgreSQL outside a transaction pooler a server-binding one whose
    statements the driver prepares the first time it runs them on that connection. The ORM's own cursors bind on
    the client and are never prepared, so the driver's threshold only concerns these."""
    if connection.vendor != "postgresql" or connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        return connection.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor  # noqa: PLC0415 - psycopg is optional

    connection.validate_thread_sharing()
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold != 0:
        raw.prepare_threshold = 0
    cursor = ServerBindingCursor(raw)  # type: ignore[call-arg]  # the stubs omit psycopg.Cursor.__init__
    return connection.make_debug_cursor(cursor) if connection.queries_logged else connection.make_cursor(cursor)
