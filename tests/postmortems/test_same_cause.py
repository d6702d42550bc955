"""Incidents that share a cause are linked: the incident page and the committee's incident report name earlier
incidents with the same contributing-factor category (with the models and features they share), a sealed one
stays hidden from outsiders, and the governance pack counts recurrences by cause."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from governance.kernel.roles import Role
from postmortems import selectors, services
from postmortems.models import Incident
from reporting.gather import gather
from tests.factories import make_user
from tests.postmortems.helpers import open_incident

pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("same_cause_seeded")]


@pytest.fixture(scope="module")
def _seeded(django_db_setup, django_db_blocker):
    """The documented examples, seeded once for the module inside a transaction rolled back at its end; each
    test runs in a savepoint inside it."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_examples", verbosity=0)
        yield
        transaction.set_rollback(True)


@pytest.fixture
def e1_and_later(_seeded, db):
    e1 = Incident.objects.get(launch__version__model__slug="credit-line-decisioning",
                              launch__version__version="4.2.0")
    cole = make_user("cole_36", Role.COMPLIANCE)
    later = open_incident(cole, title="Vendor changed a field again", detected_at=timezone.now() - timedelta(hours=2),
                          models=list(e1.models.all()))
    services.add_contributing_factor(later, actor=cole, category="DATA_VENDOR_CHANGE",
                                     description="The bureau re-coded a field without notice.")
    return e1, later, cole


def test_e1_and_a_later_incident_with_the_same_factor_are_linked(client, e1_and_later):
    e1, later, cole = e1_and_later
    client.force_login(cole)
    response = client.get(later.get_absolute_url())
    linked = {i.pk: i for i in response.context["same_cause"]}
    assert e1.pk in linked
    assert "Data or vendor change" in linked[e1.pk].shared_categories
    assert linked[e1.pk].shared_models == sorted(m.name for m in e1.models.all())
    assert f"#{e1.pk} {e1.title}" in response.content.decode()


def test_a_sealed_earlier_incident_is_not_named_to_an_outsider(client, e1_and_later):
    e1, later, _ = e1_and_later
    assert e1.restricted
    outsider = make_user("pat_36", Role.PRODUCT)
    client.force_login(outsider)
    response = client.get(later.get_absolute_url())
    assert e1.pk not in {i.pk for i in response.context["same_cause"]}
    assert e1.title not in response.content.decode()


def test_the_incident_report_names_earlier_incidents_with_the_same_cause(e1_and_later):
    e1, later, cole = e1_and_later
    data = gather("INCIDENT_REPORT", viewer=cole, incident_id=later.pk)
    assert e1.pk in {e["id"] for e in data["same_cause"]}
    assert e1.pk in data["source_incident_ids"]  # so only readers who may see E1 may read the report


def test_the_pack_counts_recurrences_by_cause(e1_and_later):
    _, _, cole = e1_and_later
    today = timezone.localdate()
    data = gather("GOVERNANCE_PACK", viewer=cole,
                  params={"start": (today - timedelta(days=7)).isoformat(), "end": today.isoformat(),
                          "label": "This week"})
    by_cause = {r["category"]: r["count"] for r in data["recurrences_by_cause"]}
    assert by_cause.get("DATA_VENDOR_CHANGE") == 1


def test_earlier_same_cause_costs_the_same_queries_with_more_history(e1_and_later):
    _, later, cole = e1_and_later
    incident = selectors.incident_detail(cole, later.pk)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            selectors.earlier_with_same_cause(cole, incident)
        return len(captured)

    before = queries()
    for n in range(8):
        earlier = open_incident(cole, title=f"Earlier {n}", detected_at=timezone.now() - timedelta(days=n + 2))
        services.add_contributing_factor(earlier, actor=cole, category="DATA_VENDOR_CHANGE", description="again")
    assert queries() == before
