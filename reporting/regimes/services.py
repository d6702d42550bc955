"""State changes of the examiner's file: which regimes a model falls under."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import transaction

from governance.inventory.models import MLModel
from governance.kernel import audit, clock
from governance.kernel.errors import ValidationFailed
from governance.kernel.permissions import require
from governance.kernel.principals import actor_user
from reporting.models import ModelRegime
from reporting.regimes import crosswalk

if TYPE_CHECKING:
    from governance.kernel.principals import Actor


def declare_regimes(model: MLModel, *, actor: Actor, regimes: Iterable[str]) -> list[str]:
    """Set the regimes ``model`` falls under (the whole list: names absent from it are withdrawn). Compliance, Legal
    or Model Risk decide it, since it decides what the model's file must hold; every name is a shipped crosswalk."""
    require(actor, "regime.declare", model,
            message="Only Compliance, Legal or Model Risk declare the regimes a model falls under.")
    wanted = sorted({str(name).strip() for name in regimes})
    known = crosswalk.regimes()
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise ValidationFailed(f"Unknown regime {unknown[0][:60]!r}; use one of {', '.join(sorted(known))}.",
                               field="regimes", code="unknown_regime")
    with transaction.atomic():
        MLModel.objects.select_for_update().filter(pk=model.pk).first()  # one declaration of a model at a time
        before = sorted(ModelRegime.objects.filter(model=model).values_list("regime", flat=True))
        if before == wanted:
            return wanted
        ModelRegime.objects.filter(model=model).exclude(regime__in=wanted).delete()
        now = clock.now()
        ModelRegime.objects.bulk_create([
            ModelRegime(model=model, regime=name, declared_by=actor_user(actor), declared_at=now)
            for name in wanted if name not in before])
        audit.record("model.regimes_declared", model, actor=actor, before={"regimes": before},
                     after={"regimes": wanted, "crosswalk_versions": {
                         name: known[name].crosswalk_version for name in wanted}})
    return wanted
