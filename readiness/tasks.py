"""Celery tasks of the readiness app: the periodic rollout evaluation. The notification tasks are defined in
``notifications`` (imported here so that the worker registers them)."""

from celery import shared_task

from readiness import notifications  # noqa: F401  (registers the notification tasks)
from readiness.deploy import github  # noqa: F401  (registers the GitHub review task)
from readiness.rollouts import evaluate_rollouts as run_evaluation


@shared_task(acks_late=True)
def evaluate_rollouts() -> dict:
    """Run by Celery beat every minute (see CELERY_BEAT_SCHEDULE)."""
    return run_evaluation()


@shared_task(acks_late=True)
def expire_pending_decisions() -> int:
    """Run by Celery beat every minute: pending human decisions past their deadline become denies, escalated."""
    from readiness.pending import expire_overdue

    return expire_overdue()
