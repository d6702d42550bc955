"""Celery on RabbitMQ: quorum queues, publisher confirms and late acknowledgement, so that a task whose worker is
killed is delivered again by the broker and completes once.

The broker is the local RabbitMQ (``TEST_RABBITMQ_URL``); the workers are real Celery processes on PostgreSQL.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from amqp.exceptions import PreconditionFailed
from django.core.exceptions import ImproperlyConfigured

from config.broker import REPORT_RETRY_MAX_SECONDS, broker_settings, task_queue
from governance.kernel.audit import object_key
from governance.kernel.canonical import sha256_hex
from governance.kernel.models import AuditEvent
from governance.policies.services import ensure_default_policies
from tests.factories import make_people
from tests.governance.test_reports_worker import long_incident_report, unique_queue, worker_env

RABBITMQ = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


# -- the settings each broker gets (no broker needed) ---------------------------------------------------------

def test_on_rabbitmq_task_queues_are_quorum_queues_and_publishing_waits_for_the_confirm():
    conf = broker_settings(RABBITMQ, default_queue="gatehouse", visibility_timeout=3600)
    (queue,) = conf["CELERY_TASK_QUEUES"]
    assert queue.name == "gatehouse" and queue.queue_arguments == {"x-queue-type": "quorum"}
    assert queue.exchange.type == "topic"  # native delayed delivery (retry countdowns) needs a topic exchange
    assert conf["CELERY_TASK_CREATE_MISSING_QUEUE_TYPE"] == "quorum"  # a queue named on a worker's -Q too
    assert conf["CELERY_BROKER_TRANSPORT_OPTIONS"] == {"confirm_publish": True}


def test_on_redis_the_visibility_timeout_outlasts_the_longest_retry_countdown():
    conf = broker_settings("redis://127.0.0.1:6379/0", default_queue="celery", visibility_timeout=3600)
    assert conf == {"CELERY_BROKER_TRANSPORT_OPTIONS": {"visibility_timeout": 3600}}
    with pytest.raises(ImproperlyConfigured):
        broker_settings("redis://127.0.0.1:6379/0", default_queue="celery", visibility_timeout=REPORT_RETRY_MAX_SECONDS)


def test_the_embedded_default_has_no_broker_settings():
    assert broker_settings("memory://localhost/", default_queue="celery", visibility_timeout=60) == {}


# -- a real worker killed mid-task -----------------------------------------------------------------------------

def _queue_state(name: str) -> tuple[int, int]:
    """(ready messages, consumers) of a queue, from a passive declare."""
    from kombu import Connection

    with Connection(RABBITMQ) as conn:
        _, messages, consumers = conn.default_channel.queue_declare(queue=name, passive=True)
    return messages, consumers


def _wait(condition, *, timeout: float, what: str, logs: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            told = "".join(path.read_text()[-3000:] for path in sorted(logs.glob("*.log"))) if logs else ""
            pytest.fail(f"timed out waiting for {what}\n{told}")
        time.sleep(0.05)


def _consumers_at_least(name: str, count: int):
    def check() -> bool:
        try:
            return _queue_state(name)[1] >= count
        except Exception:  # not declared yet: the worker is still starting
            return False
    return check


def _publish(queue: str, report_id: int) -> str:
    """Send the report task to the workers' queue over RabbitMQ, declared exactly as the workers declare it."""
    from config.celery import app
    from reporting.tasks import generate_report

    saved = {k: app.conf[k] for k in ("task_always_eager", "broker_url", "broker_transport_options")}
    try:
        app.conf.update(task_always_eager=False, broker_url=RABBITMQ, broker_transport_options={"confirm_publish": True})
        with app.connection_for_write(RABBITMQ) as conn:
            sent = generate_report.apply_async(args=[report_id], queue=task_queue(queue), ignore_result=True,
                                               connection=conn)
    finally:
        app.conf.update(saved)
    return str(sent.id)


@pytest.mark.postgres
@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_render_on_rabbitmq_is_redelivered_and_the_report_completes_once(tmp_path):
    """kill -9 of a whole worker (main process and pool) mid-render: its connection drops, RabbitMQ hands the
    unacknowledged message to the other worker at once (no beat, no requeue), and the report is rendered and
    stored once. A further delivery of the same message changes nothing."""
    media, queue = tmp_path / "media", unique_queue()
    media.mkdir()
    # The run's own default queue, so the workers declare (and bind for delayed delivery) only that one.
    env = worker_env(media, CELERY_BROKER_URL=RABBITMQ, CELERY_RESULT_BACKEND="", CELERY_TASK_DEFAULT_QUEUE=queue)
    logs = []

    def start():
        log = (tmp_path / f"worker-{len(logs)}.log").open("wb")
        logs.append(log)
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork", "--concurrency=1", "-Q",
             queue, "-n", f"{queue}-{len(logs)}@%h", "--loglevel=WARNING", "--without-heartbeat", "--without-mingle",
             "--without-gossip"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    ensure_default_policies()
    report = long_incident_report(make_people(), events=150)
    first, second = start(), None
    try:
        _wait(_consumers_at_least(queue, 1), timeout=60, what="the first worker to consume")
        _publish(queue, report.pk)

        def rendering() -> bool:
            report.refresh_from_db()
            return report.status == "RUNNING"
        _wait(rendering, timeout=60, what="the first worker to start rendering")
        # Freeze the first worker mid-render while the second starts, so the render cannot finish first.
        os.killpg(first.pid, signal.SIGSTOP)
        second = start()
        _wait(_consumers_at_least(queue, 2), timeout=60, what="the second worker to consume",
              logs=tmp_path)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        killed_at = time.monotonic()

        def finished() -> bool:
            report.refresh_from_db()
            return report.status in ("DONE", "FAILED")
        _wait(finished, timeout=60, what="the redelivered render")
        done_after = time.monotonic() - killed_at
        assert report.status == "DONE", (report.status, report.attempts, report.error)
        assert report.attempts == 2  # the killed attempt and the redelivery
        generated = report.sha256

        # The same task once more, as after an acknowledgement lost with its connection, and then once again.
        # A worker with prefetch 1 takes the next message only after acknowledging the one it holds: once both
        # have left the queue, the first repeat has run and been acknowledged.
        _publish(queue, report.pk)
        _publish(queue, report.pk)
        _wait(lambda: _queue_state(queue)[0] == 0, timeout=30, what="the second worker to take both repeats",
              logs=tmp_path)
        os.killpg(second.pid, signal.SIGTERM)  # a warm shutdown: a message held but not started goes back
        second.wait(timeout=30)
        assert _queue_state(queue)[1] == 0
        with pytest.raises(PreconditionFailed):  # it is a quorum queue: redeclaring it as a classic one is refused
            from kombu import Connection

            with Connection(RABBITMQ) as conn:
                conn.default_channel.queue_declare(queue=queue, durable=True, arguments={"x-queue-type": "classic"})
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        from kombu import Connection

        with Connection(RABBITMQ) as conn:
            conn.default_channel.queue_delete(queue=queue)
    report.refresh_from_db()
    assert report.status == "DONE" and report.attempts == 2 and report.sha256 == generated
    type_, id_ = object_key(report)
    events = AuditEvent.objects.filter(object_type=type_, object_id=id_)
    assert events.filter(verb="report.generated").count() == 1
    assert not events.filter(verb="report.requeued").exists()  # the broker redelivered it, not the periodic requeue
    files = [path for path in media.rglob("*") if path.is_file()]
    assert files == [Path(report.file.path)], files
    assert report.sha256 == sha256_hex(files[0].read_bytes())
    print(f"the redelivered render finished {done_after:.1f} s after the kill")
