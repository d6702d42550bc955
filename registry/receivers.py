"""Receivers of readiness's rollout signals. They run inside the rollout's transaction and only record."""

from . import services


def stage_entered(sender, *, launch, stage, actor, **kwargs):
    services.on_stage_entered(launch, stage, actor=actor)


def launch_rolled_back(sender, *, launch, actor, reason, **kwargs):
    services.on_rolled_back(launch, actor=actor, reason=reason)
