"""Exactly one Celery beat. Beat is run once per installation (README: Production layout), but a second one
started by mistake, or a restart that overlaps the old process, would send every periodic task twice. The
scheduler here holds a lease row in the database and renews it; a beat that does not hold the lease sends
nothing, and takes the lease over only once the holder has stopped renewing it for ``BEAT_LEASE_SECONDS``.
The lease is one conditional UPDATE (or INSERT) in its own transaction, so it needs no session lock and works
behind PgBouncer in transaction mode and on SQLite alike."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any

from celery.beat import PersistentScheduler
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from governance.kernel.models import BeatLease

log = logging.getLogger(__name__)
LEASE_NAME = "celery-beat"


def lease_seconds() -> int:
    return int(getattr(settings, "BEAT_LEASE_SECONDS", 90))


def hold_lease(holder: str, *, now: datetime | None = None, name: str = LEASE_NAME) -> bool:
    """Take or renew the lease for ``holder``; True when ``holder`` holds it afterwards."""
    now = now or timezone.now()
    until = now + timedelta(seconds=lease_seconds())
    with transaction.atomic():
        renewed = (BeatLease.objects.filter(name=name).filter(Q(holder=holder) | Q(expires_at__lt=now))
                   .update(holder=holder, expires_at=until))
        if renewed:
            return True
        if BeatLease.objects.filter(name=name).exists():
            return False
    try:
        with transaction.atomic():
            BeatLease.objects.create(name=name, holder=holder, acquired_at=now, expires_at=until)
        return True
    except IntegrityError:  # another beat inserted it first
        return False


def release_lease(holder: str, *, name: str = LEASE_NAME) -> None:
    BeatLease.objects.filter(name=name, holder=holder).delete()


class SingleBeatScheduler(PersistentScheduler):  # type: ignore[misc]  # celery ships no types
    """Celery's file-backed scheduler, sending only while this process holds the beat lease."""

    #: renew well inside the lease, so a holder that is alive never loses it
    renew_every = 15.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._held_until = 0.0
        self._holding = False
        super().__init__(*args, **kwargs)

    def holds_lease(self) -> bool:
        now = self.app.now().timestamp()
        if now >= self._held_until:
            holding = hold_lease(self.holder)
            if holding != self._holding:
                log.warning("beat %s %s the schedule", self.holder, "runs" if holding else "stands by: another beat runs")
            self._holding = holding
            self._held_until = now + (self.renew_every if holding else min(self.renew_every, 5.0))
        return self._holding

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self.holds_lease():
            return min(self.renew_every, 5.0)  # check again soon; send nothing meanwhile
        return float(super().tick(*args, **kwargs))

    def close(self) -> None:
        if self._holding:
            release_lease(self.holder)
        super().close()
