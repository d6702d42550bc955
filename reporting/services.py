"""Report requests: permission, deduplication, generation and recovery after a lost worker."""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from celery import current_app
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from governance.kernel import audit
from governance.kernel.canonical import canonical_json, content_hash, sha256_hex
from governance.kernel.errors import NotFound, ValidationFailed
from governance.kernel.permissions import can, require
from governance.kernel.principals import SystemActor, TokenPrincipal, actor_label, actor_user
from postmortems import selectors as incident_selectors
from postmortems.models import Incident
from readiness.models import LaunchRequest
from reporting.common import (
    HEARTBEAT_EVERY,
    HEARTBEAT_LOST,
    STALE_AFTER,
)
from reporting.gather import _viewer, gather
from reporting.models import LIVE_STATUSES, Report, ReportKind, ReportStatus
from reporting.periods import pack_params
from reporting.present import render, report_title

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from governance.kernel.principals import Actor

SYSTEM = SystemActor("reports")


def _subject(actor: Actor, kind: str, subject_id: int | str | None, params: object
             ) -> tuple[LaunchRequest | None, Incident | None, dict[str, Any]]:
    """Check the subject and parameters of a request; every refusal names the field at fault."""
    if kind not in ReportKind.values:
        raise ValidationFailed(f"Unknown report kind {str(kind)[:40]!r}; use one of {', '.join(ReportKind.values)}.",
                               field="kind", code="unknown_kind")
    if kind == ReportKind.GOVERNANCE_PACK:
        if subject_id not in (None, ""):
            raise ValidationFailed("A governance pack covers a period, not a subject; leave the subject empty.",
                                   field="subject")
        return None, None, pack_params(params)
    if params:
        raise ValidationFailed(f"A {ReportKind(kind).label.lower()} takes no parameters.", field="params")
    if subject_id in (None, ""):
        what = "launch" if kind == ReportKind.LAUNCH_DOSSIER else "incident"
        raise ValidationFailed(f"Give the number of the {what} the report is about.", field="subject")
    try:
        subject_id = int(subject_id)
    except (TypeError, ValueError):
        raise ValidationFailed("The subject is a launch or incident number.", field="subject") from None
    if kind == ReportKind.LAUNCH_DOSSIER:
        launch = LaunchRequest.objects.select_related("version").filter(pk=subject_id).first()
        if launch is None or not can(actor, "launch.view", launch):
            raise NotFound(f"No launch #{subject_id} that you may see.", field="subject", code="subject_not_found")
        return launch, None, {}
    incident = incident_selectors.visible_incidents(actor).filter(pk=subject_id).first()
    if incident is None:
        # The same answer whether it does not exist or is restricted: its existence must not leak.
        raise NotFound(f"No incident #{subject_id} that you may see.", field="subject", code="subject_not_found")
    return None, incident, {}


def _archival(params: object) -> tuple[object, bool]:
    """Split the archival option (PDF/A-3b instead of the default tagged PDF/UA-1) off the kind's own parameters."""
    if not isinstance(params, dict) or "archival" not in params:
        return params, False
    params = dict(params)
    archival = params.pop("archival")
    if not isinstance(archival, bool):
        raise ValidationFailed("archival is true (PDF/A-3b, for records kept for years) or false.",
                               field="params.archival")
    return params or None, archival


def document_version(report: Report) -> int:
    """The n-th report of its kind on its subject (for a pack: on its period): the version in the document's
    identifier."""
    same = Report.objects.filter(kind=report.kind, launch_id=report.launch_id, incident_id=report.incident_id,  # type: ignore[misc]  # None matches reports without one (IS NULL)
                                 pk__lte=report.pk)
    if report.kind == ReportKind.GOVERNANCE_PACK:
        same = same.filter(params__start=report.params.get("start"), params__end=report.params.get("end"))
    return same.count()


def _file_present(report: Report) -> bool:
    return bool(report.file) and report.file.storage.exists(report.file.name or "")


def _existing(key: str) -> Report | None:
    """The live report for an identical request, if any. A finished one whose file has vanished is marked failed
    so that a new one can be made."""
    report = Report.objects.filter(dedupe_key=key, status__in=LIVE_STATUSES).first()
    if report is not None and report.status == ReportStatus.DONE and not _file_present(report):
        with transaction.atomic():
            Report.objects.filter(pk=report.pk).update(status=ReportStatus.FAILED,
                                                       error="The file is missing from storage.")
            audit.record("report.file_missing", report, actor=SYSTEM, after={"file": report.file.name})
        return None
    return report


def request_report(*, actor: Actor, kind: str, subject_id: int | str | None = None, params: object = None,
                   enqueue: bool = True) -> Report:
    """Ask for a report; generation runs in a Celery task after commit. An identical request (same kind, subject,
    parameters and unchanged content, as the asker sees it) returns the existing report instead of a new one."""
    require(actor, "report.request")
    params, archival = _archival(params)
    launch, incident, params = _subject(actor, kind, subject_id, params)
    if archival:
        params = {**params, "archival": True}
    data = gather(kind, viewer=actor, launch_id=getattr(launch, "pk", None),
                  incident_id=getattr(incident, "pk", None), params=params)
    digest = content_hash(data)
    key = sha256_hex(canonical_json({"kind": kind, "launch": getattr(launch, "pk", None),
                                     "incident": getattr(incident, "pk", None), "params": params, "content": digest}))
    existing = _existing(key)
    if existing is not None:
        return existing
    report = Report(kind=kind, launch=launch, incident=incident, params=params, title=report_title(data),
                    requested_by=actor_user(actor),
                    requested_by_token=actor.token if isinstance(actor, TokenPrincipal) else None,
                    requested_by_label=actor_label(actor)[:200], content_hash=digest, dedupe_key=key,
                    source_incident_ids=data.get("source_incident_ids", []))
    try:
        with transaction.atomic():
            report.save()
            audit.record("report.requested", report, actor=actor, after={
                "kind": kind, "subject": getattr(launch or incident, "pk", None), "params": params,
                "content_hash": digest})
    except IntegrityError:
        # An identical request committed first: answer with its report.
        existing = _existing(key)
        if existing is None:
            raise
        return existing
    if enqueue:
        # robust: a broker outage must not fail the request; requeue_stale_reports picks the report up.
        transaction.on_commit(functools.partial(dispatch_generation, report.pk), robust=True)
    return report


def dispatch_generation(report_id: int) -> None:
    """Hand a queued report to a worker. With no broker (the embedded default) the task would run inside the
    request and hold the page for the seconds a PDF takes: it runs in a thread started after the commit instead,
    and the page shows the report as being prepared. A process that stops mid-render leaves it RUNNING with a
    silent heartbeat, which requeue_stale_reports takes up, as for a worker that died."""
    from django.conf import settings

    if settings.CELERY_TASK_ALWAYS_EAGER and settings.REPORTS_RENDER_AFTER_RESPONSE:
        threading.Thread(target=_render_in_this_thread, args=(report_id,), name=f"report-{report_id}",
                         daemon=True).start()
    else:
        _generation_task().delay(report_id)


def _render_in_this_thread(report_id: int) -> None:
    from django.db import connections

    try:
        _generation_task().apply(args=(report_id,))
    except Exception:  # the task records a failure on the report; nothing here may reach the request
        log.exception("report %s: rendering after the response failed", report_id)
    finally:
        connections.close_all()


def generate_report(report_id: int) -> Report:
    """Render a queued report and store the file with its sha256, size and page count.

    Safe to run more than once: a finished or failed report is left alone, and a report left RUNNING by a worker
    that died is taken up again. The file is attached only while the report is still RUNNING, so of two
    concurrent deliveries only one result is kept."""
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(pk=report_id).first()
        if report is None:
            raise NotFound(f"No report #{report_id}.", code="report_not_found")
        if report.status in (ReportStatus.DONE, ReportStatus.FAILED):
            return report
        started = timezone.now()
        report.status, report.started_at, report.heartbeat_at = ReportStatus.RUNNING, started, started
        report.attempts += 1
        report.save(update_fields=["status", "started_at", "heartbeat_at", "attempts"])
        audit.record("report.started", report, actor=SYSTEM, after={"attempt": report.attempts})
    with heartbeat(report_id):
        data = gather(report.kind, viewer=_viewer(report), launch_id=report.launch_id,
                      incident_id=report.incident_id, params=report.params)
        result, digest = render(data, requested_by=report.requested_by_label,
                                document_version=document_version(report),
                                archival=bool((report.params or {}).get("archival")))
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report_id)
        if report.status != ReportStatus.RUNNING:
            return report
        report.file.save(f"{report.kind.lower()}-{report.pk}.pdf", ContentFile(result.content), save=False)
        report.sha256, report.size, report.page_count = sha256_hex(result.content), len(result.content), \
            result.page_count
        report.content_hash, report.source_incident_ids = digest, data.get("source_incident_ids", [])
        report.status, report.error, report.finished_at = ReportStatus.DONE, "", timezone.now()
        report.save()
        audit.record("report.generated", report, actor=SYSTEM, after={
            "sha256": report.sha256, "size": report.size, "page_count": report.page_count,
            "content_hash": digest, "attempt": report.attempts})
    return report


@contextlib.contextmanager
def heartbeat(report_id: int, *, every: timedelta = HEARTBEAT_EVERY) -> Iterator[None]:
    """While the body runs, touch the report's heartbeat every ``every`` from a side thread, so the periodic
    requeue can tell a long render from a worker that died (whose heartbeat simply stops)."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(every.total_seconds()):
                Report.objects.filter(pk=report_id, status=ReportStatus.RUNNING).update(heartbeat_at=timezone.now())
        except Exception:  # a missed beat only makes a requeue possible; the render goes on
            log.warning("report %s: heartbeat failed", report_id, exc_info=True)
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"report-{report_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def record_failure(report_id: int, *, error: str, final: bool) -> Report | None:
    """An attempt failed: back to QUEUED for the retry, or FAILED when no retry is left."""
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(pk=report_id).first()
        if report is None or report.status in (ReportStatus.DONE, ReportStatus.FAILED):
            return report
        report.status = ReportStatus.FAILED if final else ReportStatus.QUEUED
        report.error = error[:2000]
        report.finished_at = timezone.now() if final else None
        report.save(update_fields=["status", "error", "finished_at"])
        audit.record("report.failed" if final else "report.attempt_failed", report, actor=SYSTEM,
                     after={"error": report.error, "attempt": report.attempts})
    return report


GENERATION_TASK = "reporting.tasks.generate_report"


def _generation_task() -> Any:
    """The Celery task that renders a report, looked up by name: the task module calls these services, so
    importing it from here would make a cycle."""
    return current_app.tasks[GENERATION_TASK]


def requeue_stale_reports(*, older_than: timedelta = STALE_AFTER, heartbeat_lost: timedelta = HEARTBEAT_LOST,
                          now: datetime | None = None) -> int:
    """Queue again the reports whose worker or message was lost: RUNNING with a heartbeat silent for
    ``heartbeat_lost`` (the worker died mid-render), or QUEUED (or RUNNING without a heartbeat) for longer than
    ``older_than`` (the message was lost). Run it periodically; a second delivery of a report already in progress
    is harmless: ``generate_report`` keeps only the first finished result."""
    now = now or timezone.now()
    cutoff, silent = now - older_than, now - heartbeat_lost
    dead_worker = Q(status=ReportStatus.RUNNING, heartbeat_at__lt=silent)
    lost_message = Q(status__in=(ReportStatus.RUNNING, ReportStatus.QUEUED), heartbeat_at__isnull=True) & (
        Q(started_at__lt=cutoff) | Q(started_at__isnull=True, created_at__lt=cutoff))
    queued_too_long = Q(status=ReportStatus.QUEUED, created_at__lt=cutoff) & (
        Q(started_at__isnull=True) | Q(started_at__lt=cutoff))
    stale = dead_worker | lost_message | queued_too_long
    count = 0
    for pk in Report.objects.filter(stale).values_list("pk", flat=True):
        with transaction.atomic():
            report = Report.objects.select_for_update().get(pk=pk)
            if not report.is_pending:
                continue
            was = report.status
            report.status, report.error = ReportStatus.QUEUED, "Generation stopped without finishing; queued again."
            report.save(update_fields=["status", "error"])
            audit.record("report.requeued", report, actor=SYSTEM, before={"status": was})
            transaction.on_commit(functools.partial(dispatch_generation, pk), robust=True)
        count += 1
    return count

