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


UNASSESSED_SHOWN = 8


def unassessed_versions() -> tuple[list[dict], int]:
    """The newest model versions with third-party features lacking a proxy-risk assessment, with those features and
    the version's latest launch: the alarm names the version (and that it was, say, rolled back), not only the
    model. At most UNASSESSED_SHOWN versions are shown, with the count of all of them (the inventory's filter lists
    the rest)."""
    unassessed = selectors.unassessed_third_party_features()
    total = unassessed.values("version_id").distinct().count()
    shown = list(unassessed.order_by("-version__created_at", "-version_id").values_list("version_id", flat=True)
                 .distinct()[:UNASSESSED_SHOWN])
    features = (unassessed.filter(version_id__in=shown).select_related("version__model")
                .order_by("-version__created_at", "-version_id", "name"))
    rows: dict[int, dict[str, Any]] = {}
    for feature in features:
        row = rows.setdefault(feature.version_id, {"version": feature.version, "features": [], "launch": None})
        row["features"].append(feature.name)
    for launch in LaunchRequest.objects.filter(version_id__in=rows).order_by("created_at", "pk"):
        rows[launch.version_id]["launch"] = launch
    return list(rows.values()), total


@login_required
def dashboard(request):
    unassessed, unassessed_count = unassessed_versions()
    return render(request, "governance/dashboard.html", {
        "model_count": selectors.inventory().count(),
        "unassessed_versions": unassessed, "unassessed_count": unassessed_count,
        "roles": sorted(roles_of(request.user)),
        "panels": _panels(request.user),
    })
