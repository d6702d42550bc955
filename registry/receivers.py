"""Receivers of readiness's rollout signals. They run inside the rollout's transaction and only record."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import services

if TYPE_CHECKING:
    from governance.kernel.principals import Actor
    from readiness.models import LaunchRequest, RolloutStage


def stage_entered(sender: object, *, launch: LaunchRequest, stage: RolloutStage, actor: Actor,
                  **kwargs: object) -> None:
    services.on_stage_entered(launch, stage, actor=actor)


def launch_rolled_back(sender: object, *, launch: LaunchRequest, actor: Actor, reason: str,
                       **kwargs: object) -> None:
    services.on_rolled_back(launch, actor=actor, reason=reason)


def model_registry_section(sender: object, *, model: Any, user: Any, query: Any = None, **kwargs: object) -> dict:
    """The model page's MLflow section: the link, the guard's mode and the alias history a page at a time
    (``?aliases=N``). Three queries whatever the history's length; nothing for a model not linked."""
    from django.core.paginator import Paginator

    from governance.kernel.permissions import can

    from .models import RegistryLink
    from .selectors import HISTORY_PER_PAGE, alias_history

    link = RegistryLink.objects.filter(model=model).first()
    if link is None:
        return {}
    link.model = model
    history = Paginator(alias_history(link), HISTORY_PER_PAGE).get_page((query or {}).get("aliases"))
    return {"model_sections": [{
        "template": "registry/_model_registry.html", "link": link, "history_page": history,
        "history": history.object_list, "can_set_guard": can(user, "registry.guard_mode", model)}]}
