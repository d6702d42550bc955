"""The roles a person can hold, as choices, and the roles a person holds. Kernel layer: imports Django and the kernel."""

from typing import Any

from django.db import models

from governance.kernel.principals import SystemActor, TokenPrincipal


class Role(models.TextChoices):
    """What a person can act as. A sign-off is always given *as* one of these."""

    DATA_SCIENCE = "DATA_SCIENCE", "Data Science"
    COMPLIANCE = "COMPLIANCE", "Compliance"
    LEGAL = "LEGAL", "Legal"
    MODEL_RISK = "MODEL_RISK", "Model Risk Management"
    PRODUCT = "PRODUCT", "Product"
    ENGINEERING = "ENGINEERING", "Engineering"
    VIEWER = "VIEWER", "Viewer"


def roles_of(user: Any) -> frozenset[Role]:
    """The roles a person holds, fetched once per request and cached on the user object."""
    if user is None or not getattr(user, "is_authenticated", False) or isinstance(user, TokenPrincipal | SystemActor):
        return frozenset()
    cached = getattr(user, "_gatehouse_roles", None)
    if cached is None:
        cached = frozenset(Role(r) for r in user.memberships.values_list("role", flat=True))
        user._gatehouse_roles = cached
    roles: frozenset[Role] = cached
    return roles
