"""Coverage of a model's declared regimes, requirement by requirement: present (with the records that evidence it),
missing (with the role whose job it is) or not applicable (with the reason). Computed from the records each time
it is read, so removing a record turns its requirement missing.

Each evidence kind a declared regime names is fetched once for the model (see ``evidence``), so the queries are
bounded by the number of kinds, not by requirements or records. Records of restricted incidents the reader may
not see evidence nothing for them; they are counted per kind (never named) so the table can say that something
is there which the reader is not shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from governance.kernel import clock
from governance.kernel.principals import SystemActor
from governance.kernel.roles import Role
from reporting.models import ModelRegime
from reporting.regimes import crosswalk
from reporting.regimes.crosswalk import Regime, Requirement
from reporting.regimes.evidence import KINDS, EvidenceItem

if TYPE_CHECKING:
    from governance.inventory.models import MLModel
    from governance.kernel.principals import Requester

PRESENT, MISSING, NOT_APPLICABLE = "PRESENT", "MISSING", "NOT_APPLICABLE"
# Kinds read through incident visibility: their hidden records are counted, never shown.
INCIDENT_KINDS = frozenset({"incident_record", "postmortem", "regulatory_notification"})
_SYSTEM = SystemActor("coverage")


@dataclass(frozen=True)
class RequirementCoverage:
    requirement: Requirement
    state: str
    evidence: tuple[EvidenceItem, ...] = ()
    missing_kinds: tuple[str, ...] = ()
    reason: str = ""
    restricted: int = 0  # records evidencing it that the reader may not see

    @property
    def missing_labels(self) -> list[str]:
        return [KINDS[kind].label.lower() for kind in self.missing_kinds]

    @property
    def owner_label(self) -> str:
        return Role(self.requirement.owner).label

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.requirement.id, "title": self.requirement.title,
                "citation": self.requirement.citation, "url": self.requirement.url, "state": self.state,
                "owner": self.requirement.owner if self.state == MISSING else None,
                "missing": list(self.missing_kinds), "reason": self.reason,
                "restricted_records": self.restricted,
                "evidence": [item.as_dict() for item in self.evidence]}


@dataclass(frozen=True)
class RegimeCoverage:
    regime: Regime
    rows: tuple[RequirementCoverage, ...]
    applies: bool
    reason: str = ""
    in_force: bool = True
    declared_by: str = ""

    def count(self, state: str) -> int:
        return sum(1 for row in self.rows if row.state == state)

    @property
    def present(self) -> int:
        return self.count(PRESENT)

    @property
    def missing(self) -> int:
        return self.count(MISSING)

    @property
    def not_applicable(self) -> int:
        return self.count(NOT_APPLICABLE)

    def as_dict(self) -> dict[str, Any]:
        r = self.regime
        return {"regime": r.name, "title": r.title, "crosswalk_version": r.crosswalk_version,
                "effective_from": r.effective_from, "effective_to": r.effective_to, "in_force": self.in_force,
                "source": {"citation": r.source.citation, "url": r.source.url, "note": r.source.note},
                "applies": self.applies, "reason": self.reason,
                "counts": {"present": self.present, "missing": self.missing, "not_applicable": self.not_applicable},
                "requirements": [row.as_dict() for row in self.rows]}


@dataclass(frozen=True)
class ModelCoverage:
    model_slug: str
    regimes: tuple[RegimeCoverage, ...]
    undeclared: tuple[Regime, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model_slug, "regimes": [c.as_dict() for c in self.regimes]}


def declared_regimes(model: MLModel) -> list[ModelRegime]:
    return list(ModelRegime.objects.filter(model=model).select_related("declared_by").order_by("regime"))


def _conditions(model: MLModel) -> dict[str, bool]:
    """Facts that decide whether a conditional requirement applies: read over every incident, whoever reads, since
    whether Article 73 applies does not depend on who is looking."""
    from reporting.regimes.evidence import model_incidents

    flags = list(model_incidents(model, _SYSTEM).values_list("fair_lending", flat=True))
    return {"has_incidents": bool(flags), "has_fair_lending_incidents": any(flags)}


def _row(requirement: Requirement, model: MLModel, found: dict[str, list[EvidenceItem]], hidden: dict[str, int],
         conditions: dict[str, bool]) -> RequirementCoverage:
    if requirement.applies_to_tiers is not None and model.risk_tier not in requirement.applies_to_tiers:
        return RequirementCoverage(requirement, NOT_APPLICABLE, reason=requirement.not_applicable_reason)
    if requirement.when and not conditions.get(requirement.when, False):
        return RequirementCoverage(requirement, NOT_APPLICABLE, reason=requirement.not_applicable_reason)
    if not requirement.evidence:
        return RequirementCoverage(requirement, NOT_APPLICABLE, reason=requirement.not_applicable_reason)
    evidence = tuple(item for kind in requirement.evidence for item in found[kind])
    restricted = sum(hidden.get(kind, 0) for kind in requirement.evidence)
    missing = tuple(kind for kind in requirement.evidence if not found[kind] and not hidden.get(kind))
    if missing:
        return RequirementCoverage(requirement, MISSING, evidence, missing, restricted=restricted)
    return RequirementCoverage(requirement, PRESENT, evidence, restricted=restricted)


def coverage_for(model: MLModel, regimes: list[Regime], *, viewer: Requester, today: date | None = None,
                 declarations: dict[str, str] | None = None,
                 given: dict[str, list[EvidenceItem]] | None = None) -> list[RegimeCoverage]:
    """``given`` supplies the evidence of some kinds instead of reading it (a document that is its own evidence)."""
    today = today or clock.now().date()
    kinds = sorted({kind for r in regimes for q in r.requirements for kind in q.evidence})
    given = given or {}
    found = {kind: given[kind] if kind in given else KINDS[kind].find(model, viewer) for kind in kinds}
    hidden: dict[str, int] = {}
    for kind in kinds:
        if kind in INCIDENT_KINDS and not isinstance(viewer, SystemActor):
            hidden[kind] = max(0, len(KINDS[kind].find(model, _SYSTEM)) - len(found[kind]))
    conditions = _conditions(model) if any(q.when for r in regimes for q in r.requirements) else {}
    result = []
    for regime in regimes:
        applies = model.risk_tier in regime.applies_to_tiers
        reason = "" if applies else (f"{regime.title} is held to apply to "
                                     f"{', '.join(sorted(regime.applies_to_tiers))} models; this model is "
                                     f"{model.risk_tier}.")
        rows = tuple(_row(q, model, found, hidden, conditions) if applies
                     else RequirementCoverage(q, NOT_APPLICABLE, reason=reason) for q in regime.requirements)
        result.append(RegimeCoverage(regime, rows, applies, reason, regime.in_force(today),
                                     (declarations or {}).get(regime.name, "")))
    return result


def model_coverage(model: MLModel, *, viewer: Requester, regime: str | None = None) -> ModelCoverage:
    """Coverage of every regime ``model`` declares (or of ``regime`` alone, declared or not)."""
    known = crosswalk.regimes()
    declared = declared_regimes(model)
    labels = {d.regime: (d.declared_by.display_name if d.declared_by else "Gatehouse") for d in declared}
    names = [regime] if regime else [d.regime for d in declared if d.regime in known]
    chosen = [known[name] for name in names if name in known]
    undeclared = tuple(r for name, r in sorted(known.items()) if name not in labels)
    return ModelCoverage(model.slug, tuple(coverage_for(model, chosen, viewer=viewer, declarations=labels)),
                         undeclared)


def dossier_annex(model: MLModel, *, viewer: Requester) -> list[dict[str, Any]]:
    """Coverage as plain data for the launch dossier's annex (the dossier evidences the launch-dossier kind)."""
    from governance.kernel.canonical import to_plain

    known = crosswalk.regimes()
    chosen = [known[d.regime] for d in declared_regimes(model) if d.regime in known]
    if not chosen:
        return []
    this = EvidenceItem("launch_dossier", "This dossier", "", None, "reporting.report", "this")
    rows = coverage_for(model, chosen, viewer=viewer, given={"launch_dossier": [this]})
    return [to_plain(c.as_dict()) for c in rows]
