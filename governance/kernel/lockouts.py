"""Current lockouts and lifting one (governance.kernel.throttling says how they arise).

A lockout is either an account from one address (``SCOPE_ACCOUNT``) or an address for every account
(``SCOPE_ADDRESS``, password spraying). Lifting one is a decision in someone's name that reopens a door to
password guessing, so it is for Compliance or an administrator, confirmed by re-authentication, with a reason,
and written to the audit log.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from axes.models import AccessAttempt
from django.conf import settings
from django.db import transaction
from django.db.models import Max, Sum
from django.http import HttpRequest
from django.utils import timezone

from governance.kernel import audit
from governance.kernel.errors import Conflict, ValidationFailed
from governance.kernel.permissions import require
from governance.kernel.principals import Actor, acting_person
from governance.kernel.reauth import confirm_identity
from governance.kernel.throttling import (
    SCOPE_ACCOUNT,
    SCOPE_ADDRESS,
    address_failure_limit,
    cool_off_minutes,
    failure_limit,
)

SCOPES = (SCOPE_ACCOUNT, SCOPE_ADDRESS)


@dataclass(frozen=True)
class Lockout:
    scope: str
    ip_address: str
    username: str  # "" for an address lockout
    failures: int
    last_failure_at: datetime

    @property
    def lifts_at(self) -> datetime:
        return self.last_failure_at + timedelta(minutes=cool_off_minutes())

    @property
    def is_address(self) -> bool:
        return self.scope == SCOPE_ADDRESS


def _window_start(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - settings.AXES_COOLOFF_TIME


def current_lockouts(*, now: datetime | None = None) -> list[Lockout]:
    """Every lockout in force, addresses first, then accounts, newest failure first (two queries)."""
    recent = AccessAttempt.objects.filter(attempt_time__gte=_window_start(now))
    addresses = (recent.values("ip_address").annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
                 .filter(failures__gte=address_failure_limit()).order_by("-last"))
    pairs = (recent.values("username", "ip_address")
             .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
             .filter(failures__gte=failure_limit()).order_by("-last", "username"))
    return [
        *(Lockout(SCOPE_ADDRESS, row["ip_address"] or "", "", int(row["failures"]), row["last"]) for row in addresses),
        *(Lockout(SCOPE_ACCOUNT, row["ip_address"] or "", row["username"] or "", int(row["failures"]), row["last"])
          for row in pairs),
    ]


def _check_target(scope: object, username: object, ip_address: object) -> tuple[str, str, str]:
    if scope not in SCOPES:
        raise ValidationFailed(f"A lockout is of an {SCOPE_ACCOUNT!r} or an {SCOPE_ADDRESS!r}.", field="scope")
    try:
        address = str(ipaddress.ip_address(str(ip_address or "").strip()))
    except ValueError:
        raise ValidationFailed("Name the locked address (an IPv4 or IPv6 address).", field="ip_address") from None
    name = str(username or "").strip()
    if scope == SCOPE_ACCOUNT and not name:
        raise ValidationFailed("Name the locked account.", field="username")
    return str(scope), "" if scope == SCOPE_ADDRESS else name, address


def lift_lockout(*, actor: Actor, scope: str, ip_address: str, username: str = "", reason: str,
                 password: str | None = None, sso_proof: dict[str, Any] | None = None,
                 request: HttpRequest | None = None) -> Lockout:
    """Compliance or an administrator lifts a lockout in force before its cool-off ends, after confirming who
    they are, with a reason. Lifting an account's lockout clears that account's failures from that address;
    lifting an address's clears every failure from it."""
    person = acting_person(actor)
    require(person, "lockout.lift", message="Only Compliance or an administrator can lift a lockout.")
    scope, username, ip_address = _check_target(scope, username, ip_address)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why the lockout is lifted (for example, how you reached the person).",
                               field="reason")
    confirmation = confirm_identity(person, password=password, proof=sso_proof, request=request)
    with transaction.atomic():
        rows = AccessAttempt.objects.select_for_update().filter(ip_address=ip_address)
        if scope == SCOPE_ACCOUNT:
            rows = rows.filter(username=username)
        attempts = list(rows.order_by("pk"))
        in_window = [a for a in attempts if a.attempt_time >= _window_start()]
        failures = sum(a.failures_since_start for a in in_window)
        limit = failure_limit() if scope == SCOPE_ACCOUNT else address_failure_limit()
        if failures < limit:
            what = f"{username} from {ip_address}" if scope == SCOPE_ACCOUNT else ip_address
            raise Conflict(f"{what} is not locked out (any more); there is nothing to lift.", code="not_locked_out")
        lockout = Lockout(scope, ip_address, username, failures, max(a.attempt_time for a in in_window))
        AccessAttempt.objects.filter(pk__in=[a.pk for a in attempts]).delete()
        audit.record("auth.lockout_lifted", actor=person, object_type="account" if username else "address",
                     object_id=(username or ip_address)[:150],
                     object_repr=f"{username} from {ip_address}" if username else f"every account from {ip_address}",
                     after={"scope": scope, "username": username or None, "ip_address": ip_address,
                            "failures": failures, "reason": reason,
                            "would_have_lifted_at": lockout.lifts_at,
                            **(confirmation.as_audit() if confirmation else {})})
    return lockout
