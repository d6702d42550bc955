"""The governance pack describes what serves decisions now, not every launch ever made: on a history with many
launched versions per model it lists each model's newest launched version and whatever is rolling out beside it,
so the pack stays a committee's length however many years the history holds."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from examples.scale import Sizes, generate
from readiness.models import LaunchRequest, LaunchStatus
from reporting.gather_extras import _fairness_monitors, _inventory

SIZES = dict(models=3, launches=60, incidents=3, observations=300, audit_events=200, rollouts_in_progress=2,
             policy_changes=1, years=3)


def test_monitors_cover_the_serving_versions_only(db):
    generate(Sizes(**SIZES))
    launched = LaunchRequest.objects.filter(status=LaunchStatus.LAUNCHED).select_related("version")
    newest = {}
    for launch in launched.order_by("launched_at", "pk"):
        newest[launch.version.model_id] = launch.pk
    coming = set(LaunchRequest.objects.filter(status__in=(LaunchStatus.ROLLING_OUT, LaunchStatus.APPROVED))
                 .values_list("pk", flat=True))
    assert launched.count() > len(newest)  # the history holds superseded launched versions
    listed = {row["launch"] for row in _fairness_monitors()}
    assert listed <= set(newest.values()) | coming
    older = set(launched.values_list("pk", flat=True)) - set(newest.values())
    assert not listed & older


def test_the_inventory_names_each_models_newest_launch_in_a_few_queries(db):
    generate(Sizes(**SIZES))
    with CaptureQueriesContext(connection) as queries:
        rows = _inventory(None)
    # models with versions, the newest launch of each, and each model's validation from the records (models with the
    # validation in force, open findings by severity, open needs): no per-row query
    assert len(queries) <= 6
    for row in rows:
        if row["launch"]:
            newest = (LaunchRequest.objects.filter(version__model__slug=row["slug"])
                      .order_by("-created_at", "-pk").first())
            assert row["launch"]["id"] == newest.pk
