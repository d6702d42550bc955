"""Impact figures have one declared shape: the API, the incident form and the service all check against it, and
each names the figure at fault."""

import pytest

from governance.kernel.errors import ValidationFailed
from governance.models import AuditEvent
from postmortems.models import Incident
from tests.postmortems.helpers import open_incident

pytestmark = pytest.mark.django_db


def test_a_segment_listed_twice_is_refused_at_the_second_listing(people):
    figures = {"approval_rate_shift": [{"segment": "A", "shift_pct": 1}, {"segment": "A", "shift_pct": 2}]}
    with pytest.raises(ValidationFailed) as info:
        open_incident(people["compliance"], impact_figures=figures)
    assert info.value.field == "impact_figures.approval_rate_shift[1].segment"
    assert not Incident.objects.exists()


@pytest.mark.parametrize("figures,field", [
    ({"revenue_impact": float("nan")}, "impact_figures.revenue_impact"),
    ({"revenue_impact": True}, "impact_figures.revenue_impact"),
    ({"approval_rate_shift": [{"segment": "A", "shift_pct": float("inf")}]},
     "impact_figures.approval_rate_shift[0].shift_pct"),
    ({"approval_rate_shift": [{"segment": "A", "shift_pct": 1, "note": "x"}]},
     "impact_figures.approval_rate_shift[0].note"),
    ([1, 2], "impact_figures"),
])
def test_the_service_checks_figures_against_the_declaration(people, figures, field):
    with pytest.raises(ValidationFailed) as info:
        open_incident(people["compliance"], impact_figures=figures)
    assert info.value.field == field
    assert not Incident.objects.exists()


def test_whole_numbers_stay_whole(people):
    incident = open_incident(people["compliance"], impact_figures={"revenue_impact": -12_500, "decisions_affected": 3})
    assert Incident.objects.get(pk=incident.pk).impact_figures == {"decisions_affected": 3, "revenue_impact": -12_500}
    assert isinstance(Incident.objects.get(pk=incident.pk).impact_figures["revenue_impact"], int)


def test_the_form_shows_a_figure_fault_beside_its_input(client, people):
    client.force_login(people["compliance"])
    events = AuditEvent.objects.count()
    response = client.post("/incidents/new/", {
        "title": "Approval rates shifted", "severity": "SEV2", "detection_source": "MONITORING",
        "approval_rate_shift": "segment A: +4.1\nsegment A: +400"})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"approval_rate_shift"}
    assert not Incident.objects.exists() and AuditEvent.objects.count() == events


def test_the_api_names_the_figure_at_fault(api_client, people):
    api_client.force_authenticate(user=people["compliance"])
    response = api_client.post("/api/v1/incidents/", {
        "title": "t", "severity": "SEV2", "detection_source": "MONITORING",
        "impact_figures": {"approval_rate_shift": [{"segment": "A", "shift_pct": 1}, {"segment": "A",
                                                                                      "shift_pct": 2}]}},
        format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "impact_figures.approval_rate_shift[1].segment"
    assert not Incident.objects.exists()
