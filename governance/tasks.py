"""Celery finds an app's tasks in ``<app>.tasks``; the governance layers' tasks are gathered here."""

from governance.kernel.tasks import anchor_audit_log

__all__ = ["anchor_audit_log"]
