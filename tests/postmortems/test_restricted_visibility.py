"""A restricted incident is invisible to everyone but its named members, Legal and Compliance (administrators are
not privileged by being administrators):
in lists, detail pages (404, not 403), search, the API, dashboard counts, the follow-through page and exports."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from governance.kernel.principals import SystemActor, TokenPrincipal
from postmortems import services
from postmortems.models import TimelineEvent
from postmortems.selectors import dashboard_panels, follow_through, visible_incidents
from tests.factories import MLModelFactory
from tests.postmortems.helpers import ago, open_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(people, member):
    """One open and one restricted incident (member: ``member``), each with a postmortem and an action item."""
    public = open_incident(people["engineering"], title="Latency regression on scoring")
    secret = open_incident(people["legal"], title="Privileged fair-lending matter", restricted=True,
                           members=[member], began_at=ago(days=20), detected_at=ago(days=6))
    services.add_contributing_factor(secret, actor=people["legal"], category="DATA_VENDOR_CHANGE",
                                     description="Vendor repopulated the device field.")
    for incident in (public, secret):
        services.add_action_item(incident, actor=people["legal"], title=f"Fix for {incident.pk}", kind="PREVENT",
                                 owner=member, due_date=timezone.localdate() + timedelta(days=5))
        postmortem = services.start_postmortem(incident, actor=member)
        services.edit_postmortem(postmortem, actor=member, summary=f"Summary of {incident.title}")
    return public, secret


SEES_SECRET = {"member": True, "legal": True, "compliance": True, "admin": False, "outsider": False,
               "viewer": False, "model_risk": False, "data_science": False}


def person(name, people, member, outsider):
    return {"member": member, "outsider": outsider}.get(name) or people[name]


@pytest.mark.parametrize("name", sorted(SEES_SECRET))
def test_visible_incidents_decides_who_sees_a_restricted_incident(cases, people, member, outsider, name):
    public, secret = cases
    visible = set(visible_incidents(person(name, people, member, outsider)).values_list("pk", flat=True))
    assert public.pk in visible
    assert (secret.pk in visible) is SEES_SECRET[name]


def test_tokens_never_see_restricted_incidents_and_the_system_sees_all(cases, token_for):
    public, secret = cases
    token, _ = token_for("incidents:read")
    principal = TokenPrincipal(token=token, scopes=frozenset(token.scopes))
    assert list(visible_incidents(principal)) == [public]
    assert visible_incidents(SystemActor("reports")).count() == 2
    assert not visible_incidents(None).exists()


@pytest.mark.parametrize("name", sorted(SEES_SECRET))
def test_every_page_hides_the_restricted_incident_from_those_who_may_not_see_it(
        client, cases, people, member, outsider, name):
    public, secret = cases
    client.force_login(person(name, people, member, outsider))
    sees = SEES_SECRET[name]
    listed = [i.pk for i in client.get("/incidents/").context["incidents"]]
    assert (secret.pk in listed) is sees and public.pk in listed
    searched = [i.pk for i in client.get("/incidents/", {"q": "privileged"}).context["incidents"]]
    assert searched == ([secret.pk] if sees else [])
    item = secret.action_items.get()
    for url in (f"/incidents/{secret.pk}/", f"/incidents/{secret.pk}/postmortem/",
                f"/incidents/{secret.pk}/postmortem/export.md", f"/incidents/{secret.pk}/postmortem/export.json",
                f"/incidents/{secret.pk}/actions/{item.pk}/"):
        assert client.get(url).status_code == (200 if sees else 404), url


def test_a_non_member_cannot_write_to_a_restricted_incident_through_the_pages(client, cases, outsider):
    _, secret = cases
    client.force_login(outsider)
    response = client.post(f"/incidents/{secret.pk}/timeline/", {
        "at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "kind": "OTHER", "text": "Peek."})
    assert response.status_code == 404
    assert client.post(f"/incidents/{secret.pk}/transition/", {"to": "MITIGATED"}).status_code == 404
    assert client.post(f"/incidents/{secret.pk}/postmortem/check/", {"field": "summary"}).status_code == 404
    assert not TimelineEvent.objects.filter(incident=secret).exists()


def test_the_404_does_not_differ_from_a_missing_incident(client, cases, outsider):
    _, secret = cases
    client.force_login(outsider)
    hidden = client.get(f"/incidents/{secret.pk}/")
    missing = client.get("/incidents/999999/")
    assert hidden.status_code == missing.status_code == 404
    def without_csrf(response):
        text = re.sub(r'"X-CSRFToken": "[^"]+"', "", response.content.decode())
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)

    assert without_csrf(hidden) == without_csrf(missing)


def test_the_api_hides_restricted_incidents_from_tokens(api_client, cases, token_for):
    public, secret = cases
    _, secret_key = token_for("incidents:read")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret_key}")
    listed = [i["id"] for i in api_client.get("/api/v1/incidents/").json()["results"]]
    assert listed == [public.pk]
    assert api_client.get(f"/api/v1/incidents/{secret.pk}/").status_code == 404


def test_the_api_shows_a_restricted_incident_to_its_member_session(api_client, cases, member, outsider):
    _, secret = cases
    api_client.force_authenticate(member)
    assert api_client.get(f"/api/v1/incidents/{secret.pk}/").json()["restricted"] is True
    api_client.force_authenticate(outsider)
    assert api_client.get(f"/api/v1/incidents/{secret.pk}/").status_code == 404
    assert secret.pk not in [i["id"] for i in api_client.get("/api/v1/incidents/").json()["results"]]


def test_dashboard_counts_leave_out_what_the_person_may_not_see(cases, people, member, outsider):
    def counts(user):
        return {p["title"]: p["count"] for p in dashboard_panels(user)}

    assert counts(outsider)["Open incidents"] == 1
    assert counts(people["compliance"])["Open incidents"] == 2
    assert counts(member)["Open incidents"] == 2
    assert counts(member)["My action items"] == 2


def test_the_dashboard_page_does_not_name_the_restricted_incident(client, cases, outsider):
    client.force_login(outsider)
    html = client.get("/").content.decode()
    assert "Latency regression" in html and "Privileged" not in html


def test_follow_through_counts_only_visible_incidents(client, cases, people, outsider):
    assert follow_through(outsider)["incident_count"] == 1
    assert follow_through(people["legal"])["incident_count"] == 2
    assert dict(follow_through(outsider)["categories"])["Data or vendor change"] == 0
    client.force_login(outsider)
    html = client.get("/incidents/insights/").content.decode()
    assert "Privileged" not in html


def test_a_recurrence_of_a_hidden_incident_is_not_shown(client, cases, people, member, outsider):
    _, secret = cases
    credit = MLModelFactory(owner=people["engineering"])
    services.update_incident(secret, actor=people["legal"], models=[credit])
    later = open_incident(people["engineering"], title="Approval shift again", models=[credit],
                          factors=[{"category": "DATA_VENDOR_CHANGE", "description": "Vendor change again."}])
    assert later.recurrence_of == secret
    client.force_login(outsider)
    page = client.get(later.get_absolute_url())
    assert page.context["recurrence_of"] is None and f"#{secret.pk}" not in page.content.decode()
    assert follow_through(outsider)["recurrences"] == []
    assert api_recurrence(client, later) is None
    listed = {i["id"]: i["recurrence_of"] for i in client.get("/api/v1/incidents/").json()["results"]}
    assert listed[later.pk] is None
    client.force_login(member)
    assert client.get(later.get_absolute_url()).context["recurrence_of"] == secret
    listed = {i["id"]: i["recurrence_of"] for i in client.get("/api/v1/incidents/").json()["results"]}
    assert listed[later.pk] == secret.pk


def api_recurrence(client, incident):
    return client.get(f"/api/v1/incidents/{incident.pk}/").json()["recurrence_of"]


def test_the_list_page_query_count_does_not_grow_with_incidents(client, people, member, django_assert_max_num_queries):
    for n in range(30):
        incident = open_incident(people["legal"], title=f"Incident {n}", restricted=n % 3 == 0, members=[member])
        services.add_timeline_event(incident, actor=people["legal"], at=ago(minutes=n + 1), kind="OTHER",
                                    text="event")
        services.add_action_item(incident, actor=people["legal"], title="Do it", kind="PROCESS", owner=member,
                                 due_date=timezone.localdate())
    client.force_login(member)
    with django_assert_max_num_queries(7):
        response = client.get("/incidents/")
    assert len(response.context["incidents"]) == 30


def test_the_detail_page_query_count_does_not_grow_with_events(client, people, member, django_assert_max_num_queries):
    incident = open_incident(people["legal"], restricted=True, members=[member], detected_at=ago(days=30))
    for n in range(60):
        services.add_timeline_event(incident, actor=people["legal"], at=ago(days=29, hours=-n * 5), kind="OTHER",
                                    text=f"event {n}")
    for n in range(10):
        services.add_action_item(incident, actor=people["legal"], title=f"Item {n}", kind="PROCESS", owner=member,
                                 due_date=timezone.localdate() + timedelta(days=n))
        services.add_contributing_factor(incident, actor=people["legal"], category="PROCESS", description=f"F {n}")
    client.force_login(member)
    # 12, plus one each for the impact counts, remediations, notifications and committee asks the page shows.
    with django_assert_max_num_queries(16):
        response = client.get(incident.get_absolute_url())
    assert response.status_code == 200 and len([r for r in response.context["rows"] if r["type"] == "event"]) == 60
