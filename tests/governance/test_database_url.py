"""DATABASE_URL becomes Django's database settings: SQLite paths, PostgreSQL credentials and options, and no JIT
compilation on PostgreSQL unless the URL asks for its own options."""

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from config.env import database_from_url

BASE = Path("/srv/gatehouse")


def test_sqlite_paths_relative_and_absolute():
    assert database_from_url("sqlite:///db.sqlite3", BASE)["NAME"] == str(BASE / "db.sqlite3")
    assert database_from_url("sqlite:////var/lib/gh.db", BASE)["NAME"] == "/var/lib/gh.db"


def test_postgres_credentials_are_unquoted_and_jit_is_off():
    db = database_from_url("postgres://gate%40house:p%2Fw@db.internal:6543/gate", BASE)
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        "gate@house", "p/w", "db.internal", "6543", "gate")
    assert db["OPTIONS"]["options"] == "-c jit=off"


def test_a_urls_own_options_win():
    db = database_from_url("postgres://u@h/n?sslmode=require&options=-c%20statement_timeout%3D5000", BASE)
    assert db["OPTIONS"] == {"sslmode": "require", "options": "-c statement_timeout=5000"}


def test_an_unknown_scheme_is_refused():
    with pytest.raises(ImproperlyConfigured):
        database_from_url("mysql://u@h/n", BASE)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_running_connection_has_jit_off():
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_behind_pgbouncer_in_transaction_mode_no_server_side_cursors_and_no_startup_options():
    pooled = database_from_url("postgres://gh@pgbouncer:6432/gatehouse?pooler=transaction&sslmode=require", BASE)
    assert pooled["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert pooled["OPTIONS"] == {"sslmode": "require"}  # no "options": PgBouncer refuses startup parameters
    direct = database_from_url("postgres://gh@db:5432/gatehouse", BASE)
    assert "DISABLE_SERVER_SIDE_CURSORS" not in direct and direct["OPTIONS"]["options"] == "-c jit=off"


def test_an_unknown_pooler_mode_is_named():
    with pytest.raises(ImproperlyConfigured) as caught:
        database_from_url("postgres://gh@pgbouncer:6432/gatehouse?pooler=session", BASE)
    assert "pooler='session'" in str(caught.value)
