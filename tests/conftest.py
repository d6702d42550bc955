"""Settings and fixtures every test shares: a flush that passes the audit trigger, PostgreSQL-only
tests skipped on SQLite, test-speed settings, an API client and one person per role."""

import os

import pytest
from django.db import connection, connections
from django.test import TransactionTestCase
from hypothesis import settings

# A property is about what the rules decide, not how fast: on a loaded 2-core machine Hypothesis's default
# 200 ms deadline failed a pure classification test at random. Speed targets live in bench/.
settings.register_profile("gatehouse", deadline=None)
settings.load_profile("gatehouse")

_flush_after_transactional_test = TransactionTestCase._fixture_teardown
POOLED = os.environ.get("TEST_POOLER") == "pgbouncer"


def _flush_past_the_audit_truncate_trigger(self):
    """Between transactional tests Django empties every table with one TRUNCATE, which the audit table refuses
    on PostgreSQL, as it must in production. The test database's superuser flushes in replica mode, where
    ordinary triggers do not fire, and returns to the normal mode before the next test."""
    postgres = [connections[alias] for alias in self._databases_names(include_mirrors=False)
                if connections[alias].vendor == "postgresql"]
    if POOLED and postgres:
        # Behind PgBouncer in transaction mode a session SET may land on another server connection than the
        # TRUNCATE: set the mode for the flush's own transaction instead.
        from django.db import transaction

        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
            _flush_after_transactional_test(self)
        return
    for conn in postgres:
        with conn.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
    try:
        _flush_after_transactional_test(self)
    finally:
        for conn in postgres:
            with conn.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")


TransactionTestCase._fixture_teardown = _flush_past_the_audit_truncate_trigger


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker, django_db_modify_db_settings):
    """Each worker's test database is a copy of one migrated template (tests/template_db.py), not a migration
    of its own; teardown is Django's."""
    from django.test.utils import teardown_databases

    from tests.template_db import setup_databases

    with django_db_blocker.unblock():
        created = setup_databases()
    yield
    with django_db_blocker.unblock():
        teardown_databases(created, verbosity=request.config.option.verbose)


@pytest.fixture(scope="session", autouse=True)
def _through_the_pooler(request):
    """With TEST_POOLER=pgbouncer, every connection after the test database is made goes through PgBouncer in
    transaction mode (tests/pooler.py)."""
    if not POOLED:
        yield None
        return
    from tests.pooler import pgbouncer, route_through

    request.getfixturevalue("django_db_setup")
    settings_dict = connections["default"].settings_dict
    if connections["default"].vendor != "postgresql":
        raise RuntimeError("TEST_POOLER=pgbouncer needs DATABASE_URL on PostgreSQL")
    with pgbouncer(settings_dict["HOST"], settings_dict["PORT"], settings_dict["USER"] or "postgres") as port:
        for conn in connections.all():
            conn.close()
        saved = route_through(settings_dict, port)
        try:
            yield port
        finally:
            for conn in connections.all():
                conn.close()
            settings_dict.update(saved)


# Suites that dominate the run time; they are marked ``slow`` here so the README command (``-m "not slow"``)
# stays short, and .ci/run runs them once on PostgreSQL. A test may also be marked ``slow`` where it is written.
SLOW_MARKERS = ("e2e", "mlflow", "services")
SLOW_FILES = ("tests/api/test_schema_fuzz.py", "tests/scale/", "tests/postmortems/test_canary.py")


def pytest_runtest_logreport(report):
    """With ``GATEHOUSE_RAN_TESTS`` set, the controlling process writes the id of every test it received a report
    for (passed, failed or skipped) to that file, so .ci/run can prove the README command and the slow set
    together ran every collected test."""
    path = os.environ.get("GATEHOUSE_RAN_TESTS")
    if path and report.when == "teardown" and not os.environ.get("PYTEST_XDIST_WORKER"):
        with open(path, "a", encoding="utf-8") as ran:
            ran.write(report.nodeid + "\n")


def pytest_collection_modifyitems(config, items):
    """Browser, MLflow, schema-fuzz and scale suites are ``slow``. PostgreSQL-only tests (races, triggers) run in
    CI's PostgreSQL pass and are skipped on SQLite."""
    from django.conf import settings

    for item in items:
        path = item.nodeid.split("::", 1)[0]
        if any(m in item.keywords for m in SLOW_MARKERS) or path.startswith(SLOW_FILES):
            item.add_marker(pytest.mark.slow)

    vendor = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: run with DATABASE_URL=postgres://...")
    for item in items:
        if "postgres" in item.keywords and vendor != "postgresql":
            item.add_marker(skip_pg)


@pytest.fixture(autouse=True)
def _settings_for_tests(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.REPORTS_RENDER_AFTER_RESPONSE = False  # a report is rendered by the time its request returns
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def make_user(db):
    from tests.factories import make_user

    return make_user


@pytest.fixture
def people(db):
    """The one set of test people, keyed by role (see ``tests.factories.make_people``)."""
    from tests.factories import make_people

    return make_people()


@pytest.fixture
def token_for(db):
    from governance.kernel.principals import SystemActor
    from governance.kernel.services import issue_api_token

    counter = {"n": 0}

    def build(*scopes, models=(), expires_days=None):
        counter["n"] += 1
        token, secret = issue_api_token(
            actor=SystemActor("tests"), name=f"ci-{counter['n']}", scopes=scopes or ["gate:read"], models=models,
            expires_days=expires_days,
        )
        return token, secret

    return build
