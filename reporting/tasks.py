"""Celery tasks of the reporting app: thin wrappers over reporting.services.

Report generation survives a worker that dies mid-render: the message is acknowledged only after the task
returns (acks_late) and is handed back to the broker if the worker process is lost (reject_on_worker_lost), so
another worker takes the report up again; ``generate_report`` accepts a report left RUNNING. A failed attempt puts
the report back to QUEUED and retries with exponential backoff; only the last failure marks it FAILED.
"""

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval

from governance.kernel.errors import DomainError
from reporting import services as reports
from reporting.bundle import records as bundles

MAX_RETRIES = 5


@shared_task(name="reporting.tasks.generate_report", bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=MAX_RETRIES)
def generate_report(self, report_id: int) -> dict:
    try:
        report = reports.generate_report(report_id)
    except DomainError as error:
        # The subject is gone or no longer visible to whoever asked: trying again cannot help.
        reports.record_failure(report_id, error=error.message, final=True)
        return {"id": report_id, "status": "FAILED"}
    except Exception as exc:
        final = self.request.retries >= self.max_retries
        reports.record_failure(report_id, error=f"{type(exc).__name__}: {exc}", final=final)
        if final:
            raise
        countdown = get_exponential_backoff_interval(factor=10, retries=self.request.retries, maximum=600,
                                                     full_jitter=True)
        raise self.retry(exc=exc, countdown=countdown) from exc
    return {"id": report.pk, "status": report.status, "sha256": report.sha256}


@shared_task(acks_late=True)
def requeue_stale_reports() -> int:
    """Periodic: put reports and evidence bundles whose worker or message was lost back in the queue."""
    return reports.requeue_stale_reports() + bundles.requeue_stale_bundles()


BUNDLE_RETRIES = 3


@shared_task(name="reporting.tasks.build_evidence_bundle", bind=True, acks_late=True, reject_on_worker_lost=True,
             max_retries=BUNDLE_RETRIES)
def build_evidence_bundle(self, bundle_id: int) -> dict:
    """Build a stored evidence bundle. Late acknowledgement, as for reports: a worker lost mid-build hands the
    message back; a redelivery of a ready bundle changes nothing (reporting.bundle.records.build_stored_bundle)."""
    try:
        bundle = bundles.build_stored_bundle(bundle_id)
    except DomainError as error:
        # The bundle is gone, or its requester may no longer export: trying again cannot help.
        bundles.record_bundle_failure(bundle_id, error=error.message, final=True)
        return {"id": bundle_id, "status": "FAILED"}
    except Exception as exc:
        final = self.request.retries >= self.max_retries
        bundles.record_bundle_failure(bundle_id, error=f"{type(exc).__name__}: {exc}", final=final)
        if final:
            raise
        countdown = get_exponential_backoff_interval(factor=10, retries=self.request.retries, maximum=600,
                                                     full_jitter=True)
        raise self.retry(exc=exc, countdown=countdown) from exc
    return {"id": bundle.pk, "status": bundle.status, "sha256": bundle.sha256}
