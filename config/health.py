"""/healthz: 200 when Gatehouse can serve, 503 when the database (or the broker, when one is configured) is not
reachable, so a load balancer takes a broken instance out of rotation. Also the baseline of the gate benchmark."""

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

log = logging.getLogger(__name__)


def _database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not healthy", with the reason logged
        log.error("health check: database unavailable: %s", exc)
        return "unavailable"
    return None


def _broker() -> str | None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return None  # no broker configured: tasks run in the web process
    from kombu import Connection

    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=settings.HEALTH_CHECK_TIMEOUT_SECONDS) as broker:
            broker.ensure_connection(max_retries=1, timeout=settings.HEALTH_CHECK_TIMEOUT_SECONDS)
    except Exception as exc:
        log.error("health check: broker unavailable: %s", exc)
        return "unavailable"
    return None


@never_cache
def healthz(request):
    checks = {"database": _database() or "ok", "broker": _broker() or "ok"}
    if settings.CELERY_TASK_ALWAYS_EAGER:
        checks["broker"] = "not configured"
    healthy = "unavailable" not in checks.values()
    return JsonResponse({"status": "ok" if healthy else "unavailable", "checks": checks}, status=200 if healthy else 503)
