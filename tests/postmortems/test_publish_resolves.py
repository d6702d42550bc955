"""A published postmortem resolves its incident; the editor marks the sections that submitting requires."""

import pytest
from django.urls import reverse

from governance.models import AuditEvent
from postmortems import services
from postmortems.models import REQUIRED_FOR_REVIEW, Incident, Postmortem
from tests.postmortems.test_postmortem_workflow import in_review

pytestmark = pytest.mark.django_db


def published(people, *, before=None):
    author, reviewer = people["data_science"], people["model_risk"]
    postmortem = in_review(author)
    if before:
        incident = postmortem.incident
        for status in before:
            services.transition_incident(incident, actor=author, to=status)
    services.review_postmortem(postmortem, actor=reviewer, role="MODEL_RISK", decision="APPROVE")
    return services.publish_postmortem(postmortem, actor=author)


def test_publishing_moves_an_investigating_incident_to_resolved_audited(people):
    postmortem = published(people)
    incident = Incident.objects.get(pk=postmortem.incident_id)
    assert incident.status == "RESOLVED"
    assert incident.mitigated_at == incident.resolved_at == postmortem.published_at
    event = AuditEvent.objects.filter(object_type="postmortems.incident", verb="incident.transitioned").get()
    assert event.before["status"] == "INVESTIGATING"
    assert (event.after["status"], event.after["reason"]) == ("RESOLVED", "postmortem published")


def test_publishing_leaves_a_mitigated_incident_to_its_owner(people):
    author = people["data_science"]
    postmortem = in_review(author)
    incident = services.transition_incident(postmortem.incident, actor=author, to="MITIGATED")
    services.review_postmortem(postmortem, actor=people["model_risk"], role="MODEL_RISK", decision="APPROVE")
    services.publish_postmortem(postmortem, actor=author)
    incident.refresh_from_db()
    assert (incident.status, incident.resolved_at) == ("MITIGATED", None)


def test_publishing_leaves_a_closed_incident_closed(people):
    postmortem = published(people, before=("MITIGATED", "RESOLVED", "CLOSED"))
    assert Incident.objects.get(pk=postmortem.incident_id).status == "CLOSED"


def test_the_editor_marks_every_section_submitting_requires_and_submit_names_a_missing_one(client, people):
    author = people["data_science"]
    postmortem = in_review(author)
    postmortem = services.edit_postmortem(postmortem, actor=author, lessons="")  # back to draft, lessons empty
    client.force_login(author)
    url = reverse("postmortems:postmortem_edit", args=[postmortem.incident_id])
    page = client.get(url).content.decode()
    for label in ("Summary", "Impact", "Root cause and contributing factors", "Lessons"):
        assert f"{label} (required for review)" in page
    assert page.count("(required for review)") == len(REQUIRED_FOR_REVIEW)
    assert "What went well (required" not in page
    fields = {name: getattr(postmortem, name) for name in ("summary", "impact", "root_cause", "what_went_well",
                                                           "what_went_badly", "where_we_got_lucky")}
    response = client.post(url, {**fields, "lessons": "  ", "submit": "1"})
    assert response.status_code in (200, 400)
    assert 'role="alert">Write the lessons before asking for review.' in response.content.decode()
    assert Postmortem.objects.get(pk=postmortem.pk).status == "DRAFT"
