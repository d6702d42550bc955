"""Who is acting: a person, an API token, or the system itself (periodic tasks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

from governance.kernel.errors import PermissionDenied

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from governance.kernel.models import ApiToken, User


@dataclass(frozen=True)
class TokenPrincipal:
    """The request.user of an API call authenticated by token. Scopes and model limits come from the token."""

    token: ApiToken
    scopes: frozenset[str] = field(default_factory=frozenset)
    model_ids: frozenset[int] | None = None  # None: every model

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_superuser = False
    is_staff = False
    pk = None
    id = None

    @property
    def label(self) -> str:
        return f"token:{self.token.name}"

    @property
    def username(self) -> str:
        return self.label

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True)
class SystemActor:
    """Gatehouse acting on its own behalf, e.g. a guardrail breach found by the periodic task."""

    name: str = "gatehouse"

    is_authenticated = True
    is_anonymous = False
    is_superuser = False
    pk = None

    @property
    def label(self) -> str:
        return f"system:{self.name}"

    def __str__(self) -> str:
        return self.label


# Whoever a service acts for. Services take an Actor; permission questions also accept the anonymous visitor
# (and None, read as nobody) because views ask them before anyone has signed in.
Actor: TypeAlias = "User | TokenPrincipal | SystemActor"
Requester: TypeAlias = "Actor | AnonymousUser | None"


def actor_label(actor: Requester) -> str:
    if actor is None:
        return "system:gatehouse"
    if isinstance(actor, TokenPrincipal | SystemActor):
        return actor.label
    return actor.get_username()


def actor_user(actor: Actor | None) -> User | None:
    """The User row behind an actor, or None for tokens and the system."""
    if actor is None or isinstance(actor, TokenPrincipal | SystemActor):
        return None
    return actor


def acting_person(actor: Actor) -> User:
    """The person behind an act only a person can do (approve, decide, sign with a password): the permission
    table gives such acts no API token scope, and Gatehouse acting for itself is not a person either."""
    if isinstance(actor, TokenPrincipal | SystemActor):
        raise PermissionDenied(f"Only a person can do this, not {actor.label}.", code="person_required")
    return actor
