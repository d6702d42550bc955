"""The audit log is a hash chain: any edited or removed row is found and named."""

import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction

from governance.kernel import audit
from governance.kernel.principals import SystemActor
from governance.models import AuditEvent
from tests.factories import make_user, tamper

pytestmark = pytest.mark.django_db


def _append(n, actor=None):
    actor = actor or SystemActor("tests")
    return [audit.record("thing.happened", actor=actor, object_type="tests.thing", object_id=str(i),
                         object_repr=f"thing {i}", after={"i": i, "note": "héllo"}) for i in range(n)]


def test_events_chain_from_genesis():
    events = _append(3)
    assert events[0].prev_hash == audit.GENESIS_HASH
    assert events[1].prev_hash == events[0].hash and events[2].prev_hash == events[1].hash
    assert [e.seq for e in events] == [1, 2, 3]
    assert audit.verify_chain() == (3, None)


def test_actor_is_recorded_by_name():
    user = make_user("dana")
    event = audit.record("x.y", actor=user, object_type="t", object_id="1", object_repr="t")
    assert event.actor == user and event.actor_label == "dana"


def test_verify_command_is_green_on_an_intact_log(capsys):
    _append(5)
    call_command("verify_audit_log")
    assert "5 events verified" in capsys.readouterr().out


def test_edited_row_is_detected_and_named():
    events = _append(5)
    tamper("UPDATE governance_auditevent SET after = %s WHERE id = %s", ['{"i": 99}', events[2].pk])
    with pytest.raises(CommandError) as info:
        call_command("verify_audit_log")
    assert (info.value.code, info.value.reasons) == ("audit_log_not_intact", ("event_altered",))
    assert audit.verify_chain()[1].seq == 3


def test_edited_actor_is_detected():
    events = _append(3)
    tamper("UPDATE governance_auditevent SET actor_label = %s WHERE id = %s", ["someone-else", events[0].pk])
    checked, broken = audit.verify_chain()
    assert broken.seq == 1 and checked == 0


def test_deleted_row_is_detected_and_named():
    events = _append(5)
    tamper("DELETE FROM governance_auditevent WHERE id = %s", [events[1].pk])
    with pytest.raises(CommandError) as info:
        call_command("verify_audit_log")
    assert (info.value.code, info.value.reasons) == ("audit_log_not_intact", ("event_missing",))
    assert audit.verify_chain()[1].seq == 2


def test_rehashed_forgery_is_still_detected_by_the_next_event():
    """Rewriting a row and recomputing its own hash still breaks the link from the following event."""
    events = _append(3)
    forged = AuditEvent.objects.get(pk=events[0].pk)
    forged.after = {"i": 42}
    new_hash = audit.compute_hash(forged.prev_hash, forged)
    tamper("UPDATE governance_auditevent SET after = %s, hash = %s WHERE id = %s",
            ['{"i": 42}', new_hash, forged.pk])
    checked, broken = audit.verify_chain()
    assert (broken.seq, broken.code) == (2, "link_broken")


def assert_refused_by_the_append_only_trigger(error):
    """The trigger's identity is not its wording: PostgreSQL reports the SQLSTATE the trigger raises
    (42501, insufficient_privilege) and, in the error's context, the function that raised it."""
    cause = error.__cause__
    assert cause.sqlstate == "42501"
    assert "gatehouse_audit_append_only" in cause.diag.context


@pytest.mark.postgres
def test_postgres_trigger_refuses_update_and_delete():
    event = _append(1)[0]
    for statement in ("UPDATE governance_auditevent SET verb = 'x' WHERE id = %s",
                      "DELETE FROM governance_auditevent WHERE id = %s"):
        with pytest.raises(DatabaseError) as caught, transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement, [event.pk])
        assert_refused_by_the_append_only_trigger(caught.value)
    assert AuditEvent.objects.get(pk=event.pk).verb == "thing.happened"


@pytest.mark.postgres
def test_postgres_trigger_refuses_truncate():
    """TRUNCATE empties a table without firing row triggers; a statement trigger refuses it."""
    _append(2)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # as if committed: no deferred foreign-key checks pending
    with pytest.raises(DatabaseError) as caught, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE governance_auditevent, governance_auditsource")
    assert_refused_by_the_append_only_trigger(caught.value)
    assert AuditEvent.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_one_unbroken_chain():
    threads, errors = [], []
    barrier = threading.Barrier(8)

    def writer(n):
        try:
            barrier.wait()
            for i in range(15):
                with transaction.atomic():
                    audit.record("race.append", actor=SystemActor(f"w{n}"), object_type="tests.race",
                                 object_id=f"{n}-{i}", object_repr="race")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    for n in range(8):
        threads.append(threading.Thread(target=writer, args=(n,)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    checked, broken = audit.verify_chain()
    assert broken is None and checked == 120
    assert AuditEvent.objects.values("prev_hash").distinct().count() == 120, "no two events share a parent"


@pytest.mark.postgres
@pytest.mark.parametrize("trigger", ["governance_auditevent_append_only", "governance_auditevent_no_truncate"])
def test_verify_audit_log_names_a_dropped_trigger(trigger, settings, tmp_path):
    settings.AUDIT_ANCHOR_DIR = str(tmp_path)
    call_command("verify_audit_log", workers=1)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER {trigger} ON governance_auditevent")
    with pytest.raises(CommandError) as caught:
        call_command("verify_audit_log", workers=1)
    assert "protection_missing" in caught.value.reasons and trigger in str(caught.value)
