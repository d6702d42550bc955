"""Throttled passwords: logins and signature re-authentication share django-axes' count of failures.

A wrong password for an account, or from one address, counts towards AXES_FAILURE_LIMIT; past it the
account (or address) is locked for AXES_COOLOFF_TIME, the person is told for how long, the lockout is
written to the audit log, and an administrator can unlock it sooner (Axes' access attempts in the admin).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import authenticate
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from governance.kernel import audit
from governance.kernel.errors import DomainError, ValidationFailed
from governance.kernel.principals import SystemActor

if TYPE_CHECKING:
    from governance.kernel.models import User


class LockedOut(DomainError):
    """Too many wrong passwords: nothing is checked until the cool-off has passed or an administrator unlocks."""

    status_code = 429
    code = "locked_out"


def cool_off_minutes() -> int:
    cool_off = settings.AXES_COOLOFF_TIME
    return max(1, math.ceil(cool_off.total_seconds() / 60)) if cool_off else 0


def lockout_message() -> str:
    minutes = cool_off_minutes()
    return (f"Too many wrong passwords: this account or address is locked for {minutes} minute"
            f"{'s' if minutes != 1 else ''}. Try again later, or ask an administrator to unlock it.")


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: object = None) -> HttpResponse:
    """Axes' answer to a locked-out login: the login page again, saying why and for how long (429)."""
    return render(request, "registration/locked_out.html", {"message": lockout_message(),
                                                            "cool_off_minutes": cool_off_minutes()}, status=429)


def _offline_request() -> HttpRequest:
    request = HttpRequest()
    request.META["REMOTE_ADDR"] = "127.0.0.1"
    request.path = request.path_info = "/reauthenticate"
    return request


def confirm_password(actor: User, password: str | None, *, request: HttpRequest | None = None) -> None:
    """Re-authentication for an act that carries a signature. It counts against the same limit as logins, so the
    password prompt of a sign-off cannot be used to guess a colleague's password at leisure."""
    if not password:
        raise ValidationFailed("The password is not correct.", field="password")
    request = request if request is not None else _offline_request()
    user = authenticate(request, username=actor.get_username(), password=password)
    if getattr(request, "axes_locked_out", False):
        raise LockedOut(lockout_message(), field="password")
    if user is None or user.pk != actor.pk:
        raise ValidationFailed("The password is not correct.", field="password")


def _record_lockout(sender: object, request: HttpRequest | None = None, username: str | None = None,
                    ip_address: str | None = None, **kwargs: object) -> None:
    audit.record("auth.locked_out", actor=SystemActor("throttling"), object_type="account",
                 object_id=(username or "")[:150], object_repr=f"{username or '?'} from {ip_address or '?'}",
                 after={"username": username, "ip_address": ip_address,
                        "path": getattr(request, "path", None), "cool_off_minutes": cool_off_minutes(),
                        "failure_limit": settings.AXES_FAILURE_LIMIT})


def connect() -> None:
    from axes.signals import user_locked_out

    receiver(user_locked_out, dispatch_uid="gatehouse-audit-lockout")(_record_lockout)
