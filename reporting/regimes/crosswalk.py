"""Regimes as data: one versioned crosswalk file per regime (``data/<name>.json``) maps each requirement, with its
citation, to the kinds of Gatehouse records that evidence it and to the role whose job it is to supply them.

Correcting a regime is a change to its file, not to code: the loader checks every file against the evidence
kinds and roles Gatehouse knows and refuses a file that names anything else, so a typo cannot turn a requirement
silently into "missing" or "present". Pure reading: no database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

from governance.kernel.roles import Role

FORMAT = "gatehouse-regime/1"

#: What may make a requirement inapplicable to a model besides its tier, as computed facts about the model.
CONDITIONS = frozenset({"has_incidents", "has_fair_lending_incidents"})


class CrosswalkError(ValueError):
    """A crosswalk file that does not load; ``code`` is ``crosswalk_invalid``."""

    code = "crosswalk_invalid"


@dataclass(frozen=True)
class Source:
    citation: str
    url: str = ""
    note: str = ""


@dataclass(frozen=True)
class Requirement:
    id: str
    title: str
    citation: str
    evidence: tuple[str, ...]
    owner: str
    url: str = ""
    applies_to_tiers: frozenset[str] | None = None  # None: wherever the regime applies
    when: str = ""  # a condition in CONDITIONS; empty: always
    not_applicable_reason: str = ""


@dataclass(frozen=True)
class RetentionRule:
    record_kind: str
    days: int
    citation: str


@dataclass(frozen=True)
class Regime:
    name: str
    title: str
    crosswalk_version: str
    effective_from: date
    effective_to: date | None
    source: Source
    applies_to_tiers: frozenset[str]
    requirements: tuple[Requirement, ...]
    retention: tuple[RetentionRule, ...] = field(default=())

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on < self.effective_to)


def _text(data: dict[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = data.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise CrosswalkError(f"{where}: {key} must be a non-empty string")
    return value.strip()


def _tiers(value: object, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not value or any(t not in ("TIER_1", "TIER_2", "TIER_3") for t in value):
        raise CrosswalkError(f"{where}: tiers are a non-empty list of TIER_1, TIER_2, TIER_3")
    return frozenset(value)


def parse(data: object, *, evidence_kinds: frozenset[str], origin: str = "crosswalk") -> Regime:
    """A regime from a crosswalk document, or CrosswalkError naming what is wrong and where."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CrosswalkError(f"{origin}: not a {FORMAT} document")
    name = _text(data, "name", origin)
    try:
        effective_from = date.fromisoformat(_text(data, "effective_from", origin))
        effective_to = date.fromisoformat(data["effective_to"]) if data.get("effective_to") else None
    except ValueError as error:
        raise CrosswalkError(f"{origin}: effective dates are ISO dates ({error})") from None
    source = data.get("source")
    if not isinstance(source, dict):
        raise CrosswalkError(f"{origin}: source is an object with a citation")
    requirements: list[Requirement] = []
    seen: set[str] = set()
    for index, item in enumerate(data.get("requirements") or []):
        where = f"{origin} requirements[{index}]"
        if not isinstance(item, dict):
            raise CrosswalkError(f"{where}: not an object")
        rid = _text(item, "id", where)
        if rid in seen:
            raise CrosswalkError(f"{where}: requirement {rid!r} appears twice")
        seen.add(rid)
        evidence = item.get("evidence")
        if not isinstance(evidence, list) or any(kind not in evidence_kinds for kind in evidence):
            unknown = sorted(set(evidence or []) - evidence_kinds) if isinstance(evidence, list) else evidence
            raise CrosswalkError(f"{where}: unknown evidence kind(s) {unknown}")
        owner = _text(item, "owner", where)
        if owner not in Role.values:
            raise CrosswalkError(f"{where}: owner {owner!r} is not a role")
        when = _text(item, "when", where, required=False)
        if when and when not in CONDITIONS:
            raise CrosswalkError(f"{where}: unknown condition {when!r}")
        tiers = _tiers(item["applies_to_tiers"], where) if "applies_to_tiers" in item else None
        reason = _text(item, "not_applicable_reason", where, required=False)
        if (not evidence or tiers is not None or when) and not reason:
            raise CrosswalkError(f"{where}: a requirement that can be inapplicable states why")
        requirements.append(Requirement(
            id=rid, title=_text(item, "title", where), citation=_text(item, "citation", where),
            evidence=tuple(evidence), owner=owner, url=_text(item, "url", where, required=False),
            applies_to_tiers=tiers, when=when, not_applicable_reason=reason))
    if not requirements:
        raise CrosswalkError(f"{origin}: a regime has requirements")
    retention = []
    for index, rule in enumerate(data.get("retention") or []):
        where = f"{origin} retention[{index}]"
        if not isinstance(rule, dict) or not isinstance(rule.get("days"), int) or rule["days"] <= 0:
            raise CrosswalkError(f"{where}: a retention rule has a positive number of days")
        retention.append(RetentionRule(_text(rule, "record_kind", where), rule["days"], _text(rule, "citation", where)))
    return Regime(
        name=name, title=_text(data, "title", origin), crosswalk_version=_text(data, "crosswalk_version", origin),
        effective_from=effective_from, effective_to=effective_to,
        source=Source(_text(source, "citation", origin), _text(source, "url", origin, required=False),
                      _text(source, "note", origin, required=False)),
        applies_to_tiers=_tiers(data.get("applies_to_tiers"), origin), requirements=tuple(requirements),
        retention=tuple(retention))


@lru_cache(maxsize=1)
def regimes() -> dict[str, Regime]:
    """Every crosswalk shipped in ``data/``, by name (read once per process)."""
    from reporting.regimes.evidence import KINDS

    found: dict[str, Regime] = {}
    for entry in sorted(resources.files("reporting.regimes").joinpath("data").iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        regime = parse(json.loads(entry.read_text(encoding="utf-8")), evidence_kinds=frozenset(KINDS),
                       origin=entry.name)
        if entry.name != f"{regime.name}.json":
            raise CrosswalkError(f"{entry.name}: the file is named after its regime ({regime.name}.json)")
        found[regime.name] = regime
    return found


def regime(name: str) -> Regime | None:
    return regimes().get(name)


def crosswalk_document(name: str) -> bytes:
    """The crosswalk file exactly as shipped, for the evidence bundle."""
    return resources.files("reporting.regimes").joinpath("data", f"{name}.json").read_bytes()
