"""The audit check's fast path on PostgreSQL reads rows as text the database formats; what it hashes must be
exactly what the model instances give, for every shape of time and JSON an event can hold."""

from datetime import UTC, datetime

import pytest

from governance.kernel import audit
from governance.kernel.canonical import canonical_json
from governance.kernel.principals import SystemActor
from governance.models import AuditEvent
from tests.factories import tamper

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

TIMES = [
    datetime(2026, 3, 1, 9, 30, 0, 0, tzinfo=UTC),  # no microseconds: isoformat leaves them out
    datetime(2026, 3, 1, 9, 30, 0, 120000, tzinfo=UTC),  # trailing zeros kept as six digits
    datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 3, 1, 0, 0, 0, 1, tzinfo=UTC),
]


def test_streamed_rows_hash_as_the_model_does():
    for i, at in enumerate(TIMES):
        event = audit.record("thing.happened", actor=SystemActor("tests"), object_type="tests.thing",
                             object_id=str(i), object_repr=f"thing {i} — ünïcode",
                             before=None if i % 2 else {"nested": {"z": [1, 2.5, None], "a": "x\"y"}},
                             after={"i": i, "emoji": "🙂", "big": 10**15, "neg": -0.0})
        tamper(f"UPDATE {AuditEvent._meta.db_table} SET created_at = %s, effective_at = %s WHERE id = %s",
               [at, at if i % 2 == 0 else None, event.pk])
    streamed = {e.seq: canonical_json(audit.event_payload(e)) for e in audit.stored_events(chunk_size=2)}
    stored = {e.seq: canonical_json(audit.event_payload(e)) for e in AuditEvent.objects.order_by("seq")}
    assert streamed == stored and len(stored) == len(TIMES)
    assert any('"created_at":"2026-03-01T09:30:00+00:00"' in text for text in streamed.values())
