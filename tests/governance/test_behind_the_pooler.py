"""When the suite runs behind PgBouncer (TEST_POOLER=pgbouncer), the connections really go through it: the
pooler's own console lists this test's client, in transaction mode."""

import os

import psycopg
import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.mark.skipif(os.environ.get("TEST_POOLER") != "pgbouncer", reason="runs when the suite is behind PgBouncer")
def test_connections_go_through_pgbouncer_in_transaction_mode(_through_the_pooler):
    port = _through_the_pooler
    assert connection.settings_dict["PORT"] == str(port)
    assert connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] is True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    with psycopg.connect(host="127.0.0.1", port=port, dbname="pgbouncer", user="postgres", autocommit=True) as admin:
        pools = admin.execute("SHOW POOLS").fetchall()
        columns = [c.name for c in admin.execute("SHOW POOLS").description]
    modes = {row[columns.index("database")]: row[columns.index("pool_mode")] for row in pools}
    assert modes[connection.settings_dict["NAME"]] == "transaction"
