"""The home page: what needs the logged-in person's attention. Later apps contribute panels."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from . import selectors
from .permissions import roles_of


def _panels(user) -> list[dict]:
    panels = []
    for provider in PANEL_PROVIDERS:
        panels.extend(provider(user))
    return panels


PANEL_PROVIDERS: list = []


def register_panel(provider):
    """Apps add dashboard panels (a function user -> list of dicts) without the dashboard importing them."""
    PANEL_PROVIDERS.append(provider)
    return provider


@login_required
def dashboard(request):
    inventory = selectors.inventory()
    unassessed = [m for m in inventory if m.has_unassessed]
    return render(request, "governance/dashboard.html", {
        "model_count": len(inventory),
        "unassessed_models": unassessed,
        "roles": sorted(roles_of(request.user)),
        "panels": _panels(request.user),
    })


def permission_denied(request, exception=None):
    message = str(exception) if exception else "You do not have permission to do that."
    return render(request, "403.html", {"message": message}, status=403)
