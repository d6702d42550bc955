"""An incident's times carry their zone: the service refuses a time without one rather than guess it, as the API
does; forms give zoned times."""

from datetime import datetime

import pytest

from governance.kernel.errors import ValidationFailed
from postmortems import services
from postmortems.models import Incident
from tests.postmortems.helpers import ago, open_incident

pytestmark = pytest.mark.django_db


def test_a_time_without_a_zone_is_refused_at_opening(people):
    with pytest.raises(ValidationFailed) as info:
        open_incident(people["engineering"], detected_at=datetime(2026, 1, 1, 12, 0))
    assert info.value.field == "detected_at"
    assert not Incident.objects.exists()


def test_a_time_without_a_zone_is_refused_in_a_transition(people):
    incident = open_incident(people["engineering"], detected_at=ago(hours=2))
    with pytest.raises(ValidationFailed) as info:
        services.transition_incident(incident, actor=people["engineering"], to="MITIGATED",
                                     at=datetime(2026, 1, 1, 12, 0))
    assert info.value.field == "at"
    assert Incident.objects.get(pk=incident.pk).status == "INVESTIGATING"
