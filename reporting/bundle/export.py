"""The evidence bundle: everything about one model an examiner asks for, in one zip that verifies offline.

Layout (every path below is listed in ``manifest.json`` with its sha256 and size; ``manifest.jws`` signs the
manifest's sha256 with Gatehouse's Ed25519 key, whose public half is in ``keys/jwks.json``):

- ``reports/``: the launch dossiers and incident reports, rendered now as PDF/A-3b with the data they show
  embedded as a file attachment, and the same data beside each as JSON;
- ``records/``: every record as canonical JSON (the model, versions with features, launches with their
  checklist, sign-offs, evaluations, rollout and observations, validations with findings, incidents with their
  timeline, factors, action items, postmortem and notifications, report metadata, the coverage tables);
- ``regimes/``: the crosswalk files exactly as shipped; ``evidence/``: stored evidence files (validation reports);
- ``receipts/``: signed gate receipts kept for the model's launches;
- ``audit/chain.jsonl``: the audit chain from the first event about the model to the head, each event about the
  bundle's records in full (its hash recomputable) and every other one as its sequence and hashes only, so the
  segment links without showing other models' or restricted matters; ``audit/anchors/``: the anchors that fall
  in the segment, with their RFC 3161 tokens and ``tsa/ca.pem`` when they are timestamped.

Restricted incidents go in only when the requester may see them; the manifest says how many records of each
kind were left out, never which.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Min, Model, Q
from django.db.models.fields.files import FieldFile

from governance.inventory.models import MLModel
from governance.kernel import audit, clock, visibility
from governance.kernel.anchors import read_anchors
from governance.kernel.audit import event_payload, stored_events
from governance.kernel.canonical import canonical_json, to_plain
from governance.kernel.errors import ValidationFailed
from governance.kernel.models import AuditEvent
from governance.kernel.permissions import require
from governance.kernel.principals import actor_label
from governance.kernel.signing import keyring
from governance.validation.models import Finding, Hold, RevalidationNeed, Validation
from postmortems.models import Incident
from readiness import selectors as launch_selectors
from readiness.models import LaunchRequest, Observation
from registry.models import ApprovalTag
from reporting.bundle.verify import FORMAT, MANIFEST, SIGNATURE, SIGNATURE_TYPE
from reporting.gather import gather
from reporting.models import ModelRegime, Report
from reporting.present import render
from reporting.regimes import coverage, crosswalk
from reporting.regimes.evidence import model_incidents

if TYPE_CHECKING:
    from governance.kernel.principals import Actor


@dataclass(frozen=True)
class Bundle:
    content: bytes
    filename: str
    manifest: dict[str, Any]
    # The incidents whose content the bundle carries (as a report records them): its readers must see them all.
    source_incident_ids: tuple[int, ...] = ()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def _value(value: object) -> object:
    if isinstance(value, FieldFile):
        return value.name or ""
    return value


def row(obj: Model, *, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """A record's stored columns (foreign keys by id), plus its type and id: what the audit log names it by."""
    data: dict[str, Any] = {f.attname: _value(getattr(obj, f.attname)) for f in obj._meta.concrete_fields
                            if f.attname not in exclude}
    data["_record"] = f"{obj._meta.app_label}.{obj._meta.model_name}:{obj.pk}"
    return data


class _Writer:
    """Collects the bundle's files with their digests, and the records whose audit events go in full."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.scope: dict[str, set[str]] = {}
        self.withheld: Counter[str] = Counter()
        self.sources: set[int] = set()

    def add(self, path: str, content: bytes) -> None:
        if path in self.files:
            raise ValueError(f"{path} written twice")
        self.files[path] = content

    def json(self, path: str, value: object) -> None:
        self.add(path, (canonical_json(to_plain(value)) + "\n").encode("utf-8"))

    def covers(self, *objects: Model) -> None:
        for obj in objects:
            key, pk = audit.object_key(obj)
            self.scope.setdefault(key, set()).add(pk)


def _visible(objects: list[Any], hidden: set[int], kind: str, writer: _Writer) -> list[Any]:
    """Drop records that carry a hidden incident's content, counting them under ``kind``."""
    shown = []
    for obj in objects:
        if getattr(obj, "source_incident_id", None) in hidden:
            writer.withheld[kind] += 1
        else:
            shown.append(obj)
            if getattr(obj, "source_incident_id", None) is not None:
                writer.sources.add(int(obj.source_incident_id))
    return shown


def _model_records(model: MLModel, writer: _Writer, hidden: set[int]) -> None:
    regimes = list(ModelRegime.objects.filter(model=model))
    writer.json("records/model.json", {**row(model), "regimes": [row(r) for r in regimes]})
    writer.covers(model, *regimes)
    for version in model.versions.prefetch_related("features").order_by("created_at", "pk"):
        features = list(version.features.all())
        writer.json(f"records/versions/{version.pk}.json", {**row(version), "features": [row(f) for f in features]})
        writer.covers(version, *features)
    validations = list(Validation.objects.filter(model=model).order_by("pk"))
    findings = _visible(list(Finding.objects.filter(model=model).order_by("pk")), hidden, "finding", writer)
    for validation in validations:
        writer.json(f"records/validations/{validation.pk}.json", {
            **row(validation), "findings": [row(f) for f in findings if f.validation_id == validation.pk]})
        writer.covers(validation)
        if validation.report:
            with validation.report.open("rb") as handle:
                writer.add(f"evidence/validation-{validation.pk}-{(validation.report.name or '').rsplit('/', 1)[-1]}",
                           handle.read())
    writer.covers(*findings)
    for kind, rows in (("revalidation_need", RevalidationNeed.objects.filter(model=model)),
                       ("hold", Hold.objects.filter(model=model))):
        shown = _visible(list(rows.order_by("pk")), hidden, kind, writer)
        if shown:
            writer.json(f"records/{kind}s.json", [row(r) for r in shown])
            writer.covers(*shown)


def _launch_records(model: MLModel, writer: _Writer, actor: Actor) -> list[LaunchRequest]:
    launches = list(LaunchRequest.objects.filter(version__model=model).order_by("pk"))
    for launch in launches:
        items = list(launch.items.prefetch_related("responses", "waivers").order_by("position", "pk"))
        signoffs = list(launch.signoffs.order_by("signed_at", "pk"))
        evaluations = list(launch.evaluations.order_by("created_at", "pk"))
        plan = getattr(launch, "plan", None)
        stages = list(plan.stages.order_by("position")) if plan else []
        guardrails = list(plan.guardrails.order_by("pk")) if plan else []
        record = row(launch, exclude=("rollback_reason",))
        record["rollback_reason"] = launch_selectors.rollback_reason(actor, launch)
        record.update({
            "checklist": [{**row(i), "responses": [row(r) for r in i.responses.all()],
                           "waivers": [row(w) for w in i.waivers.all()]} for i in items],
            "signoffs": [row(s) for s in signoffs], "evaluations": [row(e) for e in evaluations],
            "rollout": None if plan is None else {**row(plan), "stages": [row(s) for s in stages],
                                                  "guardrails": [row(g) for g in guardrails]},
            "tool_calls": [row(c) for c in launch.tool_calls.order_by("pk")],
        })
        writer.json(f"records/launches/{launch.pk}.json", record)
        writer.covers(launch, *items, *signoffs, *evaluations, *stages, *guardrails, *([plan] if plan else []))
        observations = Observation.objects.filter(launch=launch).order_by("observed_at", "pk")
        lines = [canonical_json(to_plain(row(o))) for o in observations.iterator(chunk_size=2000)]
        if lines:
            writer.add(f"records/launches/{launch.pk}-observations.jsonl", ("\n".join(lines) + "\n").encode())
    for tag in ApprovalTag.objects.filter(launch__in=launches).order_by("pk"):
        writer.add(f"receipts/{tag.receipt_id}.jws", tag.receipt.strip().encode() + b"\n")
    return launches


def _incident_records(model: MLModel, writer: _Writer, actor: Actor) -> list[Incident]:
    visible = list(model_incidents(model, actor).order_by("pk"))
    everyone = model_incidents(model, coverage._SYSTEM).count()
    if everyone > len(visible):
        writer.withheld["incident"] += everyone - len(visible)
    writer.sources.update(int(i.pk) for i in visible)
    for incident in visible:
        children = {name: list(getattr(incident, name).order_by("pk")) for name in (
            "timeline", "factors", "action_items", "notifications", "impact_counts", "remediations")}
        postmortem = getattr(incident, "postmortem", None)
        writer.json(f"records/incidents/{incident.pk}.json", {
            **row(incident), "models": sorted(incident.models.values_list("slug", flat=True)),
            **{name: [row(r) for r in rows] for name, rows in children.items()},
            "postmortem": None if postmortem is None else row(postmortem)})
        writer.covers(incident, *(r for rows in children.values() for r in rows), *([postmortem] if postmortem else []))
    return visible


def _reports(writer: _Writer, actor: Actor, launches: list[LaunchRequest], incidents: list[Incident],
             file: coverage.ModelCoverage) -> None:
    """Each launch's dossier and each incident's report, rendered now for the requester as PDF/A-3b with the
    data it shows embedded, and that data beside it; then the metadata of the reports Gatehouse already keeps."""
    subjects: list[tuple[str, int | None, int | None, str]] = [
        ("LAUNCH_DOSSIER", launch.pk, None, f"launch-dossier-{launch.pk}") for launch in launches]
    subjects += [("INCIDENT_REPORT", None, i.pk, f"incident-report-{i.pk}") for i in incidents]
    for kind, launch_id, incident_id, name in subjects:
        data = gather(kind, viewer=actor, launch_id=launch_id, incident_id=incident_id)
        source = (canonical_json(to_plain(data)) + "\n").encode("utf-8")
        result, digest = render(data, requested_by=actor_label(actor), archival=True,
                                attachments=[(f"{name}.json", source, "The data this report shows (canonical JSON)")])
        writer.add(f"reports/{name}.pdf", result.content)
        writer.add(f"reports/{name}.json", source)
    kept = Report.objects.filter(Q(launch__in=launches) | Q(incident__in=incidents)).order_by("pk")
    hidden = visibility.hidden_incident_ids(actor)
    for report in kept:
        if {int(i) for i in report.source_incident_ids or ()} & hidden:
            writer.withheld["report"] += 1
            continue
        writer.json(f"records/reports/{report.pk}.json", row(report))
        writer.sources.update(int(i) for i in report.source_incident_ids or ())
        writer.covers(report)
    writer.json("records/coverage.json", file.as_dict())


def _audit_segment(writer: _Writer, actor: Actor) -> dict[str, Any]:
    """The chain from the first event about the bundle's records to the head. Events about the records go in
    full; any other event (another model's, or one whose source incident the requester may not see) as its
    sequence and hashes, which keep the chain linked without showing it."""
    wanted = Q(pk__in=[])
    for object_type, ids in writer.scope.items():
        wanted |= Q(object_type=object_type, object_id__in=sorted(ids))
    first = AuditEvent.objects.filter(wanted).aggregate(first=Min("seq"))["first"]
    hidden_events = set(visibility.hidden_incidents(actor).values_list("pk", flat=True))
    hidden_seqs: set[int] = set()
    if hidden_events and first is not None:
        hidden_seqs = set(AuditEvent.objects.filter(seq__gte=first, source__incident_id__in=hidden_events)
                          .values_list("seq", flat=True))
    lines: list[str] = []
    full = last = 0
    head_hash = ""
    for event in stored_events() if first is not None else ():
        if event.seq < first:
            continue
        in_scope = event.object_id in writer.scope.get(event.object_type, ())
        entry: dict[str, Any] = {"seq": event.seq, "prev_hash": event.prev_hash, "hash": event.hash}
        if in_scope and event.seq in hidden_seqs:
            writer.withheld["audit_event"] += 1
        elif in_scope:
            entry["event"] = to_plain(event_payload(event))
            full += 1
        lines.append(canonical_json(entry))
        last, head_hash = event.seq, event.hash
    writer.add("audit/chain.jsonl", ("\n".join(lines) + "\n").encode() if lines else b"")
    anchors, _unreadable = read_anchors()
    included = []
    for anchor in sorted(anchors, key=lambda a: a.seq):
        if first is None or not (first <= anchor.seq <= last) or anchor.data_path is None:
            continue
        writer.add(f"audit/anchors/{anchor.source}", anchor.data_path.read_bytes())
        if anchor.token_path is not None:
            writer.add(f"audit/anchors/{anchor.token_path.name}", anchor.token_path.read_bytes())
        included.append(anchor.source)
    timestamped = any(name.endswith(".tsr") for name in writer.files if name.startswith("audit/anchors/"))
    if timestamped and settings.AUDIT_TSA_CA_FILE:
        with open(settings.AUDIT_TSA_CA_FILE, "rb") as handle:  # the configured trust anchor, read as configured
            writer.add("tsa/ca.pem", handle.read())
    return {"first_seq": first, "last_seq": last or None, "head_hash": head_hash or None, "events_in_full": full,
            "anchors": included, "timestamped": timestamped}


def build_bundle(model: MLModel, *, actor: Actor, regime: str | None = None) -> Bundle:
    """Gather, render and sign the bundle for ``model`` as ``actor`` may see it (``regime``: one regime's
    coverage instead of every declared one's)."""
    if regime is not None and crosswalk.regime(regime) is None:
        raise ValidationFailed(f"Unknown regime {regime[:60]!r}; use one of {', '.join(sorted(crosswalk.regimes()))}.",
                               field="regime", code="unknown_regime")
    writer = _Writer()
    hidden = visibility.hidden_incident_ids(actor)
    file = coverage.model_coverage(model, viewer=actor, regime=regime)
    _model_records(model, writer, hidden)
    launches = _launch_records(model, writer, actor)
    incidents = _incident_records(model, writer, actor)
    _reports(writer, actor, launches, incidents, file)
    for c in file.regimes:
        writer.add(f"regimes/{c.regime.name}.json", crosswalk.crosswalk_document(c.regime.name))
    ring = keyring()
    writer.json("keys/jwks.json", ring.jwks())
    chain = _audit_segment(writer, actor)
    generated_at: datetime = clock.now()
    manifest = {
        "format": FORMAT, "model": model.slug, "regimes": [c.regime.name for c in file.regimes],
        "generated_at": generated_at, "requested_by": actor_label(actor), "signing_key": ring.signing_kid,
        "reports": "PDF/A-3b, the data each shows embedded as an attachment and beside it as JSON",
        "audit": chain, "withheld": dict(sorted(writer.withheld.items())),
        "files": [{"path": path, "sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
                  for path, content in sorted(writer.files.items())],
    }
    manifest_bytes = (canonical_json(to_plain(manifest)) + "\n").encode("utf-8")
    signature = ring.sign({"format": FORMAT, "model": model.slug, "generated_at": generated_at,
                           "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest()}, typ=SIGNATURE_TYPE)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, manifest_bytes)
        archive.writestr(SIGNATURE, signature + "\n")
        for path, content in sorted(writer.files.items()):
            archive.writestr(path, content)
    name = f"evidence-{model.slug}-{generated_at:%Y%m%dT%H%M%SZ}.zip"
    return Bundle(buffer.getvalue(), name, json.loads(manifest_bytes), tuple(sorted(writer.sources)))


def export_evidence_bundle(model: MLModel, *, actor: Actor, regime: str | None = None) -> Bundle:
    """Build the bundle for someone who answers examiners (Compliance, Legal, Model Risk), and record that it was
    made, with its digest and what it left out."""
    require(actor, "evidence.export", model,
            message="Only Compliance, Legal or Model Risk export a model's evidence bundle.")
    bundle = build_bundle(model, actor=actor, regime=regime)
    with transaction.atomic():
        audit.record("model.evidence_bundle_exported", model, actor=actor, after={
            "sha256": bundle.sha256, "regime": regime, "files": len(bundle.manifest["files"]),
            "withheld": bundle.manifest["withheld"], "audit_head": bundle.manifest["audit"]["last_seq"]})
    return bundle


__all__ = ["Bundle", "build_bundle", "export_evidence_bundle", "row"]
