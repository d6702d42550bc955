"""Action items: who may add them, who may own them, due dates, completion, and the overdue flag."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.kernel.errors import PermissionDenied, ValidationFailed
from governance.kernel.roles import Role
from governance.models import AuditEvent
from postmortems import services
from postmortems.models import ActionItem
from tests.postmortems.helpers import open_incident

pytestmark = pytest.mark.django_db


def add(incident, actor, owner, **extra):
    data = {"title": "Add a fairness drift alert", "kind": "DETECT", "owner": owner,
            "due_date": timezone.localdate() + timedelta(days=14)}
    data.update(extra)
    return services.add_action_item(incident, actor=actor, **data)


@pytest.mark.parametrize("role", Role.values)
def test_working_roles_add_action_items_and_viewers_do_not(role, people):
    incident = open_incident()
    actor = people[role.lower()]
    if role == "VIEWER":
        with pytest.raises(PermissionDenied):
            add(incident, actor, people["data_science"])
        assert not ActionItem.objects.exists()
    else:
        item = add(incident, actor, people["data_science"])
        assert AuditEvent.objects.get(verb="action_item.added", object_id=str(item.pk)).after["owner"] == (
            people["data_science"].username)


def test_the_owner_of_an_item_on_a_restricted_incident_must_be_able_to_see_it(people, member, outsider):
    incident = open_incident(people["legal"], restricted=True, members=[member])
    with pytest.raises(ValidationFailed) as info:
        add(incident, people["legal"], outsider)
    assert info.value.field == "owner"
    assert add(incident, people["legal"], member).owner == member
    assert add(incident, people["legal"], people["compliance"]).owner == people["compliance"]


def test_today_is_an_acceptable_due_date(people):
    item = add(open_incident(), people["engineering"], people["engineering"], due_date=timezone.localdate())
    assert not item.is_overdue


def test_moving_a_due_date_into_the_past_is_refused(people):
    item = add(open_incident(), people["engineering"], people["engineering"])
    with pytest.raises(ValidationFailed) as info:
        services.update_action_item(item, actor=people["engineering"],
                                    due_date=timezone.localdate() - timedelta(days=1))
    assert info.value.field == "due_date"


def test_an_open_item_past_its_due_date_is_overdue_and_a_done_one_is_not(people):
    item = add(open_incident(), people["engineering"], people["engineering"])
    ActionItem.objects.filter(pk=item.pk).update(due_date=timezone.localdate() - timedelta(days=1))
    item.refresh_from_db()
    assert item.is_overdue
    item = services.update_action_item(item, actor=people["engineering"], status="DONE")
    assert not item.is_overdue and item.completed_on_time is False


@pytest.mark.parametrize("field,value", [("kind", "FIX"), ("priority", "P0"), ("status", "FINISHED"),
                                         ("title", "")])
def test_bad_values_name_their_field(people, field, value):
    item = add(open_incident(), people["engineering"], people["engineering"])
    with pytest.raises(ValidationFailed) as info:
        services.update_action_item(item, actor=people["engineering"], **{field: value})
    assert info.value.field == field


def test_updating_through_the_item_page(client, people):
    item = add(open_incident(), people["engineering"], people["engineering"])
    client.force_login(people["engineering"])
    response = client.post(item.get_absolute_url(), {
        "update": "1", "title": item.title, "kind": "DETECT", "owner": people["data_science"].pk,
        "due_date": item.due_date.isoformat(), "priority": "P1", "status": "IN_PROGRESS"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.owner, item.priority, item.status) == (people["data_science"], "P1", "IN_PROGRESS")


def test_admin_lists_every_postmortems_model(client, people):
    add(open_incident(), people["engineering"], people["engineering"])
    client.force_login(people["admin"])
    for name in ("incident", "timelineevent", "contributingfactor", "actionitem", "postmortem",
                 "postmortemreview", "postmortemamendment"):
        assert client.get(f"/admin/postmortems/{name}/").status_code == 200, name
