"""Celery tasks of the kernel: the periodic anchor of the audit chain. Imports nothing above the kernel."""

import logging

from celery import shared_task

from governance.kernel.anchors import AnchorError, write_anchor

log = logging.getLogger(__name__)


@shared_task
def anchor_audit_log() -> str | None:
    """Periodic anchor of the audit chain's head (Celery beat). To the Object Lock bucket when
    AUDIT_ANCHOR_BUCKET is set, else to AUDIT_ANCHOR_DIR; with neither there is nothing to do."""
    from django.conf import settings

    if settings.AUDIT_ANCHOR_BUCKET:
        from governance.kernel.anchor_bucket import write_bucket_anchor

        return write_bucket_anchor(settings.AUDIT_ANCHOR_BUCKET).source
    if not settings.AUDIT_ANCHOR_DIR:
        return None
    try:
        anchor = write_anchor()
    except AnchorError:
        log.exception("the audit chain could not be anchored")
        raise
    return anchor.source if anchor else None
