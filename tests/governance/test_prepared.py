"""A read compiled once answers exactly what its queryset answers, with every value, on every database."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q
from django.test.utils import CaptureQueriesContext

from governance.kernel.prepared import Prepared
from governance.models import MLModel, ModelVersion
from tests.factories import MLModelFactory, ModelVersionFactory

pytestmark = pytest.mark.django_db
FIELDS = ("slug", "protected_attributes", "is_model", "created_at", "recent_versions", "has_old_version")


def _models(slug_prefix, since, day, versions_over):
    old = ModelVersion.objects.filter(model=OuterRef("pk"), created_at__lt=since)
    return (MLModel.objects.filter(slug__startswith="m-", name__gt=slug_prefix, created_at__date__gte=day)
            .annotate(recent_versions=Count("versions", filter=Q(versions__created_at__gte=since)),
                      has_old_version=Exists(old))
            .filter(recent_versions__gte=versions_over).order_by("slug").values_list(*FIELDS))


READ = Prepared(_models, slug_prefix="text", since="datetime", day="date", versions_over="int")
BASE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def inventory():
    for i in range(4):
        model = MLModelFactory(slug=f"m-{i}", name=f"Model {i}", created_at=BASE + timedelta(days=i),
                               protected_attributes=[{"name": "sex"}] if i % 2 else [], is_model=[None, True, False][i % 3])
        for j in range(i):
            ModelVersionFactory(model=model, created_at=BASE + timedelta(days=i, hours=j))


@pytest.mark.parametrize("values", [
    {"slug_prefix": "", "since": BASE, "day": date(2026, 1, 1), "versions_over": 0},
    {"slug_prefix": "Model 1", "since": BASE + timedelta(days=2, hours=1), "day": date(2026, 3, 2), "versions_over": 1},
    {"slug_prefix": "Model 0", "since": BASE + timedelta(days=3, microseconds=1), "day": date(2026, 3, 4),
     "versions_over": 2},
    {"slug_prefix": "Z", "since": BASE, "day": date(2027, 1, 1), "versions_over": 0},
])
def test_rows_equal_the_querysets_rows(inventory, values):
    assert READ.rows(**values) == list(_models(**values))


def test_a_read_is_one_query_and_values_come_back_typed(inventory):
    with CaptureQueriesContext(connection) as queries:
        rows = READ.rows(slug_prefix="", since=BASE, day=date(2026, 1, 1), versions_over=0)
    assert len(queries) == 1
    slug, attributes, is_model, created_at, recent, has_old = rows[1]
    assert (slug, attributes, is_model, recent) == ("m-1", [{"name": "sex"}], True, 1)
    assert created_at == BASE + timedelta(days=1) and created_at.tzinfo is not None
    assert has_old in (False, 0) and not has_old


@pytest.mark.django_db(transaction=True)
def test_a_read_still_answers_after_its_connection_is_closed(inventory):
    values = {"slug_prefix": "", "since": BASE, "day": date(2026, 1, 1), "versions_over": 1}
    before = READ.rows(**values)
    connection.close()
    assert READ.rows(**values) == before == list(_models(**values))


def test_a_slot_inside_another_parameter_is_refused():
    read = Prepared(lambda name: MLModel.objects.filter(name__contains=name).values_list("pk"), name="text")
    with pytest.raises(ValueError) as error:
        read.rows(name="x")
    assert "inside a parameter" in str(error.value)


def test_a_slot_the_queryset_does_not_use_is_refused():
    read = Prepared(lambda name, day: MLModel.objects.filter(name=name).values_list("pk"), name="text", day="date")
    with pytest.raises(ValueError) as error:
        read.rows(name="x", day=date(2026, 1, 1))
    assert "does not use slot(s) ['day']" in str(error.value)


def test_values_must_name_every_slot_and_kinds_must_be_known():
    with pytest.raises(TypeError):
        READ.rows(slug_prefix="")
    with pytest.raises(ValueError) as error:
        Prepared(lambda x: MLModel.objects.values_list("pk"), x="float")
    assert "unknown slot kind" in str(error.value)


@pytest.mark.postgres
def test_postgresql_plans_a_read_once_per_connection_outside_a_pooler(inventory):
    """Planning the gate's reads cost more than running them: the statement is prepared on the server the first
    time a connection runs it and executed by name after that; behind a transaction pooler it never is."""
    values = {"slug_prefix": "", "since": BASE, "day": date(2026, 1, 1), "versions_over": 0}
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    connection.connection.prepare_threshold = None  # as Django opens it
    for _ in range(3):
        assert READ.rows(**values) == list(_models(**values))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements")
        prepared = cursor.fetchall()
    if connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        assert prepared == []
    else:
        assert len(prepared) == 1 and "governance_mlmodel" in prepared[0][0]
        assert prepared[0][1] == 3  # one statement, executed three times
