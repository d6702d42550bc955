"""On PostgreSQL: an observation batch racing the periodic task rolls back once and opens one incident;
and a real Celery worker against the local Redis runs the periodic task."""

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from governance.kernel.audit import verify_chain
from postmortems.models import Incident
from readiness import rollouts
from readiness.models import LaunchRequest, LaunchStatus, Observation
from tests.readiness.test_rollouts import SIMPLE, approved

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("attempt", range(4))
def test_observations_and_periodic_task_racing_open_one_incident(people, attempt):
    launch = approved(people, plan=SIMPLE)
    start = timezone.now() - timedelta(minutes=30)
    rollouts.start_rollout(launch, actor=people["author"], now=start)
    now = timezone.now()
    # two breaching points are stored already; the third arrives while the periodic task runs
    Observation.objects.bulk_create([
        Observation(launch=launch, metric="p95_latency_ms", value=300, observed_at=now - timedelta(minutes=m))
        for m in (3, 2)])
    barrier = threading.Barrier(3)
    errors = []

    def batch():
        try:
            barrier.wait()
            rollouts.record_observations(LaunchRequest.objects.get(pk=launch.pk), actor=people["engineering"], batch=[
                {"metric": "p95_latency_ms", "value": 310, "observed_at": (now - timedelta(minutes=1)).isoformat()}])
        except Exception as exc:  # a batch refused because the launch already rolled back is fine
            errors.append(exc)
        finally:
            connections.close_all()

    def periodic():
        try:
            barrier.wait()
            rollouts.evaluate_rollouts()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=batch), threading.Thread(target=periodic), threading.Thread(target=periodic)]
    Observation.objects.create(launch=launch, metric="p95_latency_ms", value=305,
                               observed_at=now - timedelta(seconds=90))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.ROLLED_BACK
    assert Incident.objects.filter(launch=launch).count() == 1
    assert all(getattr(e, "code", None) == "not_rolling_out" for e in errors), errors
    assert verify_chain()[1] is None


@pytest.mark.services
def test_celery_worker_against_redis_runs_the_periodic_task(people):
    from config.celery import app
    from readiness.tasks import evaluate_rollouts

    launch = approved(people, plan=SIMPLE)
    rollouts.start_rollout(launch, actor=people["author"], now=timezone.now() - timedelta(hours=1))
    Observation.objects.bulk_create([
        Observation(launch=launch, metric="p95_latency_ms", value=400, observed_at=timezone.now() - timedelta(
            minutes=m)) for m in (3, 2, 1)])
    broker = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
    db = connection.settings_dict
    env = {**os.environ, "CELERY_BROKER_URL": broker, "CELERY_RESULT_BACKEND": broker,
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"}
    queue = f"test-{os.getpid()}-{time.time_ns()}"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-Q", queue, "--loglevel=WARNING",
         "--without-heartbeat", "--without-mingle", "--without-gossip"], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    saved = {k: app.conf[k] for k in ("task_always_eager", "broker_url")}
    try:
        app.conf.update(task_always_eager=False, broker_url=broker)
        with app.connection_for_write(broker) as conn:
            evaluate_rollouts.apply_async(queue=queue, ignore_result=True, connection=conn)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            launch.refresh_from_db()
            if launch.status == LaunchStatus.ROLLED_BACK:
                break
            time.sleep(0.5)
    finally:
        app.conf.update(saved)
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode(errors="replace")
    assert launch.status == LaunchStatus.ROLLED_BACK, output
    assert Incident.objects.filter(launch=launch).count() == 1
