"""Time to detect, mitigate and resolve are derived from the recorded times, never stored or typed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from postmortems import services
from postmortems.models import Incident
from tests.postmortems.helpers import ago, open_incident

pytestmark = pytest.mark.django_db


def test_durations_follow_the_recorded_times(people):
    actor = people["engineering"]
    detected = ago(days=2)
    began = detected - timedelta(days=14)
    incident = open_incident(actor, began_at=began, detected_at=detected)
    incident = services.transition_incident(incident, actor=actor, to="MITIGATED", at=detected + timedelta(hours=6))
    incident = services.transition_incident(incident, actor=actor, to="RESOLVED", at=detected + timedelta(hours=48))
    assert incident.time_to_detect == timedelta(days=14)
    assert incident.time_to_mitigate == timedelta(hours=6)
    assert incident.time_to_resolve == timedelta(hours=48)


def test_durations_are_unknown_until_their_times_are(people):
    incident = open_incident(people["engineering"])
    assert incident.began_at is None
    assert (incident.time_to_detect, incident.time_to_mitigate, incident.time_to_resolve) == (None, None, None)


def test_no_duration_is_a_stored_column():
    columns = {f.name for f in Incident._meta.get_fields()}
    assert not {"time_to_detect", "time_to_mitigate", "time_to_resolve"} & columns


def test_correcting_a_time_changes_the_duration(people):
    actor = people["engineering"]
    incident = open_incident(actor, began_at=ago(hours=10), detected_at=ago(hours=4))
    services.update_incident(incident, actor=actor, began_at=ago(hours=5))
    incident.refresh_from_db()
    assert abs(incident.time_to_detect - timedelta(hours=1)) < timedelta(seconds=5)


def test_the_incident_page_shows_the_durations(client, people):
    actor = people["engineering"]
    detected = timezone.now() - timedelta(days=1)
    incident = open_incident(actor, began_at=detected - timedelta(days=14), detected_at=detected)
    services.transition_incident(incident, actor=actor, to="MITIGATED", at=detected + timedelta(hours=12))
    client.force_login(people["viewer"])
    html = client.get(incident.get_absolute_url()).content.decode()
    assert "14 days" in html and "12 hours" in html


def test_the_api_gives_durations_in_seconds(api_client, people):
    actor = people["engineering"]
    detected = ago(hours=3)
    incident = open_incident(actor, began_at=detected - timedelta(minutes=9), detected_at=detected)
    api_client.force_authenticate(people["viewer"])
    body = api_client.get(f"/api/v1/incidents/{incident.pk}/").json()
    assert body["time_to_detect_seconds"] == 540 and body["time_to_resolve_seconds"] is None
