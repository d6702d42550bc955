"""An alias moved by hand in MLflow is found by the sync and, for a model whose guard is set to report, reported on
the dashboard and in the governance pack; moving it back clears the report."""

import pytest

from governance.models import AuditEvent
from registry import selectors, services
from reporting.gather import gather_governance_pack

from .helpers import approved_launch, linked_model, roll_out_to_full

pytestmark = [pytest.mark.django_db, pytest.mark.mlflow, pytest.mark.xdist_group("mlflow")]


@pytest.fixture
def champion_set(people, mlflow_on, registered, register_version, django_capture_on_commit_callbacks):
    model, link = linked_model(people, registered, guard="REPORT")
    register_version(registered, digest="1" * 64)
    register_version(registered, digest="2" * 64)
    services.sync_link(link)
    with django_capture_on_commit_callbacks(execute=True):
        roll_out_to_full(people, approved_launch(people, model.versions.get(version="2")))
    return link


def test_a_manual_alias_move_is_detected_once(champion_set, mlflow_client):
    link = champion_set
    assert services.sync_link(link)["drifted"] == 0 and selectors.alias_drift() == []

    mlflow_client.set_registered_model_alias(link.registered_model, "champion", "1")  # by hand, no sign-off
    assert services.sync_link(link)["drifted"] == 1
    services.sync_link(link)

    [drift] = selectors.alias_drift()
    assert (drift["alias"], drift["observed_version"], drift["expected_version"]) == ("champion", 1, 2)
    assert AuditEvent.objects.filter(verb="registry.alias_drift_detected").count() == 1


def test_drift_shows_on_the_dashboard_and_in_the_governance_pack(champion_set, mlflow_client, client, people,
                                                                 django_assert_max_num_queries):
    from django.utils import timezone

    link = champion_set
    mlflow_client.set_registered_model_alias(link.registered_model, "champion", "1")
    services.sync_link(link)

    client.force_login(people["viewer"])
    page = client.get("/").content.decode()
    assert f"{link.registered_model}@champion moved by hand" in page
    assert "points at v1; Gatehouse set v2" in page

    today = timezone.localdate().isoformat()
    data = gather_governance_pack(people["compliance"], {"start": today, "end": today, "label": "Today"})
    [section] = [s for s in data["sections"] if s["id"] == "registry"]
    assert section["rows"][0][:4] == [link.registered_model, "@champion", "v1", "v2"]

    with django_assert_max_num_queries(2):
        selectors.alias_drift()


def test_a_removed_alias_is_drift_and_moving_it_back_clears_it(champion_set, mlflow_client):
    link = champion_set
    mlflow_client.delete_registered_model_alias(link.registered_model, "champion")
    services.sync_link(link)
    assert selectors.alias_drift()[0]["observed_version"] is None

    mlflow_client.set_registered_model_alias(link.registered_model, "champion", "2")
    services.sync_link(link)
    assert selectors.alias_drift() == []
    assert AuditEvent.objects.filter(verb="registry.alias_drift_cleared").count() == 1


def test_an_alias_set_by_hand_before_gatehouse_ever_set_it_is_drift(people, mlflow_on, mlflow_client, registered,
                                                                   register_version):
    _, link = linked_model(people, registered, guard="REPORT")
    register_version(registered)
    mlflow_client.set_registered_model_alias(registered, "champion", "1")
    services.sync_link(link)
    assert [(d["observed_version"], d["expected_version"]) for d in selectors.alias_drift()] == [(1, None)]
