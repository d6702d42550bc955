"""The model risk rules held as data: which tiers need a current validation to launch, how long an event gives
until revalidation is due, and the finding severity from which an overdue finding stops the gate.

Sources: SR 11-7 / OCC 2011-12 section V (validation before use and periodic review, effective challenge by
parties independent of development) and its April 2026 replacement, reported as SR 26-2 / OCC Bulletin 2026-13
(re-review set off by triggers and scaled by materiality). The day counts are Gatehouse's defaults, not figures
from the guidance, which names none.
"""

from django.conf import settings

from governance.validation.models import FindingSeverity, Trigger

# A model of these tiers, once its materiality is assessed, needs a current approving validation to pass the gate.
VALIDATION_REQUIRED_TIERS = frozenset({"TIER_1", "TIER_2"})

# Days from the event until the revalidation it sets off is due.
TRIGGER_DUE_DAYS: dict[str, int] = {
    Trigger.INCIDENT: 30,
    Trigger.GUARDRAIL_BREACH: 30,
    Trigger.DRIFT: 30,
    Trigger.DATA_SOURCE: 60,
    Trigger.VENDOR_UPDATE: 60,
    Trigger.POLICY_CHANGE: 90,
    Trigger.SCHEDULE: 0,
}

MAX_WAIVER_DAYS = 90


def gate_severity() -> str:
    """The lowest severity at which an open finding past its due date denies the gate (setting
    ``VALIDATION_GATE_SEVERITY``, HIGH by default)."""
    value = getattr(settings, "VALIDATION_GATE_SEVERITY", FindingSeverity.HIGH)
    return FindingSeverity(value).value
