"""Celery tasks of the registry integration: thin wrappers over services.

An alias change must not be lost: its message is acknowledged only after the task returns and is handed back
to the broker if the worker dies (``acks_late``, ``reject_on_worker_lost``); the service sets an alias only while
the change is PENDING, so a second delivery changes nothing.
"""

from celery import shared_task


@shared_task(acks_late=True)
def sync_registry() -> dict:
    """Run by Celery beat (see CELERY_BEAT_SCHEDULE): pull new MLflow versions and check governed aliases."""
    from . import mlflow, services

    return services.sync_all() if mlflow.enabled() else {}


@shared_task(acks_late=True)
def sync_registered_model(link_id: int) -> dict:
    """One link, e.g. when an MLflow webhook says something changed."""
    from governance.kernel.errors import DomainError

    from . import mlflow, services
    from .models import RegistryLink

    link = RegistryLink.objects.filter(pk=link_id).first()
    if link is None or not mlflow.enabled():
        return {}
    try:
        return services.sync_link(link)
    except DomainError as error:  # recorded on the link when MLflow failed; the periodic sync tries again
        return {"error": error.message}


@shared_task(acks_late=True, reject_on_worker_lost=True)
def apply_alias_change(actuation_id: int) -> str:
    from .services import apply_alias_change as apply

    actuation = apply(actuation_id)
    return actuation.status if actuation else "missing"


@shared_task(acks_late=True)
def retry_alias_changes() -> dict:
    """Run by Celery beat every minute: alias changes that could not reach MLflow yet."""
    from .services import retry_pending

    return retry_pending()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def remove_approval_tag(approval_id: int) -> str:
    from .services import remove_approval_tag as remove

    approval = remove(approval_id)
    return approval.status if approval else "missing"
