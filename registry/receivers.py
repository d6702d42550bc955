"""Receivers of readiness's rollout signals. They run inside the rollout's transaction and only record."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
