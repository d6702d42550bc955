"""The audit verification reads the chain in keyset pages, so it works behind a pooler in transaction mode."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from governance.kernel.audit import stored_events, verify_chain
from governance.models import AuditEvent
from governance.policies.services import ensure_default_policies

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("chunk", [1, 3, 7, 10_000])
def test_every_event_is_read_once_in_order_whatever_the_page_size(chunk):
    ensure_default_policies()
    expected = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert len(expected) >= 3
    with CaptureQueriesContext(connection) as queries:
        seen = [event.seq for event in stored_events(chunk_size=chunk)]
    assert seen == expected
    assert len(queries) == len(expected) // chunk + 1  # one query per page, the last one short
    assert all("LIMIT" in q["sql"].upper() and "CURSOR" not in q["sql"].upper() for q in queries)


def test_the_chain_verifies_with_server_side_cursors_disabled(settings, monkeypatch):
    ensure_default_policies()
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)
    checked, broken = verify_chain()
    assert broken is None and checked == AuditEvent.objects.count()
