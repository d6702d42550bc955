"""A postmortem exports as wiki-ready Markdown and as JSON, to those who may see the incident."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from postmortems import services
from tests.postmortems.helpers import ago, open_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(people):
    author = people["data_science"]
    incident = open_incident(author, title="Fair-lending proxy from a vendor field", severity="SEV1",
                             began_at=ago(days=16), detected_at=ago(days=2), fair_lending=True,
                             timeline=[{"at": ago(days=2), "kind": "DETECTION", "text": "Analyst found the pattern."}],
                             factors=[{"category": "MONITORING_GAP", "description": "Alerts tuned for performance."}])
    services.add_action_item(incident, actor=author, title="Fairness | drift alert", kind="DETECT", owner=author,
                             due_date=timezone.localdate() + timedelta(days=14), priority="P1")
    postmortem = services.start_postmortem(incident, actor=author)
    services.edit_postmortem(postmortem, actor=author, summary="Approvals shifted by **segment**.",
                             impact="18,240 decisions.", root_cause="No schema check on the vendor field.",
                             lessons="Monitor fairness in production.", where_we_got_lucky="A careful analyst.")
    services.submit_postmortem(postmortem, actor=author)
    services.review_postmortem(postmortem, actor=people["compliance"], role="COMPLIANCE", decision="APPROVE",
                               comment="Clear and blameless.")
    return services.publish_postmortem(postmortem, actor=author)


def test_markdown_export_is_a_wiki_page(client, published, people):
    client.force_login(people["viewer"])
    response = client.get(f"/incidents/{published.incident_id}/postmortem/export.md")
    assert response["Content-Type"].startswith("text/markdown")
    assert 'filename="incident-' in response["Content-Disposition"]
    text = response.content.decode()
    assert text.startswith("# Postmortem: Fair-lending proxy from a vendor field")
    for heading in ("## Summary", "## Impact", "## Root cause and contributing factors", "## What went well",
                    "## Where we got lucky", "## Lessons", "## Timeline", "## Contributing factors",
                    "## Action items", "## Reviews"):
        assert heading in text, heading
    assert "Approvals shifted by **segment**." in text
    assert "| Time to detect | 14 days |" in text
    assert "Fairness \\| drift alert" in text
    assert "**Monitoring gap**: Alerts tuned for performance." in text
    assert "Clear and blameless." in text


def test_json_export_carries_the_document_and_its_facts(client, published, people):
    client.force_login(people["viewer"])
    response = client.get(f"/incidents/{published.incident_id}/postmortem/export.json")
    data = json.loads(response.content)
    assert data["postmortem"]["status"] == "PUBLISHED"
    assert data["postmortem"]["sections"]["root_cause"] == "No schema check on the vendor field."
    assert data["incident"]["time_to_detect_hours"] == 336.0 and data["incident"]["fair_lending"] is True
    assert data["timeline"][0]["kind"] == "DETECTION"
    assert data["contributing_factors"] == [{"category": "MONITORING_GAP",
                                             "description": "Alerts tuned for performance."}]
    assert data["action_items"][0]["priority"] == "P1" and data["reviews"][0]["role"] == "COMPLIANCE"


def test_the_postmortem_page_offers_both_downloads(client, published, people):
    client.force_login(people["viewer"])
    html = client.get(f"/incidents/{published.incident_id}/postmortem/").content.decode()
    assert "export.md" in html and "export.json" in html


def test_a_restricted_export_is_marked_and_hidden_from_others(client, people, member, outsider):
    incident = open_incident(people["legal"], restricted=True, members=[member])
    services.start_postmortem(incident, actor=member)
    client.force_login(member)
    text = client.get(f"/incidents/{incident.pk}/postmortem/export.md").content.decode()
    assert "Restricted — legally privileged" in text
    client.force_login(outsider)
    assert client.get(f"/incidents/{incident.pk}/postmortem/export.md").status_code == 404
    assert client.get(f"/incidents/{incident.pk}/postmortem/export.json").status_code == 404


def test_no_postmortem_no_export(client, people):
    incident = open_incident(people["engineering"])
    client.force_login(people["engineering"])
    assert client.get(f"/incidents/{incident.pk}/postmortem/export.json").status_code == 404


def test_amendments_appear_in_the_export(client, published, people):
    services.amend_published_postmortem(published, actor=people["compliance"], field="impact",
                                        text="18,240 decisions in 15 days.", reason="Audit finished.")
    client.force_login(people["viewer"])
    text = client.get(f"/incidents/{published.incident_id}/postmortem/export.md").content.decode()
    assert "## Amendments" in text and "Audit finished." in text and "18,240 decisions in 15 days." in text
