"""What the registry integration adds to the dashboard and to the governance pack."""

from . import selectors
from .models import RegistryLink


def _version(number) -> str:
    return f"v{number}" if number is not None else "nothing"


def registry_panels(user) -> list[dict]:
    if not RegistryLink.objects.exists():
        return []
    drift = selectors.alias_drift()
    changes = selectors.unsettled_alias_changes()
    syncs = selectors.failing_syncs()
    rows = [{"url": d["url"], "label": f"{d['registered_model']}@{d['alias']} moved by hand",
             "note": f"points at {_version(d['observed_version'])}; Gatehouse set {_version(d['expected_version'])}"}
            for d in drift]
    rows += [{"url": a.launch.get_absolute_url() if a.launch else a.link.model.get_absolute_url(), "label": f"{a} {a.get_status_display().lower()}",
              "note": a.last_error[:160] or "waiting for MLflow"} for a in changes]
    rows += [{"url": link.model.get_absolute_url(), "label": f"Sync of {link.registered_model} failing",
              "note": link.last_sync_error[:160]} for link in syncs]
    return [{"title": "MLflow registry", "count": len(drift) + len(changes) + len(syncs), "id": "mlflow-registry",
             "rows": rows, "empty": "Every governed alias is where Gatehouse put it."}]


def registry_pack_section(viewer) -> dict | None:
    """Aliases moved by hand, as last seen: a governance pack section (none while no model is linked)."""
    if not RegistryLink.objects.exists():
        return None
    return {"id": "registry", "title": "MLflow aliases not set by Gatehouse",
            "intro": "Governed aliases that point at a version Gatehouse did not allow (moved, set or removed in "
                     "MLflow by hand), as found by the last registry sync.",
            "columns": ["Registered model", "Alias", "Points at", "Gatehouse set", "Seen"],
            "rows": [[d["registered_model"], f"@{d['alias']}", _version(d["observed_version"]),
                      _version(d["expected_version"]), d["observed_at"].strftime("%d %b %Y %H:%M")]
                     for d in selectors.alias_drift()],
            "empty": "Every governed alias points where Gatehouse put it."}
