"""How launch readiness reacts to the inventory below it, which sends signals rather than importing readiness."""

from __future__ import annotations

from typing import TYPE_CHECKING

from readiness.selectors import launches_for_model
from readiness.services import on_features_changed

if TYPE_CHECKING:
    from governance.kernel.principals import Actor
    from governance.models import ModelVersion


def keep_launches_in_step(sender: object, *, version: ModelVersion, actor: Actor, **kwargs: object) -> None:
    """A version's features changed: launches of that version re-derive their feature checklist items."""
    on_features_changed(version, actor=actor)


def model_launches(sender, *, model, user, **kwargs) -> dict:
    """A model's page lists its launches."""
    return {"launches": launches_for_model(model)}


def review_waiting_deployments(sender: object, *, launch_id: int, stage: str, **kwargs: object) -> None:
    """A person decided an inconclusive gate decision: deploy tools that wait for a callback hear of it."""
    from readiness.deploy import github

    github.on_pending_decided(launch_id, stage)
