"""A new incident sharing a contributing-factor category and a model with one in the previous 180 days is
marked as a recurrence — at creation, and again whenever a contributing factor is added."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.models import AuditEvent
from postmortems import services
from tests.factories import MLModelFactory
from tests.postmortems.helpers import open_incident

pytestmark = pytest.mark.django_db

VENDOR = [{"category": "DATA_VENDOR_CHANGE", "description": "The vendor changed a field."}]


@pytest.fixture
def credit(db):
    return MLModelFactory(slug="credit", name="Credit decisioning")


def earlier(credit, days_ago, **extra):
    when = timezone.now() - timedelta(days=days_ago)
    return open_incident(title=f"Earlier, {days_ago} days ago", detected_at=when, models=[credit], factors=VENDOR,
                         **extra)


def test_a_shared_category_and_model_within_180_days_marks_a_recurrence_at_creation(credit):
    first = earlier(credit, 90)
    again = open_incident(title="Again", models=[credit], factors=VENDOR)
    assert again.recurrence_of == first
    assert AuditEvent.objects.filter(verb="incident.recurrence_marked", object_id=str(again.pk)).exists()


def test_the_most_recent_earlier_incident_is_named(credit):
    earlier(credit, 150)
    recent = earlier(credit, 20)
    assert open_incident(models=[credit], factors=VENDOR).recurrence_of == recent


def test_older_than_180_days_is_not_a_recurrence(credit):
    earlier(credit, 181)
    assert open_incident(models=[credit], factors=VENDOR).recurrence_of is None


def test_a_different_model_is_not_a_recurrence(credit):
    earlier(credit, 30)
    other = MLModelFactory()
    assert open_incident(models=[other], factors=VENDOR).recurrence_of is None


def test_a_different_category_is_not_a_recurrence(credit):
    earlier(credit, 30)
    infra = [{"category": "INFRASTRUCTURE", "description": "A node failed."}]
    assert open_incident(models=[credit], factors=infra).recurrence_of is None


def test_adding_a_factor_later_marks_the_recurrence(credit, people):
    first = earlier(credit, 40)
    again = open_incident(models=[credit])
    assert again.recurrence_of is None
    services.add_contributing_factor(again, actor=people["engineering"], category="DATA_VENDOR_CHANGE",
                                     description="Same vendor, different field.")
    again.refresh_from_db()
    assert again.recurrence_of == first


def test_a_factor_added_to_the_earlier_incident_marks_the_later_one(credit, people):
    first = open_incident(title="First", detected_at=timezone.now() - timedelta(days=60), models=[credit])
    again = open_incident(title="Again", models=[credit], factors=VENDOR)
    assert again.recurrence_of is None
    services.add_contributing_factor(first, actor=people["engineering"], category="DATA_VENDOR_CHANGE",
                                     description="Found in the postmortem.")
    again.refresh_from_db()
    assert again.recurrence_of == first


def test_an_earlier_incident_is_never_a_recurrence_of_a_later_one(credit):
    first = earlier(credit, 30)
    open_incident(models=[credit], factors=VENDOR)
    first.refresh_from_db()
    assert first.recurrence_of is None


def test_recurrences_are_listed_on_the_follow_through_page(client, credit, people):
    first = earlier(credit, 30)
    again = open_incident(title="Vendor drift again", models=[credit], factors=VENDOR)
    client.force_login(people["viewer"])
    response = client.get("/incidents/insights/")
    assert response.context["recurrences"] == [again]
    html = response.content.decode()
    assert f"#{again.pk} Vendor drift again" in html and f"#{first.pk}" in html and "Data or vendor change" in html
