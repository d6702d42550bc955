"""The kinds of record that can evidence a requirement, and how each is found for one model.

A kind is computed from real records, never typed: a validation counts only once it is completed, a model card
only when a version has one, a monitoring plan only when a launch has guardrails. Each kind is one query for the
model, whatever the number of requirements naming it, so a coverage table costs a fixed number of queries.
Incidents and their records are read through the reader's visibility: a restricted incident the reader may not
see evidences nothing for them (and is counted, never named, where a file must say something was left out).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Exists, OuterRef, Q
from django.urls import reverse

from governance.inventory.models import Feature, FeatureSource, MLModel, ModelVersion, RiskTier
from governance.kernel import visibility
from governance.kernel.models import AuditEvent
from governance.policies.models import TierPolicyVersion
from governance.validation.models import Validation, ValidationStatus
from postmortems import selectors as incident_selectors
from postmortems.models import Incident, Postmortem, PostmortemStatus, RegulatoryNotification
from readiness.models import Evaluation, Guardrail, LaunchRequest, Observation, SignOff
from reporting.models import Report, ReportKind, ReportStatus

if TYPE_CHECKING:
    from governance.kernel.principals import Requester


@dataclass(frozen=True)
class EvidenceItem:
    """One record that evidences a requirement: what it is, where to see it, and its identity for the bundle."""

    kind: str
    label: str
    url: str
    at: datetime | None
    object_type: str
    object_id: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "label": self.label, "url": self.url, "at": self.at,
                "record": f"{self.object_type}:{self.object_id}"}


@dataclass(frozen=True)
class EvidenceKind:
    name: str
    label: str
    find: Callable[[MLModel, Requester], list[EvidenceItem]]


def _model_url(model: MLModel, anchor: str = "") -> str:
    return reverse("governance:model_detail", args=[model.slug]) + (f"#{anchor}" if anchor else "")


def _launch_url(launch_id: int, anchor: str = "") -> str:
    return reverse("readiness:launch_detail", args=[launch_id]) + (f"#{anchor}" if anchor else "")


def model_launches(model: MLModel) -> Any:
    return LaunchRequest.objects.filter(version__model=model)


def model_incidents(model: MLModel, viewer: Requester) -> Any:
    """The incidents about ``model`` that ``viewer`` may see (bound to it or to one of its launches)."""
    bound = Q(models=model) | Q(launch__version__model=model)
    ids = Incident.objects.filter(bound).values("pk")
    return incident_selectors.visible_incidents(viewer).filter(pk__in=ids)


def _inventory_entry(model: MLModel, viewer: Requester) -> list[EvidenceItem]:
    if not model.owner_id or not model.business_use or not model.risk_tier:
        return []
    return [EvidenceItem("inventory_entry", f"Inventory entry {model.slug} ({model.get_risk_tier_display()})",
                         _model_url(model), model.created_at, "governance.mlmodel", str(model.pk))]


def _model_card(model: MLModel, viewer: Requester) -> list[EvidenceItem]:
    versions = ModelVersion.objects.filter(model=model).exclude(model_card="").only("pk", "version", "created_at")
    return [EvidenceItem("model_card", f"Model card of version {v.version}", _model_url(model, f"v-{v.version}"),
                         v.created_at, "governance.modelversion", str(v.pk)) for v in versions]


def _model_risk_documentation(model: MLModel, viewer: Requester) -> list[EvidenceItem]:
    versions = (ModelVersion.objects.filter(model=model).exclude(intended_use="").exclude(methodology="")
                .exclude(limitations="").only("pk", "version", "created_at"))
    return [EvidenceItem("model_risk_documentation", f"Intended use, methodology and limitations of {v.version}",
                         _model_url(model, f"v-{v.version}"), v.created_at, "governance.modelversion", str(v.pk))
            for v in versions]


def _feature_provenance(model: MLModel, viewer: Requester) -> list[EvidenceItem]:
    """A version whose features are recorded and whose third-party features all carry their three controls."""
    lacking = Feature.objects.filter(version=OuterRef("pk"), source=FeatureSource.THIRD_PARTY).filter(
        Q(proxy_risk_status__in=("NOT_ASSESSED", "IN_PROGRESS", "ASSESSED_REJECTED")) | Q(vendor_sla_ref="")
        | Q(drift_monitor_ref=""))
    versions = (ModelVersion.objects.filter(model=model).annotate(n=Count("features"))
                .filter(n__gt=0).exclude(Exists(lacking)).only("pk", "version", "created_at"))
    return [EvidenceItem("feature_provenance", f"Provenance of the {v.n} features of {v.version}",
                         _model_url(model, f"v-{v.version}"), v.created_at, "governance.modelversion", str(v.pk))
            for v in versions]


def _evaluation(model: MLModel, viewer: Requester) -> list[EvidenceItem]:
    rows = Evaluation.objects.filter(launch__version__model=model).only("pk", "launch_id", "kind", "created_at")
    return [EvidenceItem("evaluation", f"Evaluation #{e.pk} of launch #{e.launch_id}",
                         _launch_url(e.launch_id, "evaluations"), e.created_at, "readiness.evaluation", str(e.pk))
            for e in rows]


def _fairness_evaluation(model: MLModel, viewer: Requester) -> list[EvidenceItem]:
    """Fairness measured: computed from predictions by group, or submitted fairness metrics."""
    rows = (Evaluation.objects.filter(launch__version__model=model)
            .filter(Q(kind=Evaluation.Kind.PREDICTIONS) | Q(metrics__has_any_keys=["fairness.air.ci_low", "fairness.air"]))
            .only("pk", "launch_id", "created_at"))
    return [EvidenceItem("fairness_evaluation", f"Fairness figures of evaluation #{e.pk} (launch #{e.launch_id})",
                         _launch_url(e.launch_id, "evaluations"), e.created_at, "readiness.evaluation", str(e.pk))
            for e in rows]


def _validation(model: MLModel, viewer: Requester) -> list[EvidenceItem]:
    rows = Validation.objects.filter(model=model, status=ValidationStatus.COMPLETED).only(
        "pk", "outcome", "completed_at")
    return [EvidenceItem("validation", f"Validation #{v.pk}: {v.get_outcome_display() or 'completed'}",
                         _model_url(model, "validation"), v.completed_at, "governance.validation", str(v.pk))
            for v in rows]


def _launch_signoff(model: MLModel, viewer: Requester) -> list[EvidenceItem]:
    rows = (SignOff.objects.filter(launch__version__model=model, stale=False)
            .only("pk", "launch_id", "role", "decision", "signed_at"))
    return [EvidenceItem("launch_signoff", f"{s.get_role_display()} {s.get_decision_display().lower()} "
                         f"launch #{s.launch_id}", _launch_url(s.launch_id, "signoffs"), s.signed_at,
                         "readiness.signoff", str(s.pk)) for s in rows]


def _rollout_guardrail(model: MLModel, viewer: Requester) -> list[EvidenceItem]:
    rows = (Guardrail.objects.filter(plan__launch__version__model=model)
            .values("plan__launch_id").annotate(n=Count("pk")).order_by("plan__launch_id"))
    return [EvidenceItem("rollout_guardrail", f"{row['n']} guardrails of launch #{row['plan__launch_id']}",
                         _launch_url(row["plan__launch_id"], "rollout"), None, "readiness.launchrequest",
                         str(row["plan__launch_id"])) for row in rows]


def _observation(model: MLModel, viewer: Requester) -> list[EvidenceItem]:
    from django.db.models import Max

    rows = (Observation.objects.filter(launch__version__model=model).values("launch_id")
            .annotate(n=Count("pk"), last=Max("observed_at")).order_by("launch_id"))
    return [EvidenceItem("observation", f"{row['n']} production observations of launch #{row['launch_id']}",
                         _launch_url(row["launch_id"], "rollout"), row["last"], "readiness.launchrequest",
                         str(row["launch_id"])) for row in rows]


def _tier_policy(model: MLModel, viewer: Requester) -> list[EvidenceItem]:
    rows = (TierPolicyVersion.objects.filter(launches__version__model=model).distinct()
            .select_related("policy").only("pk", "number", "created_at", "policy__tier"))
    return [EvidenceItem("tier_policy", f"{RiskTier(p.policy.tier).label} policy version {p.number}",
                         reverse("governance:policy_detail", args=[p.policy.tier]), p.created_at,
                         "governance.tierpolicyversion", str(p.pk)) for p in rows]


def _audit_trail(model: MLModel, viewer: Requester) -> list[EvidenceItem]:
    first = (AuditEvent.objects.filter(object_type="governance.mlmodel", object_id=str(model.pk))
             .order_by("seq").only("seq", "created_at").first())
    if first is None:
        return []
    return [EvidenceItem("audit_trail", f"Hash-chained audit log from event #{first.seq}", _model_url(model),
                         first.created_at, "governance.auditevent", str(first.seq))]


def _launch_dossier(model: MLModel, viewer: Requester) -> list[EvidenceItem]:
    """Rendered dossiers of the model's launches, only those none of whose source incidents is hidden from the
    reader (the kernel's one visibility rule, as reporting.gather applies it to every report)."""
    hidden = visibility.hidden_incident_ids(viewer)
    rows = (Report.objects.filter(kind=ReportKind.LAUNCH_DOSSIER, status=ReportStatus.DONE,
                                  launch__version__model=model)
            .only("pk", "title", "finished_at", "source_incident_ids").order_by("pk"))
    return [EvidenceItem("launch_dossier", r.title, reverse("reporting:report_download", args=[r.pk]),
                         r.finished_at, "reporting.report", str(r.pk)) for r in rows
            if not {int(i) for i in r.source_incident_ids or ()} & hidden]


def _incident_record(model: MLModel, viewer: Requester) -> list[EvidenceItem]:
    rows = model_incidents(model, viewer).only("pk", "title", "severity", "detected_at")
    return [EvidenceItem("incident_record", f"Incident #{i.pk} ({i.severity}): {i.title}", i.get_absolute_url(),
                         i.detected_at, "postmortems.incident", str(i.pk)) for i in rows]


def _postmortem(model: MLModel, viewer: Requester) -> list[EvidenceItem]:
    rows = Postmortem.objects.filter(incident__in=model_incidents(model, viewer),
                                     status=PostmortemStatus.PUBLISHED).only("pk", "incident_id", "published_at")
    return [EvidenceItem("postmortem", f"Published postmortem of incident #{p.incident_id}", p.get_absolute_url(),
                         p.published_at, "postmortems.postmortem", str(p.pk)) for p in rows]


def _regulatory_notification(model: MLModel, viewer: Requester) -> list[EvidenceItem]:
    rows = RegulatoryNotification.objects.filter(incident__in=model_incidents(model, viewer)).only(
        "pk", "incident_id", "recipient", "sent_at", "due_at")
    return [EvidenceItem("regulatory_notification", f"Notification to {n.recipient} (incident #{n.incident_id})"
                         + ("" if n.sent_at else ", not sent yet"),
                         reverse("postmortems:incident_detail", args=[n.incident_id]), n.sent_at or n.due_at,
                         "postmortems.regulatorynotification", str(n.pk)) for n in rows]


def _none_recorded_yet(model: MLModel, viewer: Requester) -> list[EvidenceItem]:
    """A kind Gatehouse names in its crosswalks but records nowhere yet: always missing, so it is honest."""
    return []


KINDS: dict[str, EvidenceKind] = {kind.name: kind for kind in (
    EvidenceKind("inventory_entry", "Inventory entry with owner, use and tier", _inventory_entry),
    EvidenceKind("model_card", "Model card", _model_card),
    EvidenceKind("model_risk_documentation", "Intended use, methodology and limitations", _model_risk_documentation),
    EvidenceKind("feature_provenance", "Feature provenance with third-party controls", _feature_provenance),
    EvidenceKind("evaluation", "Evaluation", _evaluation),
    EvidenceKind("fairness_evaluation", "Fairness evaluation", _fairness_evaluation),
    EvidenceKind("validation", "Completed independent validation", _validation),
    EvidenceKind("launch_signoff", "Current launch sign-off", _launch_signoff),
    EvidenceKind("rollout_guardrail", "Rollout guardrails (monitoring plan)", _rollout_guardrail),
    EvidenceKind("observation", "Production observations", _observation),
    EvidenceKind("tier_policy", "Tier policy version applied", _tier_policy),
    EvidenceKind("audit_trail", "Hash-chained audit trail", _audit_trail),
    EvidenceKind("launch_dossier", "Launch dossier (PDF)", _launch_dossier),
    EvidenceKind("incident_record", "Incident record", _incident_record),
    EvidenceKind("postmortem", "Published postmortem", _postmortem),
    EvidenceKind("regulatory_notification", "Regulatory notification", _regulatory_notification),
    EvidenceKind("adverse_action_reason_map", "Adverse-action reason-code map", _none_recorded_yet),
    EvidenceKind("fundamental_rights_assessment", "Fundamental rights impact assessment", _none_recorded_yet),
    EvidenceKind("lda_search", "Less-discriminatory-alternative search", _none_recorded_yet),
)}
