"""With the database unreachable, Gatehouse says so: /healthz answers 503 and the gate a signed JSON deny.

The test swaps the default connection for one pointed at a closed port (PostgreSQL) or an unopenable file
(SQLite), so every query fails as it would in production, and puts the real one back afterwards."""

import socket
from contextlib import contextmanager

import pytest
from django.db import connections
from django.db.utils import load_backend
from django.test import Client

from readiness import gate


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


@contextmanager
def database_down(django_db_blocker):
    real = connections["default"]
    params = dict(real.settings_dict)
    if real.vendor == "postgresql":
        params.update(HOST="127.0.0.1", PORT=str(closed_port()), OPTIONS={**params.get("OPTIONS", {}),
                                                                         "connect_timeout": 2})
    else:
        params.update(NAME="/nonexistent-directory/gatehouse.sqlite3")
    down = load_backend(params["ENGINE"]).DatabaseWrapper(params, "default")
    with django_db_blocker.unblock():
        connections["default"] = down
        try:
            yield
        finally:
            connections["default"] = real
            down.close()


@pytest.fixture
def secret(token_for):
    return token_for("gate:read")[1]


@pytest.mark.django_db
def test_healthz_is_200_with_the_database_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["checks"]["database"] == "ok"


def test_healthz_is_503_with_the_database_down(django_db_blocker):
    with database_down(django_db_blocker):
        response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "unavailable",
                                                                   "broker": "not configured"}}


@pytest.mark.django_db
def test_healthz_is_503_with_the_broker_down(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["checks"]["broker"] == "unavailable"


@pytest.mark.django_db(transaction=True)
def test_gate_denies_in_json_with_the_database_down(secret, django_db_blocker):
    with database_down(django_db_blocker):
        response = Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get(
            "/api/v1/gate/", {"model": "credit-line", "version": "4.2", "stage": "shadow"})
    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["decision"] == "deny" and [r["code"] for r in body["reasons"]] == ["internal_error"]
    assert body["model"] == "credit-line" and body["stage"] == "shadow"
    assert gate.verify_receipt(body["receipt"]).verdict["decision"] == "deny"


def test_other_api_calls_answer_json_503_with_the_database_down(django_db_blocker):
    with database_down(django_db_blocker):
        response = Client(HTTP_AUTHORIZATION="Bearer gh_abcdef_secret").get("/api/v1/models/")
    assert response.status_code == 503 and response.json()["code"] == "unavailable"
