"""The launch dossier and the launch page show which tool asked what and when, and the decisions of a person."""

import subprocess

import pytest

from readiness import pending, services
from readiness.models import PendingDecision, ToolCall
from reporting import reports
from reporting.common import TOOL_CALL_EXCERPT
from tests.factories import PASSWORD

from .helpers import bearer, inconclusive_launch, what_ships

pytestmark = pytest.mark.django_db


def polled(api_client, token_for, people, polls):
    """An inconclusive launch that Argo polled ``polls`` times, allowed by Model Risk, then changed."""
    launch = inconclusive_launch(people)
    client = bearer(api_client, token_for("gate:read")[1])
    for _ in range(polls):
        client.get("/api/v1/gate/argo/", what_ships(launch))
    question = PendingDecision.objects.get(launch=launch)
    pending.decide(question, actor=people["model_risk"], allow=True, password=PASSWORD)
    client.get("/api/v1/gate/argo/", what_ships(launch))  # now allowed by the person
    services.submit_evaluation(launch, actor=people["data_science"], metrics={"psi.max": 0.5})  # content changes
    launch.refresh_from_db()
    return launch, question


def test_the_dossier_lists_the_latest_calls_with_the_count_and_the_person_s_decision(api_client, token_for, people):
    launch, question = polled(api_client, token_for, people, TOOL_CALL_EXCERPT + 4)
    data = reports.gather("LAUNCH_DOSSIER", viewer=people["compliance"], launch_id=launch.pk)["deploy_tools"]
    newest = ToolCall.objects.filter(launch=launch).order_by("-asked_at", "-pk").first()
    assert data["calls_total"] == TOOL_CALL_EXCERPT + 5 and len(data["calls"]) == TOOL_CALL_EXCERPT
    first = data["calls"][0]
    assert (first["tool"], first["kind"], first["stage"], first["decision"], first["receipt_id"]) == (
        "Argo Rollouts", "web-metric", "shadow", "allow", newest.receipt_id)
    assert first["caller"] == newest.caller and first["at"] == newest.asked_at and first["receipt_id"]
    assert {c["decision"] for c in data["calls"][1:]} == {"inconclusive"}
    [decided] = data["pending"]
    assert decided["status"] == "ALLOWED" and decided["decided_by"] == people["model_risk"].display_name
    assert decided["content_hash"] == question.content_hash != launch.content_hash and decided["stale"]


def test_the_dossier_pdf_reads_the_section(api_client, token_for, people, django_capture_on_commit_callbacks):
    launch, question = polled(api_client, token_for, people, 3)
    with django_capture_on_commit_callbacks(execute=True):
        report = reports.request_report(actor=people["data_science"], kind="LAUNCH_DOSSIER", subject_id=launch.pk)
    report.refresh_from_db()
    assert report.status == "DONE", report.error
    text = " ".join(subprocess.run(["pdftotext", report.file.path, "-"], check=True, capture_output=True,
                                   text=True).stdout.split())
    section = text[text.index("DEPLOY TOOLS: CALLS AND DECISIONS FOR A PERSON", text.index("AUDIT TRAIL EXCERPT")
                              - 4000):]
    assert "Allowed by a person" in section and people["model_risk"].display_name in section
    assert question.content_hash[:12] in section and "stale" in section
    newest = ToolCall.objects.filter(launch=launch).order_by("-asked_at", "-pk").first()
    assert "Argo Rollouts" in section and newest.receipt_id[:12] in section and "inconclusive" in section


def test_the_launch_page_counts_the_calls_it_does_not_show(client, api_client, token_for, people):
    from readiness.selectors import TOOL_CALLS_SHOWN

    launch, question = polled(api_client, token_for, people, TOOL_CALLS_SHOWN + 1)
    client.force_login(people["compliance"])
    page = client.get(f"/launches/{launch.pk}/").content.decode()
    assert f"The latest {TOOL_CALLS_SHOWN} calls; 2 earlier calls not shown." in page
    assert f"for content <code>{question.content_hash[:12]}" in page and "stale" in page
