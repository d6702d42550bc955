"""The one rule for the severity of incidents Gatehouse opens itself (a guardrail rollback, the kill switch, an
MLflow alias moved by hand): from the model's risk tier and the share of traffic exposed when it happened.

A person who opens an incident chooses its severity; this rule is only for Gatehouse's own. The tier sets the
ceiling (a Tier 1 model makes credit decisions under fair-lending law, so full exposure is SEV 1); less exposure
lowers it: a shadow stage (0 % of traffic) decides nothing for customers, so it is two steps lower, and a canary
(under 10 %) one step lower. Unknown exposure counts as full: Gatehouse does not guess in the lenient direction.
"""

from __future__ import annotations

from postmortems.models import Severity

ORDER = [Severity.SEV1, Severity.SEV2, Severity.SEV3, Severity.SEV4]
CEILING_BY_TIER = {"TIER_1": 0, "TIER_2": 1, "TIER_3": 2}  # index into ORDER at full exposure
CANARY_BELOW_PERCENT = 10.0


def self_opened_severity(tier: str, exposure_percent: float | None) -> str:
    """SEV of an incident Gatehouse opens on a model of ``tier`` with ``exposure_percent`` of traffic exposed
    (None: unknown, taken as 100). An unknown tier is treated as Tier 1."""
    step = CEILING_BY_TIER.get(tier, 0)
    exposure = 100.0 if exposure_percent is None else float(exposure_percent)
    if exposure <= 0:
        step += 2
    elif exposure < CANARY_BELOW_PERCENT:
        step += 1
    return str(ORDER[min(step, len(ORDER) - 1)].value)
