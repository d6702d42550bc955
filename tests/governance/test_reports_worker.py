"""On PostgreSQL with the local Redis: a real Celery worker renders a report the web process queued, and a worker
process killed mid-render does not lose the report. One worker (prefork, one process) serves the module; the test
that kills a whole worker starts its own two."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from governance.kernel.audit import object_key
from governance.kernel.canonical import sha256_hex
from governance.kernel.models import AuditEvent
from governance.policies.services import ensure_default_policies
from postmortems.models import TimelineEvent
from reporting import reports
from reporting.models import Report
from tests.factories import make_people
from tests.governance.test_reports import pdf_text, restricted_incident

pytestmark = [pytest.mark.postgres, pytest.mark.services, pytest.mark.django_db(transaction=True)]
BROKER = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


def worker_env(media: Path, **extra: str) -> dict[str, str]:
    db = connection.settings_dict
    # GATEHOUSE_DEV: a worker refuses to start on the built-in keys outside development mode.
    return {**os.environ, "GATEHOUSE_DEV": "true", "CELERY_BROKER_URL": BROKER, "CELERY_RESULT_BACKEND": BROKER,
            "MEDIA_ROOT": str(media),
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            **extra}


def unique_queue() -> str:
    return f"test-reports-{os.getpid()}-{time.time_ns()}"


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory):
    media = tmp_path_factory.mktemp("worker-media")
    with django_db_blocker.unblock():
        env = worker_env(media)
    queue = unique_queue()
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork", "--concurrency=1", "-Q", queue,
         "--loglevel=WARNING", "--without-heartbeat", "--without-mingle", "--without-gossip"], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    yield {"queue": queue, "pid": process.pid, "media": media}
    process.terminate()
    process.communicate(timeout=30)


def send_and_wait(worker, report, settings, *, while_running=None) -> None:
    """Queue the report for the worker over Redis and wait until it is DONE or FAILED."""
    from config.celery import app
    from reporting.tasks import generate_report

    settings.MEDIA_ROOT = str(worker["media"])  # where the worker writes the file
    saved = {k: app.conf[k] for k in ("task_always_eager", "broker_url")}
    try:
        app.conf.update(task_always_eager=False, broker_url=BROKER)
        with app.connection_for_write(BROKER) as conn:
            generate_report.apply_async(args=[report.pk], queue=worker["queue"], ignore_result=True, connection=conn)
    finally:
        app.conf.update(saved)
    deadline, acted = time.monotonic() + 90, False
    while time.monotonic() < deadline:
        report.refresh_from_db()
        if report.status == "RUNNING" and while_running and not acted:
            while_running()
            acted = True
        if report.status in ("DONE", "FAILED"):
            return
        time.sleep(0.1)


def test_a_celery_worker_against_redis_renders_a_queued_report(worker, settings):
    ensure_default_policies()
    people = make_people()
    incident = restricted_incident(people, overdue=2)
    report = reports.request_report(actor=people["legal"], kind="INCIDENT_REPORT", subject_id=incident.pk,
                                    enqueue=False)
    send_and_wait(worker, report, settings)
    assert report.status == "DONE", report.error
    content = Path(report.file.path).read_bytes()
    assert report.sha256 == sha256_hex(content) and report.size == len(content) and report.attempts == 1
    pages = pdf_text(report.file.path)
    assert len(pages) == report.page_count and all("CONFIDENTIAL" in page for page in pages)
    assert Report.objects.count() == 1


def test_a_worker_process_killed_mid_render_does_not_lose_the_report(worker, settings):
    """acks_late with reject_on_worker_lost: the broker hands the message to the next worker process, which takes
    up the report that the dead one left RUNNING."""
    ensure_default_policies()
    people = make_people()
    incident = restricted_incident(people, overdue=1)
    TimelineEvent.objects.bulk_create([  # a long timeline, so the render takes long enough to be interrupted
        TimelineEvent(incident=incident, at=incident.detected_at, kind="COMMUNICATION", author_label="tests",
                      text=f"Stakeholder update {n} with the latest findings and the next steps.") for n in range(150)])
    report = reports.request_report(actor=people["legal"], kind="INCIDENT_REPORT", subject_id=incident.pk,
                                    enqueue=False)
    killed = []

    def kill_the_pool_process():
        pid = worker["pid"]
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            os.kill(int(child), signal.SIGKILL)
            killed.append(child)

    send_and_wait(worker, report, settings, while_running=kill_the_pool_process)
    assert killed
    assert report.status == "DONE" and report.attempts == 2, (report.status, report.attempts, report.error)
    assert report.sha256 == sha256_hex(Path(report.file.path).read_bytes())


def long_incident_report(people, events=400):
    """A restricted incident with a long timeline, so that its render takes long enough to be interrupted."""
    incident = restricted_incident(people, overdue=1)
    TimelineEvent.objects.bulk_create([
        TimelineEvent(incident=incident, at=incident.detected_at, kind="COMMUNICATION", author_label="tests",
                      text=f"Stakeholder update {n} with the latest findings and the next steps.")
        for n in range(events)])
    return reports.request_report(actor=people["legal"], kind="INCIDENT_REPORT", subject_id=incident.pk,
                                  enqueue=False)


@pytest.mark.slow
def test_a_whole_worker_killed_mid_render_is_replaced_and_the_report_rendered_once(settings, tmp_path):
    """kill -9 of the whole worker (main process and pool): nothing is left to hand the message back, so the
    report's heartbeat stops and beat, run by the next worker, queues the report again within the requeue bound
    (heartbeat 1 s, lost after 4 s, requeue every 2 s here; 90 s with the defaults). One file results."""
    from config.celery import app
    from reporting.tasks import generate_report

    media, queue = tmp_path / "media", unique_queue()
    media.mkdir()
    # Beat sends to the default queue: this run's own, so no other run's messages reach these workers.
    env = worker_env(media, CELERY_TASK_DEFAULT_QUEUE=queue, REPORT_HEARTBEAT_SECONDS="1", REPORT_REQUEUE_SECONDS="2")
    heartbeat_lost, requeue_every = 4, 2

    def start(*extra):
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork", "--concurrency=1", "-Q",
             queue, "--loglevel=WARNING", "--without-heartbeat", "--without-mingle", "--without-gossip", *extra],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    ensure_default_policies()
    report = long_incident_report(make_people())
    settings.MEDIA_ROOT = str(media)
    first = start()
    second = None
    try:
        saved = {k: app.conf[k] for k in ("task_always_eager", "broker_url")}
        try:
            app.conf.update(task_always_eager=False, broker_url=BROKER)
            with app.connection_for_write(BROKER) as conn:
                generate_report.apply_async(args=[report.pk], queue=queue, ignore_result=True, connection=conn)
        finally:
            app.conf.update(saved)
        # Rendering: RUNNING, and the side thread has beaten at least once since the render started.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            report.refresh_from_db()
            if report.status == "RUNNING" and report.heartbeat_at and report.heartbeat_at > report.started_at:
                break
            time.sleep(0.05)
        assert report.status == "RUNNING" and report.heartbeat_at > report.started_at, (report.status, report.error)
        first_started = report.started_at
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        killed_at = time.monotonic()
        second = start("--beat", "--schedule", str(tmp_path / "beat-schedule"))
        restarted_after = None
        deadline = killed_at + 90
        while time.monotonic() < deadline:
            report.refresh_from_db()
            if restarted_after is None and report.attempts >= 2:
                restarted_after = time.monotonic() - killed_at
            if report.status in ("DONE", "FAILED"):
                break
            time.sleep(0.1)
        done_after = time.monotonic() - killed_at
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
    assert report.status == "DONE", (report.status, report.attempts, report.error)
    assert report.attempts == 2 and report.started_at > first_started
    # The bound here is 4 + 2 s; the margin covers starting the second worker (the bound is 90 s).
    assert restarted_after is not None and restarted_after <= heartbeat_lost + requeue_every + 30, restarted_after
    # The restart came from the requeue once the heartbeat fell silent, not from the broker handing the message back.
    type_, id_ = object_key(report)
    assert AuditEvent.objects.filter(verb="report.requeued", object_type=type_, object_id=id_).count() == 1
    files = [path for path in media.rglob("*") if path.is_file()]
    assert files == [Path(report.file.path)], files
    assert report.sha256 == sha256_hex(files[0].read_bytes())
    print(f"restarted {restarted_after:.1f} s and done {done_after:.1f} s after the kill "
          f"(heartbeat lost after {heartbeat_lost} s, requeue every {requeue_every} s)")
