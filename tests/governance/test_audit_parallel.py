"""The audit check split across processes finds what one pass finds: the same count and the same first break,
wherever in the ranges an event was edited or removed."""

import pytest
from django.core.management import call_command

from governance.kernel import audit
from governance.kernel.principals import SystemActor
from governance.models import AuditEvent
from tests.factories import tamper

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

EVENTS = 30  # three workers: ranges 1-10, 11-20, 21-30


@pytest.fixture
def chain(monkeypatch):
    monkeypatch.setattr(audit, "PARALLEL_MIN_EVENTS", 1)
    for i in range(EVENTS):
        audit.record("thing.happened", actor=SystemActor("tests"), object_type="tests.thing", object_id=str(i),
                     object_repr=f"thing {i}", after={"i": i})


def _both():
    serial = audit.verify_chain()
    parallel = audit.verify_chain(workers=3)
    return serial, parallel


def test_an_intact_chain_is_verified_in_full(chain):
    assert _both() == ((EVENTS, None), (EVENTS, None))


@pytest.mark.parametrize("seq", [1, 10, 11, 15, 21, 30])
def test_an_edited_event_is_the_first_break_in_any_range(chain, seq):
    tamper(f"UPDATE {AuditEvent._meta.db_table} SET object_repr = 'forged' WHERE seq = %s", [seq])
    (count, broken), (p_count, p_broken) = _both()
    assert (p_count, p_broken.seq, p_broken.event_id) == (count, broken.seq, broken.event_id) == (
        seq - 1, seq, broken.event_id)
    assert p_broken.code == broken.code == "event_altered"


@pytest.mark.parametrize("seq", [1, 10, 11, 20, 25])
def test_a_removed_event_is_found_at_a_range_edge_too(chain, seq):
    tamper(f"DELETE FROM {AuditEvent._meta.db_table} WHERE seq = %s", [seq])
    (count, broken), (p_count, p_broken) = _both()
    assert (p_count, p_broken.seq) == (count, broken.seq) == (seq - 1, seq)
    assert broken.event_id is None and p_broken.event_id is None
    assert p_broken.code == broken.code == "event_missing"


def test_the_command_takes_a_number_of_workers(chain, capsys):
    call_command("verify_audit_log", "--workers", "2")
    assert f"{EVENTS} events verified" in capsys.readouterr().out
