"""The home page: what needs the signed-in person's attention, with panels read from every app below."""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from governance.inventory import selectors
from governance.kernel.permissions import roles_of
from postmortems.selectors import dashboard_panels as incident_panels
from readiness.dashboard import launch_panels
from readiness.models import LaunchRequest
from registry.dashboard import registry_panels

PANEL_PROVIDERS = (launch_panels, incident_panels, registry_panels)


def _panels(user) -> list[dict]:
    return [panel for provider in PANEL_PROVIDERS for panel in provider(user)]


def unassessed_versions() -> list[dict]:
    """Each model version with third-party features lacking a proxy-risk assessment, with those features and the
    version's latest launch: the alarm names the version (and that it was, say, rolled back), not only the model."""
    features = (selectors.unassessed_third_party_features().select_related("version__model")
                .order_by("version__model__slug", "-version__created_at", "name"))
    rows: dict[int, dict[str, Any]] = {}
    for feature in features:
        row = rows.setdefault(feature.version_id, {"version": feature.version, "features": [], "launch": None})
        row["features"].append(feature.name)
    for launch in LaunchRequest.objects.filter(version_id__in=rows).order_by("created_at", "pk"):
        rows[launch.version_id]["launch"] = launch
    return list(rows.values())


@login_required
def dashboard(request):
    inventory = selectors.inventory()
    return render(request, "governance/dashboard.html", {
        "model_count": len(inventory),
        "unassessed_versions": unassessed_versions(),
        "roles": sorted(roles_of(request.user)),
        "panels": _panels(request.user),
    })
