"""On PostgreSQL with the local Redis: a real Celery worker renders a report the web process queued, and a worker
process killed mid-render does not lose the report. One worker (prefork, one process) serves the module."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from governance.kernel.canonical import sha256_hex
from governance.policies.services import ensure_default_policies
from postmortems.models import TimelineEvent
from reporting import reports
from reporting.models import Report
from tests.factories import make_people
from tests.governance.test_reports import pdf_text, restricted_incident

pytestmark = [pytest.mark.postgres, pytest.mark.services, pytest.mark.django_db(transaction=True)]
BROKER = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory):
    media = tmp_path_factory.mktemp("worker-media")
    with django_db_blocker.unblock():
        db = connection.settings_dict
    # GATEHOUSE_DEV: a worker refuses to start on the built-in keys outside development mode.
    env = {**os.environ, "GATEHOUSE_DEV": "true", "CELERY_BROKER_URL": BROKER, "CELERY_RESULT_BACKEND": BROKER, "MEDIA_ROOT": str(media),
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"}
    queue = f"test-reports-{os.getpid()}-{time.time_ns()}"
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
