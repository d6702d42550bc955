"""The follow-through page: detection and resolution trends, incidents by factor category, on-time completion
of action items, and recurrences — as SVG charts and plain numbers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from postmortems import charts, services
from postmortems.models import ActionItem
from postmortems.selectors import follow_through
from tests.postmortems.helpers import ago, open_incident

pytestmark = pytest.mark.django_db


def resolved(actor, *, began_days, detected_days, resolved_days, factors=()):
    now = timezone.now().replace(microsecond=0)
    incident = open_incident(actor, began_at=now - timedelta(days=began_days),
                             detected_at=now - timedelta(days=detected_days), factors=factors)
    at = now - timedelta(days=resolved_days)
    services.transition_incident(incident, actor=actor, to="MITIGATED", at=at)
    return services.transition_incident(incident, actor=actor, to="RESOLVED", at=at)


def test_medians_and_categories(people):
    actor = people["engineering"]
    resolved(actor, began_days=40, detected_days=26, resolved_days=24,
             factors=[{"category": "DATA_VENDOR_CHANGE", "description": "d"},
                      {"category": "MONITORING_GAP", "description": "m"}])
    resolved(actor, began_days=10, detected_days=9, resolved_days=8,
             factors=[{"category": "MONITORING_GAP", "description": "m"}])
    data = follow_through(people["viewer"])
    assert data["incident_count"] == 2
    assert data["median_ttd"] == timedelta(days=7.5)
    assert data["median_ttr"] == timedelta(days=1.5)
    counts = dict(data["categories"])
    assert counts["Monitoring gap"] == 2 and counts["Data or vendor change"] == 1 and counts["Process"] == 0


def test_on_time_completion_rate(people):
    actor = people["engineering"]
    incident = open_incident(actor)
    today = timezone.localdate()

    def item(title, due_offset, status="OPEN", completed_offset=None):
        created = services.add_action_item(incident, actor=actor, title=title, kind="PROCESS", owner=actor,
                                           due_date=today)
        completed = timezone.now() + timedelta(days=completed_offset) if completed_offset is not None else None
        ActionItem.objects.filter(pk=created.pk).update(due_date=today + timedelta(days=due_offset), status=status,
                                                        completed_at=completed)

    item("done early", 5, "DONE", completed_offset=-1)
    item("done on the day", -2, "DONE", completed_offset=-2)
    item("done late", -10, "DONE", completed_offset=-3)
    item("overdue", -1)
    item("not due", 10)
    item("dropped", -5, "WONT_DO")
    data = follow_through(people["viewer"])
    assert data["items"] == {"on_time": 2, "late": 1, "overdue": 1, "not_due": 1}
    assert data["on_time_rate"] == 0.5


def test_marking_an_item_done_records_completion(people):
    actor = people["engineering"]
    incident = open_incident(actor)
    item = services.add_action_item(incident, actor=actor, title="x", kind="PROCESS", owner=actor,
                                    due_date=timezone.localdate() + timedelta(days=3))
    item = services.update_action_item(item, actor=actor, status="DONE")
    assert item.completed_at is not None and item.completed_on_time is True
    item = services.update_action_item(item, actor=actor, status="IN_PROGRESS")
    assert item.completed_at is None


def test_the_page_draws_both_charts_as_svg(client, people):
    resolved(people["engineering"], began_days=20, detected_days=6, resolved_days=4,
             factors=[{"category": "PROCESS", "description": "p"}])
    client.force_login(people["viewer"])
    response = client.get("/incidents/insights/")
    html = response.content.decode()
    assert html.count("<svg") == 2
    assert 'aria-label="Time to detect and time to resolve per incident"' in html
    assert 'aria-label="Incidents by contributing-factor category"' in html


def test_an_empty_page_says_so_instead_of_drawing(client, people):
    client.force_login(people["viewer"])
    html = client.get("/incidents/insights/").content.decode()
    assert "<svg" not in html and "No incident has both times recorded yet." in html


def test_charts_are_deterministic():
    points = [(ago(days=3), timedelta(hours=5)), (ago(days=1), timedelta(minutes=9))]
    assert charts.duration_trend_svg(points, points) == charts.duration_trend_svg(points, points)
    assert charts.factor_categories_svg([("Process", 0)]) == ""
