"""Who may see a restricted incident is decided by Legal or Compliance alone, with a reason on the record; and a
token limited to some models reaches incidents on those models only, on every incident endpoint."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.kernel.errors import PermissionDenied, ValidationFailed
from governance.models import AuditEvent, MLModel
from postmortems import services
from postmortems.models import Incident, TimelineEvent
from tests.postmortems.helpers import make_launch, open_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def secret(people, member):
    return open_incident(people["legal"], title="Privileged matter", restricted=True, members=[member])


@pytest.mark.parametrize("name", ["data_science", "engineering", "model_risk", "product"])
def test_a_member_outside_legal_and_compliance_cannot_widen_the_circle(secret, people, member, name):
    viewer = people["viewer"]
    services.update_incident(secret, actor=people["legal"], members=[member, people[name]], reason="Works on it.")
    with pytest.raises(PermissionDenied) as info:
        services.update_incident(secret, actor=people[name], members=[member, people[name], viewer])
    assert info.value.code == "circle_change_forbidden" and info.value.field == "members"
    with pytest.raises(PermissionDenied) as info:
        services.update_incident(secret, actor=people[name], members=[people[name]])
    assert info.value.code == "circle_change_forbidden"
    with pytest.raises(PermissionDenied) as info:
        services.update_incident(secret, actor=people[name], restricted=False)
    assert info.value.code == "circle_change_forbidden" and info.value.field == "restricted"
    assert set(Incident.objects.get(pk=secret.pk).members.all()) == {member, people[name]}


def test_an_administrator_is_not_legal(secret, people):
    from tests.factories import make_user

    root = make_user("root_circle", superuser=True)
    assert not Incident.objects.filter(pk=secret.pk, members=root).exists()
    with pytest.raises(PermissionDenied):
        services.update_incident(secret, actor=root, members=[root])


def test_nobody_but_legal_or_compliance_names_members_when_opening(people):
    with pytest.raises(PermissionDenied) as info:
        open_incident(people["data_science"], restricted=True, members=[people["viewer"]])
    assert info.value.code == "circle_change_forbidden"


@pytest.mark.parametrize("name", ["legal", "compliance"])
def test_legal_or_compliance_change_the_circle_with_a_reason_on_the_record(secret, people, member, name):
    actor = people[name]
    with pytest.raises(ValidationFailed) as info:
        services.update_incident(secret, actor=actor, members=[member, people["viewer"]])
    assert info.value.field == "reason"
    services.update_incident(secret, actor=actor, members=[member, people["viewer"]], reason="Counsel asked.")
    event = AuditEvent.objects.filter(verb="incident.updated", object_id=str(secret.pk)).last()
    assert event.actor == actor and event.after["reason"] == "Counsel asked."
    assert event.after["members"] == sorted([member.username, people["viewer"].username])
    services.update_incident(secret, actor=actor, restricted=False, reason="Privilege waived.")
    event = AuditEvent.objects.filter(verb="incident.updated", object_id=str(secret.pk)).last()
    assert event.after == {"restricted": False, "reason": "Privilege waived."} and event.source.incident_id == secret.pk


def test_the_edit_page_refuses_a_member_widening_the_circle_with_the_message(client, secret, people, member):
    client.force_login(member)
    page = client.get(f"/incidents/{secret.pk}/edit/")
    data = {k: v for k, v in page.context["form"].initial.items() if v not in (None, "")}
    data.update(severity=secret.severity, detection_source=secret.detection_source, restricted="on",
                detected_at=timezone.localtime(secret.detected_at).strftime("%Y-%m-%dT%H:%M"),
                members=[member.pk, people["viewer"].pk], launch="")
    data.pop("models", None)
    response = client.post(f"/incidents/{secret.pk}/edit/", data)
    assert response.status_code == 200 and "Only Legal or Compliance" in response.content.decode()
    assert set(Incident.objects.get(pk=secret.pk).members.all()) == {member}


# -- tokens limited to models ---------------------------------------------------------------------------------------

@pytest.fixture
def two_models(people):
    mine = make_launch(author=people["data_science"], title="Mine")
    theirs = make_launch(author=people["data_science"], title="Theirs")
    return mine, theirs


def _incident_on(people, launch, title):
    return open_incident(people["engineering"], title=title, launch=launch)


def test_a_limited_token_reaches_only_its_models_incidents_on_every_endpoint(api_client, token_for, people,
                                                                              two_models):
    mine, theirs = two_models
    own = _incident_on(people, mine, "Own incident")
    foreign = _incident_on(people, theirs, "Foreign incident")
    loose = open_incident(people["engineering"], title="No model at all")
    _, key = token_for("incidents:read", "incidents:write", "models:read", models=[mine.version.model])
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    listed = [i["id"] for i in api_client.get("/api/v1/incidents/").json()["results"]]
    assert listed == [own.pk] and foreign.pk not in listed and loose.pk not in listed
    assert api_client.get(f"/api/v1/incidents/{own.pk}/").status_code == 200
    assert api_client.get(f"/api/v1/incidents/{foreign.pk}/").status_code == 404
    event = {"at": (timezone.now() - timedelta(minutes=1)).isoformat(), "kind": "OTHER", "text": "From CI."}
    assert api_client.post(f"/api/v1/incidents/{foreign.pk}/timeline/", event, format="json").status_code == 404
    assert not TimelineEvent.objects.filter(incident=foreign, text="From CI.").exists()
    assert api_client.post(f"/api/v1/incidents/{own.pk}/timeline/", event, format="json").status_code == 201
    opened = {"title": "Opened from CI", "severity": "SEV3", "detection_source": "ALERT", "launch": theirs.pk}
    assert api_client.post("/api/v1/incidents/", opened, format="json").status_code == 403
    opened = {**opened, "launch": theirs.pk, "models": [mine.version.model.slug]}
    assert api_client.post("/api/v1/incidents/", opened, format="json").status_code == 403
    assert not Incident.objects.filter(title="Opened from CI").exists()
    opened = {**opened, "launch": mine.pk}
    response = api_client.post("/api/v1/incidents/", opened, format="json")
    assert response.status_code == 201, response.json()
    slugs = [m["slug"] for m in api_client.get("/api/v1/models/").json()["results"]]
    assert slugs == [mine.version.model.slug] and MLModel.objects.count() >= 2
    assert api_client.get(f"/api/v1/models/{theirs.version.model.slug}/").status_code == 403


def test_an_incident_on_two_models_is_beyond_a_token_limited_to_one(api_client, token_for, people, two_models):
    mine, theirs = two_models
    both = open_incident(people["engineering"], title="Both", models=[mine.version.model, theirs.version.model])
    _, key = token_for("incidents:read", models=[mine.version.model])
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api_client.get(f"/api/v1/incidents/{both.pk}/").status_code == 404
