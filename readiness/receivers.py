"""How launch readiness reacts to the inventory below it, which sends signals rather than importing readiness."""

from readiness.selectors import launches_for_model
from readiness.services import on_features_changed


def keep_launches_in_step(sender, *, version, actor, **kwargs):
    """A version's features changed: launches of that version re-derive their feature checklist items."""
    on_features_changed(version, actor=actor)


def model_launches(sender, *, model, user, **kwargs) -> dict:
    """A model's page lists its launches."""
    return {"launches": launches_for_model(model)}
