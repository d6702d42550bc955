"""The incident state machine: INVESTIGATING → MITIGATED → RESOLVED → CLOSED, each step recording its time,
and who may open, edit and move an incident."""

import pytest

from governance.kernel.errors import Conflict, PermissionDenied, ValidationFailed
from governance.kernel.principals import SystemActor
from governance.kernel.roles import Role
from governance.models import AuditEvent
from postmortems import services
from postmortems.models import TRANSITIONS, Incident, IncidentStatus
from tests.postmortems.helpers import ago, open_incident

pytestmark = pytest.mark.django_db

WORKING = set(Role.values) - {"VIEWER"}


def test_incident_moves_through_each_status_and_records_each_time(people):
    actor = people["engineering"]
    incident = open_incident(actor, began_at=ago(hours=5), detected_at=ago(hours=4))
    assert incident.status == IncidentStatus.INVESTIGATING
    mitigated_at = ago(hours=3)
    incident = services.transition_incident(incident, actor=actor, to="MITIGATED", at=mitigated_at)
    assert incident.status == "MITIGATED" and incident.mitigated_at == mitigated_at
    incident = services.transition_incident(incident, actor=actor, to="RESOLVED")
    assert incident.resolved_at is not None
    incident = services.transition_incident(incident, actor=actor, to="CLOSED")
    incident.refresh_from_db()
    assert incident.status == "CLOSED" and incident.closed_at >= incident.resolved_at
    verbs = list(AuditEvent.objects.filter(object_type="postmortems.incident").values_list("verb", flat=True))
    assert verbs == ["incident.opened"] + ["incident.transitioned"] * 3


def test_mitigating_without_a_time_records_now(people):
    incident = open_incident(people["engineering"])
    incident = services.transition_incident(incident, actor=people["engineering"], to="MITIGATED")
    assert incident.mitigated_at is not None and incident.mitigated_at >= incident.detected_at


@pytest.mark.parametrize("start,to", [
    ("INVESTIGATING", "RESOLVED"), ("INVESTIGATING", "CLOSED"), ("MITIGATED", "CLOSED"),
    ("MITIGATED", "INVESTIGATING"), ("RESOLVED", "MITIGATED"), ("CLOSED", "INVESTIGATING"),
])
def test_only_the_next_status_is_reachable(people, start, to):
    actor = people["engineering"]
    incident = open_incident(actor, detected_at=ago(hours=6))
    path = ["MITIGATED", "RESOLVED", "CLOSED"]
    for step in path[:path.index(start) + 1] if start != "INVESTIGATING" else []:
        incident = services.transition_incident(incident, actor=actor, to=step)
    with pytest.raises(Conflict):
        services.transition_incident(incident, actor=actor, to=to)
    assert Incident.objects.get(pk=incident.pk).status == start


def test_the_transition_table_is_a_line_ending_in_closed():
    assert TRANSITIONS == {"INVESTIGATING": {"MITIGATED"}, "MITIGATED": {"RESOLVED"}, "RESOLVED": {"CLOSED"},
                           "CLOSED": set()}


def test_unknown_status_names_the_field(people):
    incident = open_incident(people["engineering"])
    with pytest.raises(ValidationFailed) as info:
        services.transition_incident(incident, actor=people["engineering"], to="FIXED")
    assert info.value.field == "status"


def test_status_times_are_set_by_transitions_not_edits(people):
    incident = open_incident(people["engineering"], detected_at=ago(hours=2))
    with pytest.raises(ValidationFailed) as info:
        services.update_incident(incident, actor=people["engineering"], mitigated_at=ago(hours=1))
    assert info.value.field == "mitigated_at"
    with pytest.raises(ValidationFailed) as info:
        services.update_incident(incident, actor=people["engineering"], status="RESOLVED")
    assert info.value.field == "status"


def test_a_reached_status_keeps_its_time(people):
    actor = people["engineering"]
    incident = open_incident(actor, detected_at=ago(hours=2))
    incident = services.transition_incident(incident, actor=actor, to="MITIGATED")
    with pytest.raises(ValidationFailed) as info:
        services.update_incident(incident, actor=actor, mitigated_at=None)
    assert info.value.field == "mitigated_at"


def test_editing_facts_is_audited_with_only_the_changes(people):
    actor = people["data_science"]
    incident = open_incident(actor, severity="SEV3")
    services.update_incident(incident, actor=actor, severity="SEV1", title="Approval rates shifted by segment")
    event = AuditEvent.objects.get(verb="incident.updated")
    assert event.before == {"severity": "SEV3"} and event.after == {"severity": "SEV1"}


@pytest.mark.parametrize("role", Role.values)
def test_working_roles_open_and_move_incidents_and_viewers_do_not(role, make_user):
    person = make_user(f"p_{role.lower()}", role)
    if role in WORKING:
        incident = open_incident(person)
        services.transition_incident(incident, actor=person, to="MITIGATED")
        services.add_timeline_event(incident, actor=person, at=ago(minutes=5), kind="OTHER", text="Noted.")
    else:
        with pytest.raises(PermissionDenied):
            open_incident(person)
        incident = open_incident()
        with pytest.raises(PermissionDenied):
            services.transition_incident(incident, actor=person, to="MITIGATED")
        with pytest.raises(PermissionDenied):
            services.add_timeline_event(incident, actor=person, at=ago(minutes=5), kind="OTHER", text="Noted.")
        assert Incident.objects.get(pk=incident.pk).status == "INVESTIGATING"


def test_the_system_opens_an_incident_with_its_timeline_in_one_step(people):
    breach_at = ago(minutes=30)
    incident = services.open_incident(
        actor=SystemActor("guardrails"), title="Guardrail breach: approval-rate AIR below 0.8", severity="SEV1",
        detection_source="ALERT", detected_at=ago(minutes=20),
        timeline=[{"at": breach_at, "kind": "DETECTION", "text": "AIR 0.71 for 3 windows; rolled back."}],
    )
    event = incident.timeline.get()
    assert (event.at, event.kind, event.author_label) == (breach_at, "DETECTION", "system:guardrails")
    assert incident.opened_by == "system:guardrails" and incident.created_by is None
    assert AuditEvent.objects.get(verb="incident.opened").actor_label == "system:guardrails"


def test_a_bad_timeline_entry_opens_nothing(people):
    with pytest.raises(ValidationFailed) as info:
        open_incident(timeline=[{"at": ago(minutes=3), "kind": "DETECTION", "text": "ok"},
                                {"at": ago(minutes=2), "kind": "PANIC", "text": "bad kind"}])
    assert info.value.field == "timeline[1].kind"
    assert not Incident.objects.exists()


def test_restricted_incident_opened_by_a_non_privileged_person_names_them_a_member(people):
    incident = open_incident(people["data_science"], restricted=True)
    assert list(incident.members.all()) == [people["data_science"]]


def test_only_legal_or_compliance_lift_a_restriction(people):
    author = people["data_science"]
    incident = open_incident(author, restricted=True)
    with pytest.raises(PermissionDenied) as info:
        services.update_incident(incident, actor=author, restricted=False)
    assert info.value.field == "restricted"
    assert info.value.code == "circle_change_forbidden"
    with pytest.raises(ValidationFailed) as info:
        services.update_incident(incident, actor=people["legal"], restricted=False)
    assert info.value.field == "reason"
    services.update_incident(incident, actor=people["legal"], restricted=False, reason="Privilege waived.")
    assert not Incident.objects.get(pk=incident.pk).restricted
