"""The one clock services read the time of an act from.

An act happens *now*, unless a trusted historical caller says otherwise: the seeded examples, or an import of
records kept in another system, replay acts that happened earlier. They do so in code, with
``effective(at)``; no view, form, serializer or API parameter reaches it, so nobody using Gatehouse can
backdate anything. While an effective time is set, ``now()`` returns it, and every audit event written
records it as ``effective_at`` beside the moment the row was actually written (``created_at``).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime

from django.utils import timezone

_effective: ContextVar[datetime | None] = ContextVar("gatehouse_effective_time", default=None)


class BackdatingRefused(ValueError):
    """An effective time must be an aware moment that is not in the future."""


def now() -> datetime:
    """The time of the act being performed: the effective time when one is set, else the wall clock."""
    return _effective.get() or timezone.now()


def today() -> date:
    """The local date of the act being performed."""
    return timezone.localtime(now()).date()


def effective_time() -> datetime | None:
    """The effective time set by a trusted historical caller, or None when acts happen now."""
    return _effective.get()


def wall_clock() -> datetime:
    """When a row is actually written, whatever the effective time."""
    return timezone.now()


@contextmanager
def effective(at: datetime) -> Iterator[datetime]:
    """Perform the acts in this block as of ``at``. For trusted historical callers only (seeds, imports).

    Nested blocks replace the outer time for their duration. A future moment is refused: history can be
    replayed, never anticipated.
    """
    if not isinstance(at, datetime) or timezone.is_naive(at):
        raise BackdatingRefused("An effective time must be an aware datetime.")
    if at > timezone.now():
        raise BackdatingRefused(f"An effective time cannot be in the future ({at.isoformat()}).")
    token = _effective.set(at)
    try:
        yield at
    finally:
        _effective.reset(token)
