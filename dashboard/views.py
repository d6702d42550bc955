"""The home page: what needs the signed-in person's attention, with panels read from every app below."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from governance.inventory import selectors
from governance.kernel.permissions import roles_of
from postmortems.selectors import dashboard_panels as incident_panels
from readiness.dashboard import launch_panels
from registry.dashboard import registry_panels

PANEL_PROVIDERS = (launch_panels, incident_panels, registry_panels)


def _panels(user) -> list[dict]:
    return [panel for provider in PANEL_PROVIDERS for panel in provider(user)]


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
