"""An INCONCLUSIVE decision goes to a person, whose signed answer every waiting tool then receives."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from governance.kernel.errors import Conflict, PermissionDenied, ValidationFailed
from governance.models import AuditEvent
from readiness import pending, services
from readiness.models import PendingDecision, PendingStatus
from tests.factories import PASSWORD

from .helpers import bearer, inconclusive_launch, what_ships

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(api_client, token_for):
    return bearer(api_client, token_for("gate:read")[1])


def ask(client, launch, tool="argo"):
    return client.get(f"/api/v1/gate/{tool}/", what_ships(launch)).json()


def question(client, launch):
    assert ask(client, launch)["decision"] == "inconclusive"
    return PendingDecision.objects.get(launch=launch)


def test_person_allows_and_every_tool_then_receives_allow(client, people):
    launch = inconclusive_launch(people)
    q = question(client, launch)
    pending.decide(q, actor=people["model_risk"], allow=True, password=PASSWORD)
    for tool in ("argo", "kargo"):
        assert ask(client, launch, tool)["decision"] == "allow"
    plain = client.get("/api/v1/gate/", what_ships(launch)).json()
    assert plain["decision"] == "allow" and plain["pending_decision"]["status"] == "ALLOWED"
    event = AuditEvent.objects.get(verb="gate.decision_made")
    assert event.after["status"] == "ALLOWED" and event.after["confirmed_by"] == "password"


def test_person_denies_and_no_poll_turns_it_into_allow(client, people):
    launch = inconclusive_launch(people)
    q = question(client, launch)
    with pytest.raises(ValidationFailed):
        pending.decide(q, actor=people["model_risk"], allow=False, password=PASSWORD)  # a deny says why
    pending.decide(q, actor=people["model_risk"], allow=False, comment="Interval too wide.", password=PASSWORD)
    body = ask(client, launch)
    assert body["decision"] == "deny" and "denied_by_person" in {r["code"] for r in body["reasons"]}


def test_deadline_passed_is_a_deny_at_once_and_the_periodic_task_escalates(client, people,
                                                                          django_capture_on_commit_callbacks):
    launch = inconclusive_launch(people)
    q = question(client, launch)
    PendingDecision.objects.filter(pk=q.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    body = ask(client, launch)
    assert body["decision"] == "deny" and "pending_decision_expired" in {r["code"] for r in body["reasons"]}
    with pytest.raises(Conflict) as refused:
        pending.decide(q, actor=people["model_risk"], allow=True, password=PASSWORD)
    assert refused.value.code == "deadline_passed"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert pending.expire_overdue() == 1
    q.refresh_from_db()
    assert q.status == PendingStatus.EXPIRED and q.escalated_at is not None
    assert AuditEvent.objects.filter(verb="gate.decision_expired").count() == 1
    assert mail.outbox and "decision expired" in mail.outbox[0].subject.lower()
    assert pending.expire_overdue() == 0


def test_an_allow_covers_one_content_hash_and_goes_stale_when_content_changes(client, people):
    launch = inconclusive_launch(people)
    q = question(client, launch)
    pending.decide(q, actor=people["model_risk"], allow=True, password=PASSWORD)
    services.update_memo(launch, actor=people["author"], rationale="Changed after the decision.")
    launch.refresh_from_db()
    assert launch.content_hash != q.content_hash
    assert ask(client, launch)["decision"] == "deny"  # signatures are stale too: not a question for a person


@pytest.mark.parametrize("who,code", [("author", "role_not_held"), ("compliance", "role_not_held")])
def test_only_the_routed_role_decides(client, people, who, code):
    launch = inconclusive_launch(people)
    q = question(client, launch)
    with pytest.raises(PermissionDenied) as refused:
        pending.decide(q, actor=people[who], allow=True, password=PASSWORD)
    assert refused.value.code == code


def test_the_decision_needs_the_deciders_password(client, people):
    launch = inconclusive_launch(people)
    q = question(client, launch)
    with pytest.raises(ValidationFailed) as refused:
        pending.decide(q, actor=people["model_risk"], allow=True, password="wrong")
    assert refused.value.field == "password"
    assert PendingDecision.objects.get(pk=q.pk).status == PendingStatus.PENDING


def test_a_decided_question_cannot_be_decided_again(client, people):
    launch = inconclusive_launch(people)
    q = question(client, launch)
    pending.decide(q, actor=people["model_risk"], allow=True, password=PASSWORD)
    with pytest.raises(Conflict):
        pending.decide(q, actor=people["model_risk"], allow=False, comment="no", password=PASSWORD)


def test_role_is_configurable_per_tier(client, people, settings):
    settings.GATE_PENDING_DECISION_ROLES = {"TIER_1": "COMPLIANCE"}
    launch = inconclusive_launch(people)
    assert question(client, launch).role == "COMPLIANCE"


def test_launch_page_and_dashboard_show_the_question_and_the_page_decides_it(client, people):
    from django.test import Client

    launch = inconclusive_launch(people)
    q = question(client, launch)
    browser = Client()
    browser.force_login(people["model_risk"])
    page = browser.get(launch.get_absolute_url()).content.decode()
    assert "Decisions for a person" in page and "Sign this decision" in page and "Argo Rollouts" in page
    assert f"{launch.title}: shadow" in browser.get("/").content.decode()
    response = browser.post(f"/launches/{launch.pk}/deploy-decisions/{q.pk}/",
                            {"decision": "allow", "password": PASSWORD})
    assert response.status_code == 302
    assert PendingDecision.objects.get(pk=q.pk).status == PendingStatus.ALLOWED
    assert ask(client, launch)["decision"] == "allow"
