"""The launch row lock reads the launch with the rows a caller asks for, and no more."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from readiness.services import lock
from tests.factories import make_launch

pytestmark = pytest.mark.django_db


def test_lock_joins_only_what_is_asked(people):
    launch = make_launch(author=people["author"], tier="TIER_2")
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        bare = lock(launch, joins=())
        full = lock(launch)
    bare_sql, full_sql = (q["sql"] for q in queries.captured_queries if "readiness_launchrequest" in q["sql"])
    assert "JOIN" not in bare_sql
    assert "governance_mlmodel" in full_sql and bare.pk == full.pk == launch.pk
