"""A second Celery beat sends nothing while the first holds the lease, and takes over once the first has
stopped renewing it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery import app
from governance.kernel.beat import SingleBeatScheduler, hold_lease, release_lease
from governance.models import BeatLease

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_holder_at_a_time_and_a_lapsed_lease_is_taken_over(settings):
    settings.BEAT_LEASE_SECONDS = 90
    now = timezone.now()
    assert hold_lease("beat-a", now=now)
    assert not hold_lease("beat-b", now=now + timedelta(seconds=30))
    assert hold_lease("beat-a", now=now + timedelta(seconds=60))  # renewed: good until 150 s
    assert not hold_lease("beat-b", now=now + timedelta(seconds=140))
    assert hold_lease("beat-b", now=now + timedelta(seconds=151))  # beat-a stopped renewing
    assert not hold_lease("beat-a", now=now + timedelta(seconds=152))
    assert BeatLease.objects.get().holder == "beat-b"
    release_lease("beat-b")
    assert hold_lease("beat-a", now=now + timedelta(seconds=153))


class Recording(SingleBeatScheduler):
    """The real scheduler; what it would send is kept instead of published."""

    def __init__(self, *args, **kwargs):
        self.sent: list[str] = []
        super().__init__(*args, **kwargs)

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        self.sent.append(entry.name)
        return None


def make(tmp_path, name):
    scheduler = Recording(app=app, schedule_filename=str(tmp_path / name), lazy=False)
    for entry in scheduler.schedule.values():  # every entry due now
        entry.last_run_at = timezone.now() - timedelta(days=1)
    return scheduler


def test_a_second_beat_sends_nothing_until_the_first_stops(tmp_path, settings):
    settings.BEAT_LEASE_SECONDS = 90
    first, second = make(tmp_path, "first"), make(tmp_path, "second")
    for _ in range(3):
        first.tick()
        second.tick()
    # Each tick sends the next entry that is due: three from the holder, none from the other.
    assert len(first.sent) == 3 and second.sent == []
    first.close()  # a beat stopped cleanly gives the lease up at once
    second._held_until = 0.0
    second.tick()
    assert second.sent
