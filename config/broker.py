"""Celery settings that depend on the broker: RabbitMQ (the production broker of a multi-host install) or Redis.

On RabbitMQ every task queue is a quorum queue (replicated across the broker's nodes by Raft, so a message
survives the loss of a broker node), publishing waits for the broker's confirm (a message the broker did not take
raises in the sender instead of vanishing), and each queue sits on a topic exchange of its own name, which
Celery's native delayed delivery needs for the retry countdowns (quorum queues cannot hold a countdown in the
worker's prefetch: Celery turns global QoS off for them).

On Redis a message taken by a worker and not yet acknowledged is handed to another worker once the visibility
timeout passes. With late acknowledgement that is a second delivery of a task still running, so the timeout must
outlast the longest render and the longest retry countdown (``REPORT_RETRY_MAX_SECONDS``).
"""

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

AMQP_SCHEMES = frozenset({"amqp", "amqps", "pyamqp"})
REDIS_SCHEMES = frozenset({"redis", "rediss"})
# The longest countdown Gatehouse asks for: the report retry's backoff ceiling (reporting/tasks.py) and Celery's
# default retry_backoff_max (600 s) for the deploy-tool callback.
REPORT_RETRY_MAX_SECONDS = 600


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def task_queue(name: str) -> Queue:
    """The declaration of one task queue on RabbitMQ: quorum, on a topic exchange of the same name, bound by its
    name. Senders and workers declare it identically (a queue declared twice with different arguments is refused
    by the broker), which is also what Celery creates for a queue named only on a worker's ``-Q``."""
    return Queue(name, Exchange(name, type="topic"), routing_key=name, queue_arguments={"x-queue-type": "quorum"})


def broker_settings(url: str, *, default_queue: str, visibility_timeout: int) -> dict[str, Any]:
    """The ``CELERY_*`` settings for the broker ``url`` names (none for the in-memory broker of the embedded
    default, where tasks run eagerly)."""
    scheme = scheme_of(url)
    if scheme in AMQP_SCHEMES:
        return {
            "CELERY_TASK_QUEUES": (task_queue(default_queue),),
            "CELERY_TASK_DEFAULT_QUEUE_TYPE": "quorum",
            "CELERY_TASK_DEFAULT_EXCHANGE_TYPE": "topic",
            "CELERY_TASK_CREATE_MISSING_QUEUE_TYPE": "quorum",
            "CELERY_TASK_CREATE_MISSING_QUEUE_EXCHANGE_TYPE": "topic",
            "CELERY_WORKER_DETECT_QUORUM_QUEUES": True,
            "CELERY_BROKER_TRANSPORT_OPTIONS": {"confirm_publish": True},
        }
    if scheme in REDIS_SCHEMES:
        if visibility_timeout <= REPORT_RETRY_MAX_SECONDS:
            raise ImproperlyConfigured(
                f"CELERY_VISIBILITY_TIMEOUT_SECONDS is {visibility_timeout}: on Redis it must be longer than the "
                f"longest render and the longest retry countdown ({REPORT_RETRY_MAX_SECONDS} s), or a task still "
                "running is delivered to a second worker.")
        return {"CELERY_BROKER_TRANSPORT_OPTIONS": {"visibility_timeout": visibility_timeout}}
    return {}
