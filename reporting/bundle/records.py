"""Stored evidence bundles: asked for on a page or over the API, built by a worker, kept in ``STORAGES`` and streamed
to readers whose view is the requester's.

A bundle is gathered with its requester's eyes (reporting.bundle.export), so it is the requester's file: it goes to
another reader only when they would have been given the same file. Reports follow the same "rendered for one
reader" rule through the incidents whose content they carry (``source_incident_ids``, checked when read); a bundle
also counts what it left out, so it records which of the restricted incidents it could have carried its requester
saw (``view_fingerprint``), and a reader who sees a different set is refused with ``bundle_view_differs``.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from celery import current_app
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from governance.inventory.models import MLModel
from governance.kernel import audit, visibility
from governance.kernel.canonical import canonical_json, sha256_hex
from governance.kernel.errors import NotFound, PermissionDenied, ValidationFailed
from governance.kernel.models import User
from governance.kernel.permissions import can, require
from governance.kernel.principals import SystemActor
from governance.validation.models import Finding, Hold, RevalidationNeed
from postmortems.models import Incident
from reporting.bundle.export import build_bundle
from reporting.common import STALE_AFTER
from reporting.models import PENDING_BUNDLE_STATUSES, BundleStatus, EvidenceBundle
from reporting.regimes import crosswalk

if TYPE_CHECKING:
    from governance.kernel.principals import Actor, Requester

log = logging.getLogger(__name__)
SYSTEM = SystemActor("evidence-bundles")
BUILD_TASK = "reporting.tasks.build_evidence_bundle"
VIEW_DIFFERS = "bundle_view_differs"


# -- the requester's view ----------------------------------------------------------------------------------------

def restricted_in_reach(model: MLModel) -> list[int]:
    """The restricted incidents a bundle of ``model`` could carry: those about the model or one of its launches, and
    those that are the source of its findings, holds and revalidation needs."""
    sources: set[int] = set()
    for rows in (Finding.objects.filter(model=model), Hold.objects.filter(model=model),
                 RevalidationNeed.objects.filter(model=model)):
        sources.update(int(i) for i in rows.exclude(source_incident_id=None)
                       .values_list("source_incident_id", flat=True) if i is not None)
    bound = Q(models=model) | Q(launch__version__model=model) | Q(pk__in=sorted(sources))
    return sorted(set(Incident.objects.filter(bound, restricted=True).values_list("pk", flat=True)))


def view_fingerprint(model_id: int, seen: set[int] | list[int]) -> str:
    """sha256 over the model and which of its restricted incidents in reach a reader sees."""
    return sha256_hex(canonical_json({"model": model_id, "sees": sorted(int(i) for i in seen)}))


def _fingerprint_of(reader: Requester, model_id: int, in_reach: list[int], hidden: set[int]) -> str:
    if isinstance(reader, SystemActor):
        return view_fingerprint(model_id, in_reach)
    return view_fingerprint(model_id, [i for i in in_reach if i not in hidden])


def _view(actor: Requester, model: MLModel) -> tuple[list[int], str]:
    in_reach = restricted_in_reach(model)
    return in_reach, _fingerprint_of(actor, model.pk, in_reach, visibility.hidden_incident_ids(actor))


def same_view(reader: Requester, bundle: EvidenceBundle, hidden: set[int]) -> bool:
    """Whether ``reader`` (whose hidden incidents are ``hidden``) would have been given this very file: they see
    every incident it carries, and the same of the restricted incidents it could have carried."""
    ids = [int(i) for i in bundle.view_incident_ids or ()]
    if any(int(i) in hidden for i in bundle.source_incident_ids or ()):
        return False
    return _fingerprint_of(reader, bundle.model_id, ids, hidden) == bundle.view_fingerprint


# -- requests ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BundleRequest:
    bundle: EvidenceBundle
    created: bool  # False: an identical request was already queued or building, and this is its bundle


def _pending(key: str) -> EvidenceBundle | None:
    return EvidenceBundle.objects.filter(dedupe_key=key, status__in=PENDING_BUNDLE_STATUSES).first()


def request_bundle(model: MLModel, *, actor: Actor, regime: str | None = None, enqueue: bool = True
                   ) -> BundleRequest:
    """Ask for ``model``'s evidence bundle as ``actor`` may see it; a worker builds it after commit. Compliance,
    Legal or Model Risk only, as for the export. While an identical request (same model, regime and view) is queued
    or building, its bundle is the answer: a double click or a retried call builds one file."""
    require(actor, "evidence.export", model,
            message="Only Compliance, Legal or Model Risk export a model's evidence bundle.")
    if not isinstance(actor, User):
        raise PermissionDenied("A stored bundle is asked for by a person; Gatehouse itself exports with the "
                               "export_evidence_bundle command.", code="person_required")
    regime = regime or None
    if regime is not None and crosswalk.regime(regime) is None:
        raise ValidationFailed(f"Unknown regime {regime[:60]!r}; use one of {', '.join(sorted(crosswalk.regimes()))}.",
                               field="regime", code="unknown_regime")
    in_reach, fingerprint = _view(actor, model)
    key = sha256_hex(canonical_json({"model": model.pk, "regime": regime or "", "view": fingerprint}))
    try:
        with transaction.atomic():
            MLModel.objects.select_for_update().filter(pk=model.pk).first()  # one request per model at a time
            existing = _pending(key)
            if existing is not None:
                return BundleRequest(existing, created=False)
            bundle = EvidenceBundle.objects.create(
                model=model, regime=regime or "", requested_by=actor, view_fingerprint=fingerprint,
                view_incident_ids=in_reach, dedupe_key=key)
            audit.record("evidence_bundle.requested", bundle, actor=actor,
                         after={"model": model.slug, "regime": regime})
    except IntegrityError:
        # The model lock makes this rare; the constraint is the last word on "one pending bundle per view".
        existing = _pending(key)
        if existing is None:
            raise
        return BundleRequest(existing, created=False)
    if enqueue:
        # robust: a broker outage must not fail the request; the bundle stays QUEUED and can be asked for again.
        transaction.on_commit(functools.partial(dispatch_build, bundle.pk), robust=True)
    return BundleRequest(bundle, created=True)


def dispatch_build(bundle_id: int) -> None:
    """Hand a queued bundle to a worker; with no broker (the embedded default) in a thread after the response, as
    reports are."""
    from django.conf import settings

    task = current_app.tasks[BUILD_TASK]  # looked up by name: the task module calls this one
    if settings.CELERY_TASK_ALWAYS_EAGER and settings.REPORTS_RENDER_AFTER_RESPONSE:
        threading.Thread(target=_build_in_this_thread, args=(task, bundle_id), name=f"bundle-{bundle_id}",
                         daemon=True).start()
    else:
        task.delay(bundle_id)


def _build_in_this_thread(task: Any, bundle_id: int) -> None:
    from django.db import connections

    try:
        task.apply(args=(bundle_id,))
    except Exception:  # the task records the failure on the bundle
        log.exception("bundle %s: building after the response failed", bundle_id)
    finally:
        connections.close_all()


# -- building ------------------------------------------------------------------------------------------------------

def build_stored_bundle(bundle_id: int) -> EvidenceBundle:
    """Build a queued bundle with its requester's eyes and keep the file in ``STORAGES`` with its sha256 and size.

    Idempotent: a ready or failed bundle is left as it is (a redelivered message changes nothing); a bundle left
    BUILDING by a worker that died is built again, and only a result for a bundle still BUILDING is kept."""
    with transaction.atomic():
        bundle = EvidenceBundle.objects.select_for_update().select_related("model", "requested_by") \
            .filter(pk=bundle_id).first()
        if bundle is None:
            raise NotFound(f"No evidence bundle #{bundle_id}.", code="bundle_not_found")
        if bundle.status in (BundleStatus.READY, BundleStatus.FAILED):
            return bundle
        bundle.status, bundle.started_at, bundle.attempts = BundleStatus.BUILDING, timezone.now(), bundle.attempts + 1
        bundle.save(update_fields=["status", "started_at", "attempts"])
        audit.record("evidence_bundle.started", bundle, actor=SYSTEM, after={"attempt": bundle.attempts})
    requester = bundle.requested_by
    require(requester, "evidence.export", bundle.model,
            message="Whoever asked for this bundle may no longer export the model's evidence.")
    # The view as it is now, when the file is made: the record describes the file it holds.
    in_reach, fingerprint = _view(requester, bundle.model)
    built = build_bundle(bundle.model, actor=requester, regime=bundle.regime or None)
    with transaction.atomic():
        bundle = EvidenceBundle.objects.select_for_update().get(pk=bundle_id)
        if bundle.status != BundleStatus.BUILDING:
            return bundle
        bundle.file.save(built.filename, ContentFile(built.content), save=False)
        bundle.filename, bundle.sha256, bundle.size = built.filename, built.sha256, len(built.content)
        bundle.view_incident_ids, bundle.view_fingerprint = in_reach, fingerprint
        bundle.source_incident_ids = list(built.source_incident_ids)
        bundle.status, bundle.error, bundle.finished_at = BundleStatus.READY, "", timezone.now()
        bundle.save()
        audit.record("evidence_bundle.built", bundle, actor=SYSTEM, after={
            "sha256": bundle.sha256, "size": bundle.size, "files": len(built.manifest["files"]),
            "withheld": built.manifest["withheld"], "audit_head": built.manifest["audit"]["last_seq"]})
    return bundle


def record_bundle_failure(bundle_id: int, *, error: str, final: bool) -> EvidenceBundle | None:
    """An attempt failed: back to QUEUED for the retry, or FAILED (with the error) when no retry is left."""
    with transaction.atomic():
        bundle = EvidenceBundle.objects.select_for_update().filter(pk=bundle_id).first()
        if bundle is None or bundle.status in (BundleStatus.READY, BundleStatus.FAILED):
            return bundle
        bundle.status = BundleStatus.FAILED if final else BundleStatus.QUEUED
        bundle.error, bundle.finished_at = error[:2000], timezone.now() if final else None
        bundle.save(update_fields=["status", "error", "finished_at"])
        audit.record("evidence_bundle.failed" if final else "evidence_bundle.attempt_failed", bundle, actor=SYSTEM,
                     after={"error": bundle.error, "attempt": bundle.attempts})
    return bundle


def requeue_stale_bundles(*, older_than: timedelta = STALE_AFTER, now: datetime | None = None) -> int:
    """Hand again to a worker the bundles whose message was lost (QUEUED for ``older_than``) or whose worker died
    (BUILDING since longer than that); without it a lost bundle would also answer every identical request. A second
    delivery of a bundle still building is harmless: only the first finished file is kept."""
    cutoff = (now or timezone.now()) - older_than
    stale = (Q(status=BundleStatus.QUEUED, requested_at__lt=cutoff) & (Q(started_at__isnull=True)
                                                                       | Q(started_at__lt=cutoff))) | \
        Q(status=BundleStatus.BUILDING, started_at__lt=cutoff)
    count = 0
    for pk in EvidenceBundle.objects.filter(stale).values_list("pk", flat=True):
        with transaction.atomic():
            bundle = EvidenceBundle.objects.select_for_update().get(pk=pk)
            if not bundle.is_pending:
                continue
            was = bundle.status
            bundle.status, bundle.started_at = BundleStatus.QUEUED, timezone.now()
            bundle.error = "Building stopped without finishing; queued again."
            bundle.save(update_fields=["status", "started_at", "error"])
            audit.record("evidence_bundle.requeued", bundle, actor=SYSTEM, before={"status": was})
            transaction.on_commit(functools.partial(dispatch_build, pk), robust=True)
        count += 1
    return count


# -- reading -------------------------------------------------------------------------------------------------------

def readable_bundle(reader: Requester, bundle_id: int) -> EvidenceBundle:
    """The bundle for a reader who may export the model's evidence and whose view is its requester's. Anyone else
    is told nothing about it (404); an exporter with another view is refused with ``bundle_view_differs``."""
    bundle = EvidenceBundle.objects.select_related("model", "requested_by").filter(pk=bundle_id).first()
    if bundle is None or not can(reader, "evidence.export", bundle.model):
        raise NotFound("No such evidence bundle.", code="bundle_not_found")
    if not same_view(reader, bundle, visibility.hidden_incident_ids(reader)):
        raise PermissionDenied("This bundle was built for a reader who sees different restricted matters than you "
                               "do; ask for the model's bundle yourself.", code=VIEW_DIFFERS)
    return bundle


def model_bundles(model: MLModel, reader: Requester, *, limit: int = 20) -> list[EvidenceBundle]:
    """The model's newest bundles that ``reader`` would be handed, in a fixed number of queries."""
    if not can(reader, "evidence.export", model):
        return []
    hidden = visibility.hidden_incident_ids(reader)
    rows = EvidenceBundle.objects.filter(model=model).select_related("requested_by")[:limit]
    return [b for b in rows if same_view(reader, b, hidden)]


__all__ = ["BundleRequest", "build_stored_bundle", "model_bundles", "readable_bundle", "record_bundle_failure",
           "request_bundle", "requeue_stale_bundles", "restricted_in_reach", "same_view", "view_fingerprint"]
