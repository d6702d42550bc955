"""Materiality: how much a model matters, from its exposure and its purpose, and what that asks of validation.

Interagency model risk guidance scales validation by materiality and sets re-review by events rather than by a
fixed calendar (SR 11-7 / OCC 2011-12, "Supervisory Guidance on Model Risk Management", section V: "the rigor and
sophistication of validation should be commensurate with ... the materiality of the model"; its April 2026
replacement, reported as SR 26-2 / OCC Bulletin 2026-13, keeps that scaling and moves re-review to triggers).
The guidance names no numbers: the intervals and scopes below are Gatehouse's defaults, held here as data so a
firm's model risk policy changes them in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class Exposure(models.TextChoices):
    """The size of what the model's output moves (balances, customers, revenue)."""

    HIGH = "HIGH", "High"
    MEDIUM = "MEDIUM", "Medium"
    LOW = "LOW", "Low"


class Purpose(models.TextChoices):
    """What the output is used for: a decision about a customer, a regulatory figure, or internal insight."""

    CUSTOMER_DECISION = "CUSTOMER_DECISION", "Decides about customers"
    REGULATORY = "REGULATORY", "Feeds regulatory or financial reporting"
    INTERNAL = "INTERNAL", "Internal"


class Materiality(models.TextChoices):
    HIGH = "HIGH", "High"
    MODERATE = "MODERATE", "Moderate"
    LOW = "LOW", "Low"


# exposure x purpose -> materiality (a customer decision or a regulatory figure at high exposure is high).
MATRIX: dict[tuple[str, str], str] = {
    (Exposure.HIGH, Purpose.CUSTOMER_DECISION): Materiality.HIGH,
    (Exposure.HIGH, Purpose.REGULATORY): Materiality.HIGH,
    (Exposure.HIGH, Purpose.INTERNAL): Materiality.MODERATE,
    (Exposure.MEDIUM, Purpose.CUSTOMER_DECISION): Materiality.HIGH,
    (Exposure.MEDIUM, Purpose.REGULATORY): Materiality.MODERATE,
    (Exposure.MEDIUM, Purpose.INTERNAL): Materiality.LOW,
    (Exposure.LOW, Purpose.CUSTOMER_DECISION): Materiality.MODERATE,
    (Exposure.LOW, Purpose.REGULATORY): Materiality.MODERATE,
    (Exposure.LOW, Purpose.INTERNAL): Materiality.LOW,
}

# The scope areas of a validation (SR 11-7 section V: conceptual soundness, ongoing monitoring including
# process verification, outcomes analysis; plus data, implementation and limitations, which it discusses under
# development and use).
SCOPE_AREAS = ("CONCEPTUAL_SOUNDNESS", "DATA", "IMPLEMENTATION", "OUTCOMES_ANALYSIS", "MONITORING_PLAN",
               "LIMITATIONS")

TIER_RANK = {"TIER_1": 1, "TIER_2": 2, "TIER_3": 3}


@dataclass(frozen=True)
class Requirements:
    """What a materiality asks: the scope a validation must cover, how many days a validation stays current,
    and the lowest risk tier (the highest TIER number) the model may carry."""

    scope: tuple[str, ...]
    revalidate_days: int
    minimum_tier: str


REQUIREMENTS: dict[str, Requirements] = {
    Materiality.HIGH: Requirements(SCOPE_AREAS, 365, "TIER_1"),
    Materiality.MODERATE: Requirements(("CONCEPTUAL_SOUNDNESS", "DATA", "OUTCOMES_ANALYSIS", "MONITORING_PLAN"),
                                       730, "TIER_2"),
    Materiality.LOW: Requirements(("CONCEPTUAL_SOUNDNESS", "MONITORING_PLAN"), 1095, "TIER_3"),
}


def materiality_of(exposure: str, purpose: str) -> str:
    return MATRIX[(Exposure(exposure), Purpose(purpose))]


def tier_allowed(tier: str, materiality: str) -> bool:
    """A model may be held to a stricter tier than its materiality asks, never a laxer one."""
    return TIER_RANK[tier] <= TIER_RANK[REQUIREMENTS[materiality].minimum_tier]
