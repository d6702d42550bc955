"""A database made by the migrations before reports moved to their own app keeps every row after migrating
forward: the move changes Django's state only, never a table."""

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

# The leaf migrations of every app before the layers were split out of governance.
BEFORE_LAYERS = [("governance", "0004_reports"), ("readiness", "0001_initial"), ("postmortems", "0001_initial"),
                 ("reporting", None)]
PROJECT_APPS = ("governance", "readiness", "postmortems", "reporting")


def _rows() -> dict[str, set]:
    """Every row of every project table, by primary key."""
    rows = {}
    for model in apps.get_models():
        if model._meta.app_label in PROJECT_APPS and not model._meta.proxy:
            rows[model._meta.db_table] = set(model._base_manager.values_list("pk", flat=True))
    return rows


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_every_seeded_row_survives_the_move_to_layers():
    call_command("seed_examples", verbosity=0)
    before = _rows()
    assert sum(map(len, before.values())) > 1000

    _migrate(BEFORE_LAYERS)
    # The database as the earlier code left it: a report row written through that code's own model state.
    old_state = MigrationExecutor(connection).loader.project_state([t for t in BEFORE_LAYERS if t[1]])
    OldReport = old_state.apps.get_model("governance", "Report")
    OldLaunch = old_state.apps.get_model("readiness", "LaunchRequest")
    launch = OldLaunch.objects.order_by("pk").first()
    old_report = OldReport.objects.create(kind="LAUNCH_DOSSIER", launch_id=launch.pk, title="Dossier",
                                          requested_by_label="seed", content_hash="0" * 64, dedupe_key="1" * 64)

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    # Tables added after the layers were split (and dropped by migrating back) are not part of the move.
    old_tables = {m._meta.db_table for m in old_state.apps.get_models()}
    before = {table: pks for table, pks in before.items() if table in old_tables}
    after = {table: pks for table, pks in _rows().items() if table in old_tables}
    assert after.pop("governance_report") == before.pop("governance_report") | {old_report.pk}
    assert after == before

    from reporting.models import Report

    moved = Report.objects.get(pk=old_report.pk)
    assert moved.launch_id == launch.pk and moved.title == "Dossier"
