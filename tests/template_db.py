"""Test databases copied from one migrated template instead of migrated once per xdist worker and per run.

Migrating an empty database took most of a minute on a loaded 2-core machine, and every pytest worker did it
again, on every pass (.ci/run makes four passes on two databases). The template is the database ``migrate``
builds, made once per set of migrations and kept: its key hashes every installed app's migration files, the
models they describe and Django's version, so a changed or added migration makes a new template and the old
one is removed. Each worker then copies it: PostgreSQL with ``CREATE DATABASE ... TEMPLATE``, SQLite by the
backup API from the template file into the worker's in-memory database.

Building is serialised per template across processes (a PostgreSQL advisory lock, or a lock file for SQLite), and a template
is published only once complete (renamed into place), so a run killed while migrating leaves nothing half-made.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connections

_PREFIX = "test_gatehouse_tpl_"
_KEEP = 4  # templates of other sets of migrations kept, newest first: branches checked out side by side


def migrations_key() -> str:
    digest = hashlib.sha256(django.get_version().encode())
    for config in sorted(apps.get_app_configs(), key=lambda c: c.label):
        digest.update(config.label.encode())
        for model in sorted(config.get_models(include_auto_created=True), key=lambda m: m._meta.label):
            digest.update(model._meta.label.encode())
        folder = Path(config.path) / "migrations"
        for path in sorted(folder.glob("*.py")) if folder.is_dir() else ():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _point_at(connection: Any, name: str) -> None:
    connection.close()
    settings.DATABASES[connection.alias]["NAME"] = name
    connection.settings_dict["NAME"] = name


def _migrate_into(connection: Any, name: str) -> None:
    _point_at(connection, name)
    call_command("migrate", verbosity=0, interactive=False, database=connection.alias, run_syncdb=True)
    connection.close()


def _lock_id(key: str) -> int:
    return int(key[:15], 16)  # within a signed bigint


def _postgres(connection: Any, key: str) -> None:
    """One advisory lock per template: runs of different migrations build side by side; a template is dropped
    only by a run that can take its lock, so never while another run builds or copies it."""
    quote = connection.ops.quote_name
    template, building = f"{_PREFIX}{key}", f"{_PREFIX}{key}_{os.getpid()}"
    test_name = connection.creation._get_test_db_name()
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [_lock_id(key)])
        try:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template])
            if cursor.fetchone() is None:
                cursor.execute(f"DROP DATABASE IF EXISTS {quote(building)}")
                cursor.execute(f"CREATE DATABASE {quote(building)}")
                _migrate_into(connection, building)
                cursor.execute(f"ALTER DATABASE {quote(building)} RENAME TO {quote(template)}")
            cursor.execute(f"DROP DATABASE IF EXISTS {quote(test_name)}")
            cursor.execute(f"CREATE DATABASE {quote(test_name)} TEMPLATE {quote(template)}")
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_lock_id(key)])
        # newest first: a database's oid grows with its creation
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY oid DESC", [_PREFIX + "%"])
        existing = [row[0] for row in cursor.fetchall()]
        complete = [name for name in existing if name.count("_") == _PREFIX.count("_")]
        for stale in [name for name in existing if name not in complete[:_KEEP + 1] and name != template]:
            other = stale[len(_PREFIX):].split("_")[0]
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_lock_id(other)])
            if not cursor.fetchone()[0]:
                continue  # being built or copied by another run
            try:
                with contextlib.suppress(Exception):
                    cursor.execute(f"DROP DATABASE {quote(stale)}")
            finally:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_lock_id(other)])
    _point_at(connection, test_name)
    connection.ensure_connection()


@contextlib.contextmanager
def _file_lock(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive lock on ``path``; with ``wait=False``, yields False at once when another holds it."""
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sqlite(connection: Any, key: str) -> None:
    """One lock file per template, as for PostgreSQL; the copy is made under it, so never from a file being
    removed."""
    folder = Path(tempfile.gettempdir()) / "gatehouse-test-templates"
    folder.mkdir(exist_ok=True)
    template = folder / f"{key}.sqlite3"
    test_name = connection.creation._get_test_db_name()
    if not connection.creation.is_in_memory_db(test_name):
        raise RuntimeError(f"the SQLite test database must be in memory, not {test_name!r}")
    with _file_lock(folder / f"{key}.lock"):
        if not template.exists():
            building = folder / f"{key}.{os.getpid()}.building"
            building.unlink(missing_ok=True)
            _migrate_into(connection, str(building))
            with sqlite3.connect(building) as plain:  # one file, no write-ahead log beside it
                plain.execute("PRAGMA journal_mode=DELETE")
            plain.close()
            os.replace(building, template)
        os.utime(template)  # last used now: the newest are kept
        _point_at(connection, test_name)
        connection.ensure_connection()
        source = sqlite3.connect(f"file:{template}?mode=ro", uri=True)
        try:
            source.backup(connection.connection)
        finally:
            source.close()
    others = sorted((f for f in folder.glob("*.sqlite3") if f != template), key=lambda f: f.stat().st_mtime,
                    reverse=True)
    for stale in others[_KEEP:]:
        with _file_lock(folder / f"{stale.stem}.lock", wait=False) as held:
            if held:
                stale.unlink(missing_ok=True)
    for leftover in folder.glob("*.building"):
        with _file_lock(folder / f"{leftover.name.split('.')[0]}.lock", wait=False) as held:
            if held:  # no run holds its lock: its builder was killed
                leftover.unlink(missing_ok=True)


def setup_databases() -> list[tuple[Any, str, bool]]:
    """Create each test database from the template; returns what ``django.test.utils.teardown_databases``
    takes, so tearing down is Django's own."""
    key = migrations_key()
    created = []
    for alias in connections:
        connection = connections[alias]
        old_name = connection.settings_dict["NAME"]
        if connection.vendor == "postgresql":
            _postgres(connection, key)
        elif connection.vendor == "sqlite":
            _sqlite(connection, key)
        else:
            raise RuntimeError(f"no test database template for {connection.vendor}")
        created.append((connection, old_name, True))
    return created
