"""Choosing a model's guard mode from its pages (Compliance or Model Risk, re-authenticated, audited), the alias
history on the model page a page at a time, and which version an alias pointed at on a given day."""

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.inventory.services import create_model
from governance.kernel.errors import PermissionDenied, ValidationFailed
from governance.kernel.principals import SystemActor
from governance.models import AuditEvent
from postmortems.models import Incident
from registry import services
from registry.models import AliasMove, AliasState, RegistryLink
from tests.factories import PASSWORD

from .helpers import alias_of
from .test_alias_guard import champion_at_2, guard_sync, three_versions  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


@pytest.fixture
def link(people):
    """A TIER_2 model linked to MLflow while the integration is off (nothing is asked of MLflow)."""
    model = create_model(actor=SystemActor("tests"), slug="credit-risk", name="Credit risk", owner=people["author"],
                         business_use="Scores applications.", risk_tier="TIER_2")
    return services.link_model(model, actor=people["author"], registered_model="credit")


def guard_url(link):
    return reverse("registry:guard_mode", args=[link.model.slug])


# -- the guard's mode ----------------------------------------------------------------------------------------

def test_the_guard_page_shows_the_effective_mode_and_whether_it_is_the_tier_default(client, people, link):
    client.force_login(people["viewer"])
    page = client.get(guard_url(link)).content.decode()
    assert "Put it back and open an incident" in page and "the default for Tier 2" in page
    assert "Change the guard" not in page  # a viewer sees the mode, not the form

    RegistryLink.objects.filter(pk=link.pk).update(guard_mode="REPORT")
    client.force_login(people["model_risk"])
    page = client.get(guard_url(link)).content.decode()
    assert "Report it only" in page and "this model's setting (the tier's default is revert)" in page
    assert "Change the guard" in page


def test_model_risk_sets_report_with_password_and_it_is_audited(client, people, link):
    client.force_login(people["model_risk"])
    response = client.post(guard_url(link), {"mode": "REPORT", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"].endswith("#fb-registry")
    link.refresh_from_db()
    assert link.guard_mode == "REPORT" and link.effective_guard_mode == "REPORT"
    event = AuditEvent.objects.get(verb="registry.guard_mode_set")
    assert event.before == {"guard_mode": None, "effective": "REVERT"}
    assert event.after["guard_mode"] == "REPORT" and event.after["tier_default"] == "REVERT"
    assert event.after["confirmed_by"] == "password"
    assert event.actor_label == people["model_risk"].username

    client.force_login(people["compliance"])
    client.post(guard_url(link), {"mode": "DEFAULT", "password": PASSWORD})
    link.refresh_from_db()
    assert link.guard_mode == "" and link.effective_guard_mode == "REVERT"
    assert AuditEvent.objects.filter(verb="registry.guard_mode_set").count() == 2


@pytest.mark.parametrize("person", ["data_science", "engineering", "product", "legal", "viewer"])
def test_other_roles_are_refused_and_nothing_changes(client, people, link, person):
    client.force_login(people[person])
    response = client.post(guard_url(link), {"mode": "REPORT", "password": PASSWORD})
    assert response.status_code == 403
    with pytest.raises(PermissionDenied) as refused:
        services.set_guard_mode(link, actor=people[person], mode="REPORT", password=PASSWORD)
    assert refused.value.code == "permission_denied"
    link.refresh_from_db()
    assert link.guard_mode == ""
    assert not AuditEvent.objects.filter(verb="registry.guard_mode_set").exists()


def test_a_bad_mode_or_a_wrong_password_is_refused_with_a_message(client, people, link):
    client.force_login(people["compliance"])
    response = client.post(guard_url(link), {"mode": "SOMETIMES", "password": PASSWORD})
    assert response.status_code == 400
    assert "SOMETIMES is not one of the available choices" in response.content.decode()
    with pytest.raises(ValidationFailed) as refused:
        services.set_guard_mode(link, actor=people["compliance"], mode="sometimes", password=PASSWORD)
    assert (refused.value.code, refused.value.field) == ("invalid", "mode")

    response = client.post(guard_url(link), {"mode": "REPORT", "password": "not my password"})
    assert response.status_code == 400
    assert response.context["form"].errors["password"]
    link.refresh_from_db()
    assert link.guard_mode == ""
    assert not AuditEvent.objects.filter(verb="registry.guard_mode_set").exists()


@pytest.mark.mlflow
@pytest.mark.xdist_group("mlflow")
def test_the_guard_follows_the_mode_chosen_on_the_page(client, people, champion_at_2, mlflow_client,  # noqa: F811
                                                       django_capture_on_commit_callbacks):
    link, _, _ = champion_at_2()
    client.force_login(people["compliance"])
    assert client.post(guard_url(link), {"mode": "REPORT", "password": PASSWORD}).status_code == 302
    link.refresh_from_db()
    mlflow_client.set_registered_model_alias(link.registered_model, "champion", "1")
    guard_sync(link, django_capture_on_commit_callbacks)
    assert alias_of(mlflow_client, link.registered_model, "champion") == 1  # reported only
    assert not Incident.objects.exists()

    assert client.post(guard_url(link), {"mode": "REVERT", "password": PASSWORD}).status_code == 302
    link.refresh_from_db()
    mlflow_client.set_registered_model_alias(link.registered_model, "champion", "3")
    guard_sync(link, django_capture_on_commit_callbacks)
    assert alias_of(mlflow_client, link.registered_model, "champion") == 2  # put back where it was approved
    assert Incident.objects.count() == 1


# -- the alias history ---------------------------------------------------------------------------------------

def moves(link, count, *, start):
    AliasState.objects.get_or_create(link=link, alias="champion")
    AliasMove.objects.bulk_create(
        AliasMove(link=link, alias="champion", version=k % 3 + 1, at=start + timedelta(hours=k),
                  by=AliasMove.By.HAND if k % 2 else AliasMove.By.GATEHOUSE,
                  actor_label="MLflow (by hand)" if k % 2 else "alex",
                  response="Gatehouse put it back to v2." if k % 2 else "Launch #1 entered stage full.")
        for k in range(count))


def model_page_queries(client, link, query=""):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(link.model.get_absolute_url() + query)
    assert response.status_code == 200
    return response, len(queries)


def test_the_model_page_lists_alias_history_newest_first_25_a_page_in_constant_queries(client, people, link):
    client.force_login(people["viewer"])
    start = timezone.make_aware(datetime(2026, 3, 1, 9, 0))
    moves(link, 1, start=start)
    _, one = model_page_queries(client, link)
    moves(link, 59, start=start + timedelta(hours=1))
    response, many = model_page_queries(client, link)
    assert one == many
    section = next(s for s in response.context["model_sections"] if s["template"] == "registry/_model_registry.html")
    rows = list(section["history"])
    assert len(rows) == 25 and rows[0].at > rows[-1].at and rows[0].at == start + timedelta(hours=59)
    page = response.content.decode()
    assert "Alias history" in page and "Moved by hand in MLflow" not in page  # the label, not the choice key
    assert "By hand in MLflow" in page and "Gatehouse put it back to v2." in page
    assert "Page 1 of 3 (60 positions)" in page
    last, _ = model_page_queries(client, link, "?aliases=3")
    registry_section = next(s for s in last.context["model_sections"] if s["template"] == "registry/_model_registry.html")
    assert len(registry_section["history"]) == 10


def test_a_model_not_linked_has_no_registry_section(client, people):
    model = create_model(actor=SystemActor("tests"), slug="churn", name="Churn", owner=people["author"],
                         business_use="Predicts churn.", risk_tier="TIER_3")
    client.force_login(people["viewer"])
    response = client.get(model.get_absolute_url())
    templates = [section["template"] for section in response.context["model_sections"]]
    assert "registry/_model_registry.html" not in templates and "MLflow registry" not in response.content.decode()


def test_which_version_an_alias_pointed_at_on_a_day(client, people, link):
    day = timezone.make_aware(datetime(2026, 3, 10, 0, 0))
    AliasState.objects.create(link=link, alias="champion")
    for at, version, by in ((day - timedelta(days=5), 1, "GATEHOUSE"), (day + timedelta(hours=9), 3, "HAND"),
                            (day + timedelta(hours=9, seconds=20), 1, "GATEHOUSE"), (day + timedelta(days=2), 2,
                                                                                     "GATEHOUSE")):
        AliasMove.objects.create(link=link, alias="champion", version=version, at=at, by=by)
    client.force_login(people["viewer"])
    url = reverse("registry:alias_on_day", args=[link.model.slug])

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"alias": "champion", "date": "2026-03-10"})
    assert response.status_code == 200
    answer = response.context["answer"]
    assert answer["at_start"].version == 1 and [m.version for m in answer["during"]] == [3, 1]
    assert answer["at_end"].version == 1
    counted = len(queries)

    response = client.get(url, {"alias": "champion", "date": "2026-03-11"})
    assert response.context["answer"]["at_end"].version == 1 and response.context["answer"]["during"] == []
    assert "It did not move that day." in response.content.decode()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"alias": "champion", "date": "2026-03-13"})
    assert response.context["answer"]["at_end"].version == 2 and len(queries) == counted
    response = client.get(url, {"alias": "champion", "date": "2026-01-01"})
    assert "Nothing recorded" in response.content.decode()


def test_a_bad_date_or_alias_gets_a_clear_400(client, people, link):
    AliasState.objects.create(link=link, alias="champion")
    client.force_login(people["viewer"])
    url = reverse("registry:alias_on_day", args=[link.model.slug])
    response = client.get(url, {"alias": "champion", "date": "31/03/2026"})
    assert response.status_code == 400
    assert "Give the date as YYYY-MM-DD" in response.content.decode() and response.context["answer"] is None
    response = client.get(url, {"alias": "production", "date": "2026-03-31"})
    assert response.status_code == 400
    assert "production is not a governed alias of this model" in response.content.decode()
    assert client.get(url).status_code == 200  # the empty form
