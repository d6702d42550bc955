"""Every tool call is a row; the audit chain hears only of changes of a (launch, stage, tool) decision."""

import pytest

from governance.kernel.audit import verify_chain
from governance.models import AuditEvent
from readiness import services
from readiness.models import ToolCall, ToolDecisionState

from .helpers import approved_launch, bearer, what_ships

pytestmark = pytest.mark.django_db


def changes():
    return AuditEvent.objects.filter(verb="gate.tool_decision_changed")


def test_polling_writes_a_row_per_call_and_one_audit_event(api_client, token_for, people):
    launch = approved_launch(people)
    client = bearer(api_client, token_for("gate:read")[1])
    for _ in range(5):
        client.get("/api/v1/gate/argo/", what_ships(launch))
    calls = ToolCall.objects.filter(launch=launch, tool="argo")
    assert calls.count() == 5 and {c.decision for c in calls} == {"allow"}
    assert all(c.receipt_id and c.caller.startswith("token:") for c in calls)
    assert changes().count() == 1


def test_a_change_of_decision_is_audited_once_per_tool(api_client, token_for, people):
    launch = approved_launch(people)
    client = bearer(api_client, token_for("gate:read")[1])
    client.get("/api/v1/gate/argo/", what_ships(launch))
    client.get("/api/v1/gate/kargo/", what_ships(launch))
    services.submit_evaluation(launch, actor=people["data_science"], metrics={"psi.max": 0.5})
    for _ in range(3):
        client.get("/api/v1/gate/argo/", what_ships(launch))
    events = list(changes().order_by("seq"))
    assert [(e.after["tool"], e.after["decision"]) for e in events] == [
        ("argo", "allow"), ("kargo", "allow"), ("argo", "deny")]
    assert events[-1].before == {"decision": "allow"} and events[-1].object_id == str(launch.pk)
    assert ToolDecisionState.objects.get(launch=launch, tool="argo", stage="shadow").decision == "deny"
    assert verify_chain()[1] is None


def test_stages_are_recorded_apart(api_client, token_for, people):
    launch = approved_launch(people)
    client = bearer(api_client, token_for("gate:read")[1])
    client.get("/api/v1/gate/argo/", what_ships(launch, "shadow"))
    client.get("/api/v1/gate/argo/", what_ships(launch, "canary"))
    assert {(s.stage, s.decision) for s in ToolDecisionState.objects.filter(launch=launch)} == {
        ("shadow", "allow"), ("canary", "deny")}


def test_a_call_about_no_launch_is_a_row_without_audit(api_client, token_for):
    client = bearer(api_client, token_for("gate:read")[1])
    client.get("/api/v1/gate/argo/", {"model": "nope", "version": "1", "stage": "shadow"})
    call = ToolCall.objects.get()
    assert call.launch is None and call.reasons == ["unknown_model"] and not changes().exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_calls_write_one_state_and_one_event(people, token_for, is_postgres):
    """Two tools' first polls race on PostgreSQL: one state row per (launch, stage, tool), one event per change."""
    if not is_postgres:
        pytest.skip("PostgreSQL row locks")
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection
    from rest_framework.test import APIClient

    launch = approved_launch(people)
    secret = token_for("gate:read")[1]

    def poll(_):
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
            return client.get("/api/v1/gate/argo/", what_ships(launch)).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        assert set(pool.map(poll, range(8))) == {200}
    assert ToolCall.objects.count() == 8 and ToolDecisionState.objects.count() == 1
    assert changes().count() == 1


def test_a_poll_costs_the_plain_gate_s_queries_and_one_insert(api_client, token_for, people, django_assert_num_queries):
    """A repeated poll adds exactly one statement to the plain gate's, however many calls came before: the row,
    which also reads the last decision and, for Flagger, is written only while the canary's checksum is bound."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    launch = approved_launch(people)
    secret = token_for("gate:read")[1]
    client = bearer(api_client, secret)
    flagger_body = {"name": "podinfo", "namespace": "test", "phase": "Progressing", "checksum": "6c5d8b9f7",
                    "metadata": {**what_ships(launch), "token": secret}}
    client.get("/api/v1/gate/", what_ships(launch))  # the token's last_used_at write happens once a minute
    with CaptureQueriesContext(connection) as plain:
        client.get("/api/v1/gate/", what_ships(launch))
    plain_queries = len(plain)
    for calls_before in (1, 20):
        for _ in range(calls_before):
            client.get("/api/v1/gate/argo/", what_ships(launch))
            client.post("/api/v1/gate/flagger/confirm-promotion/", flagger_body, format="json")
        with django_assert_num_queries(plain_queries + 1):
            assert client.get("/api/v1/gate/argo/", what_ships(launch)).json()["decision"] == "allow"
        with django_assert_num_queries(plain_queries + 1):
            response = client.post("/api/v1/gate/flagger/confirm-promotion/", flagger_body, format="json")
            assert response.status_code == 200
    assert changes().count() == 2  # one per tool: the first allow
