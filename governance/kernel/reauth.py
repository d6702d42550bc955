"""Confirming who acts before an act that carries their name: a signature, a policy approval, a waiver.

A local account re-enters its password. A person who signs in through the company's identity provider has no
password here: they authenticate at the provider again (``prompt=login`` with ``max_age``), and the ID token's
``auth_time`` proves the authentication was fresh. The proof is kept in the session (``SESSION_KEY``) and handed
to the service, which checks it against the acting person and the clock. The audit event of the act records the
method and the time of authentication.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from governance.kernel.errors import ValidationFailed

if TYPE_CHECKING:
    from governance.kernel.models import User

SESSION_KEY = "gatehouse_reauth"


class ReauthenticationRequired(ValidationFailed):
    code = "reauthentication_required"


@dataclass(frozen=True)
class Confirmation:
    method: str  # "password" or "identity provider"
    authenticated_at: datetime

    def as_audit(self) -> dict[str, str]:
        return {"confirmed_by": self.method, "authenticated_at": self.authenticated_at.isoformat()}


def max_age_seconds() -> int:
    return int(getattr(settings, "SSO_REAUTH_MAX_AGE", 300))


def sso_proof(request: HttpRequest) -> dict[str, Any] | None:
    """The fresh-authentication proof the identity provider's callback left in this session, if any."""
    proof = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    return proof if isinstance(proof, dict) else None


def confirm_identity(actor: User, *, password: str | None = None, proof: dict[str, Any] | None = None,
                     local_needs_password: bool = True, now: datetime | None = None,
                     request: HttpRequest | None = None) -> Confirmation | None:
    """Check that ``actor`` just proved who they are; raise a ValidationFailed on ``password`` otherwise.

    Single-sign-on people need a provider authentication no older than ``SSO_REAUTH_MAX_AGE`` seconds, for their
    own issuer and subject. Local accounts need their password where ``local_needs_password`` (signatures);
    elsewhere they confirm nothing more than their session, as before single sign-on existed."""
    now = now or timezone.now()
    if getattr(actor, "uses_sso", False):
        if proof and proof.get("refused") == "stale":
            raise ReauthenticationRequired(
                "The identity provider reused an earlier sign-in instead of asking you again; authenticate again.",
                field="password")
        if not proof or proof.get("iss") != actor.sso_issuer or proof.get("sub") != actor.sso_subject:
            raise ReauthenticationRequired(
                "Confirm it is you: authenticate again with your identity provider, then repeat this step.",
                field="password")
        try:
            authenticated_at = datetime.fromtimestamp(int(proof["auth_time"]), tz=UTC)
        except (KeyError, TypeError, ValueError, OverflowError):
            raise ReauthenticationRequired("The identity provider did not say when you authenticated.",
                                           field="password") from None
        age = (now - authenticated_at).total_seconds()
        if age > max_age_seconds() or age < -60:
            raise ReauthenticationRequired(
                f"Your last authentication with the identity provider was {int(age // 60)} minutes ago; "
                f"authenticate again (it must be within {max_age_seconds() // 60} minutes).", field="password")
        return Confirmation("identity provider", authenticated_at)
    if not local_needs_password:
        return None
    # Throttled like logins (django-axes), by account and by the request's address.
    from governance.kernel.throttling import confirm_password

    confirm_password(actor, password, request=request)
    return Confirmation("password", now)
