"""Template context for every page: the signed-in person's roles, for the navigation. Kernel layer: imports
nothing above it.
"""
from django.http import HttpRequest

from governance.kernel.permissions import can, roles_of
from governance.kernel.roles import Role


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"my_roles": sorted(Role(r).label for r in roles_of(user)), "may_lift_lockouts": can(user, "lockout.lift"),
            "may_manage_tokens": can(user, "token.manage")}
