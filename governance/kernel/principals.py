"""Who is acting: a person, an API token, or the system itself (periodic tasks)."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TokenPrincipal:
    """The request.user of an API call authenticated by token. Scopes and model limits come from the token."""

    token: object  # governance.models.ApiToken
    scopes: frozenset = field(default_factory=frozenset)
    model_ids: frozenset | None = None  # None: every model

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

    def __str__(self):
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

    def __str__(self):
        return self.label


def actor_label(actor) -> str:
    if actor is None:
        return "system:gatehouse"
    label = getattr(actor, "label", None)
    if label:
        return label
    return actor.get_username()


def actor_user(actor):
    """The User row behind an actor, or None for tokens and the system."""
    if actor is None or isinstance(actor, TokenPrincipal | SystemActor):
        return None
    return actor
