"""Selections of the audit log come newest first and stop at their limit, whatever index the database uses to
find them."""

import pytest

from governance.kernel import audit
from governance.kernel.principals import SystemActor
from governance.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_events_for_an_object_are_newest_first_and_limited():
    actor = SystemActor("tests")
    for i in range(5):
        audit.record("thing.happened", actor=actor, object_type="tests.thing", object_id="7", object_repr="7",
                     after={"i": i})
        audit.record("thing.happened", actor=actor, object_type="tests.thing", object_id="8", object_repr="8")
    thing = AuditEvent.objects.filter(object_id="7").first()
    assert thing is not None
    events = list(audit.newest_first(AuditEvent.objects.filter(object_id="7"))[:3])
    assert [e.after["i"] for e in events] == [4, 3, 2]
    assert [e.seq for e in events] == sorted((e.seq for e in events), reverse=True)
