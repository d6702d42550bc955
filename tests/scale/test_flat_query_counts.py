"""Costs that stay flat as history grows: every page and the gate run the same number of queries on a generated
history five times larger, and the generated history itself is valid (the audit chain verifies)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from examples.scale import Sizes, generate
from governance.kernel.audit import verify_chain
from governance.kernel.principals import SystemActor
from governance.kernel.roles import Role
from governance.kernel.services import issue_api_token
from governance.models import AuditEvent, User
from postmortems.models import Incident
from readiness.models import LaunchRequest, LaunchStatus, Observation

BASE = dict(models=4, launches=40, incidents=6, observations=1_500, audit_events=600, rollouts_in_progress=2,
            policy_changes=3, years=3)


def sizes(factor: int) -> Sizes:
    return Sizes(**{k: v * factor if k != "years" else v for k, v in BASE.items()})


def pages(long_launch, gate_query, model_slug):
    return {
        "dashboard": reverse("dashboard"),
        "launch list": reverse("readiness:launch_list"),
        "launch list, page 2": reverse("readiness:launch_list") + "?page=2",
        "launch list, filtered": reverse("readiness:launch_list") + "?status=LAUNCHED&tier=TIER_1",
        "launch list, searched": reverse("readiness:launch_list") + "?q=credit",
        "launch list, awaiting my signature": reverse("readiness:launch_list") + "?mine=on",
        "launch page, long history": reverse("readiness:launch_detail", args=[long_launch]),
        "incident list": reverse("postmortems:incident_list"),
        "incident list, searched": reverse("postmortems:incident_list") + "?q=drift",
        "insights": reverse("postmortems:insights"),
        "policy history": reverse("governance:policy_detail", args=["TIER_1"]),
        "gate": reverse("api-gate") + gate_query,
        "validation queue": reverse("validation:validation_list"),
        "model risk": reverse("validation:model_risk", args=[model_slug]),
    }


# The most queries each page may run, whatever the size of the history.
EXPECTED = {
    "dashboard": 16,  # + deploy decisions waiting for me, signatures to give again, unassessed versions count
    "launch list": 6,
    "launch list, page 2": 6,
    "launch list, filtered": 6,
    "launch list, searched": 6,
    "launch list, awaiting my signature": 5,
    "launch page, long history": 16,  # + deploy-tool calls, pending decisions, model-risk reasons
    "incident list": 6,
    "incident list, searched": 6,
    "insights": 7,
    "policy history": 8,  # + the count of each paginated list (changes, versions)
    "gate": 8,  # + the model-risk reasons (validations, findings, holds, waivers) in one query
    "validation queue": 12,  # a count and a page of each of four lists
    "model risk": 15,  # the model, three paged lists with their counts, waivers, the gate's reasons
}
# Insights skip a few queries when the history holds nothing of a kind (an empty prefetch runs no query): their
# bound is the count with every kind present.
EXPECTED["insights"] = 11


def measure(client, api_client) -> dict:
    long_launch = LaunchRequest.objects.filter(status=LaunchStatus.LAUNCHED,
                                               version__model__risk_tier="TIER_1").order_by("created_at").first()
    gate_launch = LaunchRequest.objects.filter(status=LaunchStatus.ROLLING_OUT).select_related("version__model").first()
    gate_query = (f"?model={gate_launch.version.model.slug}&version={gate_launch.version.version}&stage="
                  f"{gate_launch.plan.stages.order_by('position').first().name}")
    _, secret = issue_api_token(actor=SystemActor("tests"), name="scale-gate", scopes=["gate:read"])
    # Compliance sees restricted incidents, signs TIER_1 launches and reviews postmortems: the fullest pages.
    client.force_login(User.objects.filter(memberships__role=Role.COMPLIANCE).order_by("pk").first())
    counts = {}
    for name, url in pages(long_launch.pk, gate_query, gate_launch.version.model.slug).items():
        with CaptureQueriesContext(connection) as queries:
            if name == "gate":
                response = api_client.get(url, HTTP_AUTHORIZATION=f"Bearer {secret}")
            else:
                response = client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        counts[name] = len(queries)
    return counts


@pytest.mark.parametrize("factor", [1, 5])
def test_pages_and_gate_run_the_same_queries_at_every_size(client, api_client, db, factor):
    generate(sizes(factor))
    assert LaunchRequest.objects.count() == 40 * factor
    counts = measure(client, api_client)
    # The same constant bound at every size: a query per row would pass it at once at five times the history.
    assert {name: n for name, n in counts.items() if n > EXPECTED[name]} == {}


def test_the_generated_history_passes_the_audit_chain_check(db):
    counts = generate(sizes(1))
    checked, broken = verify_chain()
    assert broken is None
    assert checked == AuditEvent.objects.count() == counts["audit_events"] >= BASE["audit_events"]
    assert Observation.objects.count() == counts["observations"]


def test_generated_histories_keep_their_order_in_time(db):
    generate(sizes(1))
    for launch in LaunchRequest.objects.exclude(status=LaunchStatus.DRAFT).prefetch_related("signoffs"):
        steps = [launch.created_at, launch.submitted_at, *sorted(s.signed_at for s in launch.signoffs.all()),
                 launch.approved_at, launch.rollout_started_at, launch.launched_at or launch.rolled_back_at]
        present = [s for s in steps if s is not None]
        assert present == sorted(present), launch.pk
    for incident in Incident.objects.all():
        steps = [incident.began_at, incident.detected_at, incident.mitigated_at, incident.resolved_at,
                 incident.closed_at]
        present = [s for s in steps if s is not None]
        assert present == sorted(present), incident.pk
    times = list(AuditEvent.objects.order_by("seq").values_list("created_at", flat=True))
    assert times == sorted(times)
