"""How launch readiness reacts to the inventory below it, which sends signals rather than importing readiness."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.paginator import Paginator

from readiness.selectors import launches_for_model, live_launches_for_model
from readiness.services import on_features_changed

if TYPE_CHECKING:
    from governance.kernel.principals import Actor
    from governance.models import ModelVersion


def keep_launches_in_step(sender: object, *, version: ModelVersion, actor: Actor, **kwargs: object) -> None:
    """A version's features changed: launches of that version re-derive their feature checklist items."""
    on_features_changed(version, actor=actor)


LAUNCHES_PER_PAGE = 25


def model_launches(sender, *, model, user, launch_page=None, **kwargs) -> dict:
    """A model's page lists what is live (open launches, the serving one) and then its history a page at a time:
    a model retrained weekly for ten years has hundreds of launches, and the page stays the same length."""
    live = live_launches_for_model(model)
    history = Paginator(launches_for_model(model).exclude(pk__in=[launch.pk for launch in live]),
                        LAUNCHES_PER_PAGE).get_page(launch_page)
    return {"live_launches": live, "launch_page": history, "launches": history.object_list}


def review_waiting_deployments(sender: object, *, launch_id: int, stage: str, **kwargs: object) -> None:
    """A person decided an inconclusive gate decision: deploy tools that wait for a callback hear of it."""
    from readiness.deploy import github

    github.on_pending_decided(launch_id, stage)
