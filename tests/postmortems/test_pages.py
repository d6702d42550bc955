"""The incident and postmortem pages: filters, forms, the in-place timeline, gaps, and the live blameless check."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.kernel.roles import Role
from postmortems import services
from postmortems.models import ActionItem, ContributingFactor, Incident, TimelineEvent
from tests.factories import make_user
from tests.postmortems.helpers import ago, make_launch, open_incident

pytestmark = pytest.mark.django_db


def test_the_list_filters_by_status_severity_and_search(client, people):
    a = open_incident(people["engineering"], title="Vendor field drift", severity="SEV1")
    b = open_incident(people["engineering"], title="Latency regression", severity="SEV3")
    services.transition_incident(b, actor=people["engineering"], to="MITIGATED")
    client.force_login(people["viewer"])

    def titles(**params):
        return [i.title for i in client.get("/incidents/", params).context["incidents"]]

    assert set(titles()) == {a.title, b.title}
    assert titles(severity="SEV1") == [a.title]
    assert titles(status="MITIGATED") == [b.title]
    assert titles(q="vendor") == [a.title]


def test_search_finds_words_in_the_timeline(client, people):
    incident = open_incident(people["engineering"], title="Approval shift")
    services.add_timeline_event(incident, actor=people["engineering"], at=ago(hours=1), kind="ESCALATION",
                                text="Briefed the Chief Compliance Officer")
    open_incident(people["engineering"], title="Other")
    client.force_login(people["viewer"])
    assert [i.pk for i in client.get("/incidents/", {"q": "chief compliance"}).context["incidents"]] == [incident.pk]


def test_opening_an_incident_through_the_form(client, people):
    client.force_login(people["compliance"])
    response = client.post("/incidents/new/", {
        "title": "Approval rates shifted by segment", "severity": "SEV1", "detection_source": "COMPLIANCE_REVIEW",
        "began_at": (timezone.localtime() - timedelta(days=14)).strftime("%Y-%m-%dT%H:%M"),
        "decisions_affected": "18240", "approval_rate_shift": "segment A: +4.1\nsegment B: -3.7",
        "fair_lending": "on", "summary": "Found in a compliance review."})
    incident = Incident.objects.get()
    assert response.status_code == 302 and response["Location"] == incident.get_absolute_url()
    assert incident.fair_lending and incident.impact_figures == {
        "decisions_affected": 18240,
        "approval_rate_shift": [{"segment": "segment A", "shift_pct": 4.1},
                                {"segment": "segment B", "shift_pct": -3.7}]}


def test_a_viewer_cannot_open_an_incident(client, people):
    client.force_login(people["viewer"])
    assert client.get("/incidents/new/").status_code == 403


def test_the_timeline_shows_the_launch_and_highlights_the_two_week_gap(client, people):
    now = timezone.now()
    launch = make_launch(author=people["data_science"], title="Credit model refresh",
                         rollout_started_at=now - timedelta(days=16))
    incident = open_incident(people["compliance"], launch=launch, began_at=now - timedelta(days=16),
                             detected_at=now - timedelta(days=2), detection_source="COMPLIANCE_REVIEW",
                             timeline=[{"at": now - timedelta(days=2), "kind": "DETECTION",
                                        "text": "Compliance analyst found the demographic pattern."},
                                       {"at": now - timedelta(days=2, hours=-3), "kind": "ESCALATION",
                                        "text": "CCO and General Counsel briefed."}])
    assert list(incident.models.all()) == [launch.version.model]
    client.force_login(people["viewer"])
    response = client.get(incident.get_absolute_url())
    rows = response.context["rows"]
    assert [r["type"] for r in rows] == ["launch", "gap", "event", "event"]
    assert rows[1]["duration"] == timedelta(days=14)
    html = response.content.decode()
    assert 'class="gap"' in html and "14 days" in html and "Credit model refresh" in html


def test_adding_a_timeline_event_with_htmx_returns_only_the_timeline(client, people):
    incident = open_incident(people["engineering"])
    client.force_login(people["engineering"])
    response = client.post(f"/incidents/{incident.pk}/timeline/", {
        "at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "kind": "MITIGATION",
        "text": "Reverted to the previous model version."}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and 'id="timeline"' in html
    assert "Reverted to the previous model version." in html
    assert TimelineEvent.objects.get().author_label == people["engineering"].username


def test_adding_a_timeline_event_without_javascript_redirects_back(client, people):
    incident = open_incident(people["engineering"])
    client.force_login(people["engineering"])
    response = client.post(f"/incidents/{incident.pk}/timeline/", {
        "at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "kind": "OTHER", "text": "Noted."})
    assert response.status_code == 302 and response["Location"].endswith("#fb-timeline")


def test_a_bad_timeline_event_with_htmx_shows_the_error_in_place(client, people):
    incident = open_incident(people["engineering"])
    client.force_login(people["engineering"])
    response = client.post(f"/incidents/{incident.pk}/timeline/", {
        "at": (timezone.localtime() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"), "kind": "OTHER",
        "text": "Future."}, HTTP_HX_REQUEST="true")
    assert "in the future" in response.content.decode() and not TimelineEvent.objects.exists()


def test_factors_and_action_items_are_added_from_the_page(client, people):
    incident = open_incident(people["engineering"])
    client.force_login(people["engineering"])
    client.post(f"/incidents/{incident.pk}/factors/", {"category": "MONITORING_GAP",
                                                       "description": "Alerts tuned for performance only."})
    client.post(f"/incidents/{incident.pk}/actions/", {
        "title": "Fairness drift alert", "kind": "DETECT", "owner": people["data_science"].pk,
        "due_date": (timezone.localdate() + timedelta(days=30)).isoformat(), "priority": "P1"})
    assert ContributingFactor.objects.get().category == "MONITORING_GAP"
    assert ActionItem.objects.get().owner == people["data_science"]


def test_overdue_action_items_are_shown_in_red(client, people):
    incident = open_incident(people["engineering"])
    item = services.add_action_item(incident, actor=people["engineering"], title="Vendor SLA", kind="PREVENT",
                                    owner=people["data_science"], due_date=timezone.localdate())
    ActionItem.objects.filter(pk=item.pk).update(due_date=timezone.localdate() - timedelta(days=2))
    client.force_login(people["viewer"])
    html = client.get(incident.get_absolute_url()).content.decode()
    assert 'class="row-fail overdue"' in html and ">overdue<" in html


def test_the_transition_buttons_move_the_incident(client, people):
    incident = open_incident(people["engineering"], detected_at=ago(hours=2))
    client.force_login(people["engineering"])
    client.post(f"/incidents/{incident.pk}/transition/", {"to": "MITIGATED"})
    assert Incident.objects.get(pk=incident.pk).status == "MITIGATED"
    response = client.post(f"/incidents/{incident.pk}/transition/", {"to": "CLOSED"}, follow=True)
    assert "cannot move to closed" in response.content.decode()


def test_editing_facts_through_the_form(client, people):
    incident = open_incident(people["engineering"], detected_at=ago(hours=5))
    client.force_login(people["engineering"])
    page = client.get(f"/incidents/{incident.pk}/edit/")
    data = {k: v for k, v in page.context["form"].initial.items() if v not in (None, [], "")}
    data.update(title="Renamed", severity="SEV1",
                detected_at=timezone.localtime(incident.detected_at).strftime("%Y-%m-%dT%H:%M"))
    data.pop("models", None)
    data.pop("members", None)
    response = client.post(f"/incidents/{incident.pk}/edit/", data)
    assert response.status_code == 302
    assert Incident.objects.get(pk=incident.pk).severity == "SEV1"


def test_the_editor_checks_wording_as_you_type(client, people):
    make_user("alex", Role.DATA_SCIENCE, first_name="Alex", last_name="Rivera")
    incident = open_incident(people["data_science"])
    client.force_login(people["data_science"])
    client.post(f"/incidents/{incident.pk}/postmortem/")
    editor = client.get(f"/incidents/{incident.pk}/postmortem/edit/").content.decode()
    assert 'hx-trigger="keyup changed delay:500ms"' in editor and "/postmortem/check/" in editor
    response = client.post(f"/incidents/{incident.pk}/postmortem/check/", {
        "field": "root_cause", "root_cause": "Alex forgot to check the schema."})
    html = response.content.decode()
    assert "named person" in html and "Try:" in html and "Alex forgot" in html
    fixed = client.post(f"/incidents/{incident.pk}/postmortem/check/", {
        "field": "root_cause", "root_cause": "The pipeline had no schema check on the vendor field."})
    assert "No blaming wording found" in fixed.content.decode()


def test_reviewers_see_the_findings_on_the_postmortem_page(client, people):
    author = people["data_science"]
    incident = open_incident(author)
    postmortem = services.start_postmortem(incident, actor=author)
    services.edit_postmortem(postmortem, actor=author, summary="S.", impact="I.", lessons="L.",
                             root_cause="The change was careless and the operator should have noticed.")
    services.submit_postmortem(postmortem, actor=author)
    client.force_login(people["compliance"])
    response = client.get(f"/incidents/{incident.pk}/postmortem/")
    html = response.content.decode()
    assert response.context["can_review"] and response.context["finding_count"] == 2
    assert "careless" in html and "Record review" in html


def test_reviewing_and_publishing_through_the_pages(client, people):
    author = people["data_science"]
    incident = open_incident(author, fair_lending=True)
    client.force_login(author)
    client.post(f"/incidents/{incident.pk}/postmortem/")
    response = client.post(f"/incidents/{incident.pk}/postmortem/edit/", {
        "summary": "Summary.", "impact": "Impact.", "root_cause": "No schema check on the vendor field.",
        "lessons": "Monitor fairness in production.", "submit": "1"})
    assert response.status_code == 302
    client.force_login(people["compliance"])
    client.post(f"/incidents/{incident.pk}/postmortem/review/", {"role": "COMPLIANCE", "decision": "APPROVE"})
    client.force_login(author)
    client.post(f"/incidents/{incident.pk}/postmortem/publish/")
    assert incident.postmortem.__class__.objects.get(incident=incident).status == "PUBLISHED"
    page = client.get(f"/incidents/{incident.pk}/postmortem/edit/")
    assert page.status_code == 302


def test_the_dashboard_shows_the_postmortems_panels(client, people):
    open_incident(people["engineering"], title="Latency regression")
    client.force_login(people["compliance"])
    html = client.get("/").content.decode()
    assert "Open incidents" in html and "Latency regression" in html and "Postmortems awaiting review" in html


def test_the_launch_row_is_not_repeated_when_an_event_already_marks_the_rollout_start(people):
    from postmortems.selectors import timeline_rows

    started = ago(days=3)
    launch = make_launch(author=people["data_science"], rollout_started_at=started)
    incident = open_incident(people["engineering"], launch=launch, began_at=started,
                             timeline=[{"at": started, "kind": "OTHER", "text": "Rollout started."}])
    rows = timeline_rows(incident.timeline.all(), launch=launch)
    assert [r["type"] for r in rows] == ["event"]
