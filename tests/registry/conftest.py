"""A real MLflow tracking server for the registry tests: `mlflow server` on a SQLite backend store, on a free
loopback port, started once per test run. Every registry test is in one xdist group (pytest runs with
``--dist loadgroup``), so only one worker starts it (about 20 s) while the other workers run the rest."""

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from governance.policies.services import ensure_default_policies

STARTUP_SECONDS = 120
_names = itertools.count(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    pytest.importorskip("mlflow", reason="the registry tests need mlflow (pip install -e '.[dev]')")
    home = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(home / "server.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{home / 'mlflow.db'}",
         "--default-artifact-root", str(home / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"],
        cwd=home, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "MLFLOW_TRACKING_URI": "",
             # webhooks to the Gatehouse test server on loopback, over plain HTTP (MLflow refuses both by
             # default), delivered at once rather than after the server's 60 s cache of the webhook list
             "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true", "_MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
             "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https", "MLFLOW_WEBHOOK_CACHE_TTL": "0"})
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {(home / 'server.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not start in {STARTUP_SECONDS} s")
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the server and the workers it started
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


@pytest.fixture
def mlflow_client(mlflow_server):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)


@pytest.fixture
def mlflow_on(settings, mlflow_server):
    """Gatehouse configured to talk to the test server."""
    settings.MLFLOW_TRACKING_URI = mlflow_server
    settings.MLFLOW_TRACKING_TOKEN = "test-token"
    return mlflow_server


@pytest.fixture
def registered(mlflow_client):
    """A fresh registered model per test (the server outlives the tests' database transactions)."""
    name = f"credit-{os.getpid()}-{next(_names)}"
    mlflow_client.create_registered_model(name)
    return name


@pytest.fixture
def register_version(mlflow_client):
    """Register a version the way a training pipeline does: a run with metrics and tags, then a model version."""

    def register(name, *, digest="a" * 64, metrics=None, commit="0123abc", tags=None, on_run=False):
        run = mlflow_client.create_run("0")
        run_id = run.info.run_id
        for key, value in (metrics or {"auc": 0.81, "ks": 0.42}).items():
            mlflow_client.log_metric(run_id, key, value)
        if commit:
            mlflow_client.set_tag(run_id, "mlflow.source.git.commit", commit)
        version_tags = dict(tags or {})
        if digest and on_run:
            mlflow_client.set_tag(run_id, "artifact_sha256", digest)
        elif digest:
            version_tags["artifact_sha256"] = digest
        mlflow_client.set_terminated(run_id)
        mv = mlflow_client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id, tags=version_tags,
                                               await_creation_for=0)
        return int(mv.version), run_id

    return register


@pytest.fixture(autouse=True)
def policies(db):
    return ensure_default_policies()

