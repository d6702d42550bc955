"""Celery tasks of the readiness app: thin wrappers over notification functions."""

from celery import shared_task

from . import notifications


@shared_task(acks_late=True, autoretry_for=(ConnectionError, OSError), retry_backoff=True, max_retries=5)
def notify_signers(launch_id: int) -> int:
    return notifications.notify_signers(launch_id)


@shared_task(acks_late=True, autoretry_for=(ConnectionError, OSError), retry_backoff=True, max_retries=5)
def notify_launch_people(launch_id: int, event: str, detail: str) -> int:
    return notifications.notify_launch_people(launch_id, event, detail)


@shared_task(acks_late=True)
def evaluate_rollouts() -> dict:
    """Run by Celery beat every minute (see CELERY_BEAT_SCHEDULE)."""
    from .rollouts import evaluate_rollouts as run

    return run()
