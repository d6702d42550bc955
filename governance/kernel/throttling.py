"""Throttled passwords: logins and re-authentication (signatures, waivers, approvals) share one count of failures.

Failures are counted for each pair of account and address. LOGIN_FAILURE_LIMIT wrong passwords for one account
from one address lock that account *from that address* for LOGIN_COOLOFF_MINUTES: someone guessing ``cole``'s
password from elsewhere cannot stop ``cole`` signing in from his own desk, and a stranger typing names that do
not exist locks nobody out. An address that fails across accounts (password spraying) is locked for everyone
only at LOGIN_ADDRESS_FAILURE_LIMIT, a much higher count. The address is the direct peer unless
TRUSTED_PROXY_COUNT proxies are declared (``client_address``). Every lockout is written to the audit log, the
person is told for how long, and Compliance or an administrator can lift it (governance.kernel.lockouts).
"""

from __future__ import annotations

import ipaddress
import math
from typing import TYPE_CHECKING, Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import authenticate
from django.db.models import Sum
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from governance.kernel import audit
from governance.kernel.errors import DomainError, ValidationFailed
from governance.kernel.principals import SystemActor

if TYPE_CHECKING:
    from governance.kernel.models import User

SCOPE_ACCOUNT = "account from address"
SCOPE_ADDRESS = "address"
_SCOPE_ATTRIBUTE = "gatehouse_lockout_scope"


class LockedOut(DomainError):
    """Too many wrong passwords: nothing is checked until the cool-off has passed or the lockout is lifted."""

    status_code = 429
    code = "locked_out"


def failure_limit() -> int:
    return int(settings.AXES_FAILURE_LIMIT)


def address_failure_limit() -> int:
    return int(settings.LOGIN_ADDRESS_FAILURE_LIMIT)


def cool_off_minutes() -> int:
    cool_off = settings.AXES_COOLOFF_TIME
    return max(1, math.ceil(cool_off.total_seconds() / 60)) if cool_off else 0


def client_address(request: HttpRequest) -> str | None:
    """The address a request came from, as the throttle counts it.

    With TRUSTED_PROXY_COUNT = 0 (the default) it is the direct peer and X-Forwarded-For is ignored, since any
    client can write that header. Behind N proxies, each of which appends the address it received the request
    from, the client's address is the Nth entry from the right; entries further left came from the client and
    are not believed. A header with fewer entries than proxies (or an entry that is not an address) did not come
    through them all, so the direct peer is used."""
    peer = request.META.get("REMOTE_ADDR") or None
    count = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if count <= 0:
        return peer
    hops = [hop.strip() for hop in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",") if hop.strip()]
    if len(hops) < count:
        return peer
    try:
        return str(ipaddress.ip_address(hops[-count]))
    except ValueError:
        return peer


def address_failures(ip_address: str | None, *, since: Any) -> int:
    if not ip_address:
        return 0
    total = AccessAttempt.objects.filter(ip_address=ip_address, attempt_time__gte=since).aggregate(
        n=Sum("failures_since_start"))["n"]
    return int(total or 0)


class LockoutHandler(AxesDatabaseHandler):  # type: ignore[misc]  # django-axes ships no type hints
    """django-axes' database handler, locking the pair account + address at AXES_FAILURE_LIMIT (Axes' lockout
    parameters are that pair) and, besides, the whole address at LOGIN_ADDRESS_FAILURE_LIMIT failures across
    accounts. Axes compares one count with one limit, so a sprayed address reads as the limit reached."""

    def get_failures(self, request: Any, credentials: dict[str, Any] | None = None) -> int:
        pair = int(super().get_failures(request, credentials))
        if pair >= failure_limit():
            setattr(request, _SCOPE_ATTRIBUTE, SCOPE_ACCOUNT)
            return pair
        since = get_cool_off_threshold(request)
        if address_failures(getattr(request, "axes_ip_address", None), since=since) >= address_failure_limit():
            setattr(request, _SCOPE_ATTRIBUTE, SCOPE_ADDRESS)
            return max(pair, failure_limit())
        return pair


def lockout_message(request: HttpRequest | None = None) -> str:
    minutes = cool_off_minutes()
    span = f"{minutes} minute{'s' if minutes != 1 else ''}"
    if getattr(request, _SCOPE_ATTRIBUTE, None) == SCOPE_ADDRESS:
        return (f"Too many wrong passwords from your address, across accounts: every sign-in from it is locked "
                f"for {span}. Try again later, or ask Compliance or an administrator to lift the lockout.")
    return (f"Too many wrong passwords for this account from your address: it is locked for {span} here "
            f"(signing in from another address is not affected). Try again later, or ask Compliance or an "
            f"administrator to lift the lockout.")


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: object = None) -> HttpResponse:
    """Axes' answer to a locked-out login: the login page again, saying why and for how long (429)."""
    return render(request, "registration/locked_out.html", {"message": lockout_message(request),
                                                            "cool_off_minutes": cool_off_minutes()}, status=429)


def _offline_request() -> HttpRequest:
    request = HttpRequest()
    request.META["REMOTE_ADDR"] = "127.0.0.1"
    request.path = request.path_info = "/reauthenticate"
    return request


def confirm_password(actor: User, password: str | None, *, request: HttpRequest | None = None) -> None:
    """Re-authentication for an act that carries a signature. It counts against the same limits as logins, so
    the password prompt of a sign-off cannot be used to guess a colleague's password at leisure."""
    if not password:
        raise ValidationFailed("Re-enter your password to confirm it is you.", field="password",
                               code="password_required")
    request = request if request is not None else _offline_request()
    user = authenticate(request, username=actor.get_username(), password=password)
    if getattr(request, "axes_locked_out", False):
        raise LockedOut(lockout_message(request), field="password")
    if user is None or user.pk != actor.pk:
        raise ValidationFailed("The password is not correct.", field="password")


def _record_lockout(sender: object, request: HttpRequest | None = None, username: str | None = None,
                    ip_address: str | None = None, **kwargs: object) -> None:
    scope = getattr(request, _SCOPE_ATTRIBUTE, SCOPE_ACCOUNT)
    audit.record("auth.locked_out", actor=SystemActor("throttling"), object_type="account",
                 object_id=(username or "")[:150], object_repr=f"{username or '?'} from {ip_address or '?'}",
                 after={"username": username, "ip_address": ip_address, "scope": scope,
                        "path": getattr(request, "path", None), "cool_off_minutes": cool_off_minutes(),
                        "failure_limit": failure_limit(), "address_failure_limit": address_failure_limit()})


def connect() -> None:
    from axes.signals import user_locked_out

    receiver(user_locked_out, dispatch_uid="gatehouse-audit-lockout")(_record_lockout)
