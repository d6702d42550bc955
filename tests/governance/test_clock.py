"""One clock: acts happen now, unless a trusted historical caller replays them; nobody else can backdate."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from governance.kernel import audit, clock
from governance.kernel.principals import SystemActor
from governance.models import AuditEvent
from postmortems.models import Incident
from tests.factories import MLModelFactory, tamper

pytestmark = pytest.mark.django_db


def _record(verb="thing.happened"):
    return audit.record(verb, actor=SystemActor("tests"), object_type="tests.thing", object_id="1",
                        object_repr="thing", after={"ok": True})


def test_acts_happen_now_unless_a_historical_caller_says_otherwise():
    before = timezone.now()
    assert before <= clock.now() <= timezone.now() and clock.effective_time() is None
    then = before - timedelta(days=90)
    with clock.effective(then):
        assert clock.now() == then and clock.effective_time() == then
        with clock.effective(then + timedelta(hours=1)):
            assert clock.now() == then + timedelta(hours=1)
        assert clock.now() == then
    assert clock.effective_time() is None


def test_history_can_be_replayed_never_anticipated():
    with pytest.raises(clock.BackdatingRefused):
        with clock.effective(timezone.now() + timedelta(days=1)):
            pass
    with pytest.raises(clock.BackdatingRefused):
        with clock.effective(datetime(2026, 1, 1, 9, 0)):  # naive: which zone?
            pass


def test_a_replayed_act_records_both_when_it_happened_and_when_it_was_written():
    then = timezone.now() - timedelta(days=30)
    with clock.effective(then):
        event = _record()
    assert event.effective_at == then and event.created_at > then and event.occurred_at == then
    now_event = _record()
    assert now_event.effective_at is None and now_event.occurred_at == now_event.created_at
    assert audit.verify_chain() == (2, None)


def test_an_event_without_an_effective_time_hashes_as_before_the_column_existed():
    event = _record()
    assert "effective_at" not in audit.event_payload(event)


def test_the_effective_time_is_covered_by_the_hash():
    with clock.effective(timezone.now() - timedelta(days=30)):
        event = _record()
    tamper("UPDATE governance_auditevent SET effective_at = %s WHERE id = %s",
           [event.effective_at - timedelta(days=300), event.pk])
    checked, broken = audit.verify_chain()
    assert broken is not None and broken.seq == event.seq


def test_the_api_cannot_backdate_the_record_of_an_act(api_client, token_for):
    """A caller may say when something was detected (a fact it observed), never when Gatehouse recorded it."""
    MLModelFactory(slug="credit")
    _, secret = token_for("incidents:write", "incidents:read")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    long_ago = (timezone.now() - timedelta(days=400)).isoformat()
    response = api_client.post("/api/v1/incidents/", {
        "title": "AIR below 0.8", "severity": "SEV2", "detection_source": "ALERT", "models": ["credit"],
        "created_at": long_ago, "effective_at": long_ago,
    }, format="json")
    assert response.status_code in (201, 400), response.content
    if response.status_code == 201:
        assert Incident.objects.get().created_at > timezone.now() - timedelta(minutes=1)
    assert all(e.effective_at is None for e in AuditEvent.objects.all())
