"""Periodic work of the postmortems app; thin wrappers over services."""

from celery import shared_task

from . import services


@shared_task
def remind_overdue_action_items() -> int:
    """Daily: e-mail each owner of overdue open action items one message listing them."""
    return services.send_overdue_reminders()
