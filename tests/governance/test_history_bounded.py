"""Lists that would grow with years of history show the newest and page or count the rest: the model API and its
versions, a tier's policy history, the launch and version pickers of the forms, the dashboard's unassessed versions,
the recurrences and the time-to-detect chart of the follow-through page."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from governance.inventory.models import FeatureSource
from postmortems import charts
from postmortems.forms import OFFERED_LAUNCHES, IncidentForm
from readiness.forms import OFFERED_VERSIONS, LaunchCreateForm
from tests.factories import (
    FeatureFactory,
    MLModelFactory,
    ModelVersionFactory,
    UserFactory,
    make_launch,
    make_user,
)

pytestmark = pytest.mark.django_db


def test_the_model_api_answers_the_newest_versions_and_pages_the_rest(api_client, token_for):
    model = MLModelFactory(slug="weekly")
    for k in range(14):
        ModelVersionFactory(model=model, version=f"1.{k}.0")
    _, secret = token_for("models:read")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    detail = api_client.get("/api/v1/models/weekly/").json()
    assert detail["version_count"] == 14
    assert [v["version"] for v in detail["versions"]] == [f"1.{k}.0" for k in range(13, 3, -1)]
    first = api_client.get("/api/v1/models/weekly/versions/?limit=5").json()
    assert first["count"] == 14 and [v["version"] for v in first["results"]][0] == "1.13.0"
    last = api_client.get("/api/v1/models/weekly/versions/?limit=5&offset=10").json()
    assert [v["version"] for v in last["results"]] == ["1.3.0", "1.2.0", "1.1.0", "1.0.0"]
    refused = api_client.get("/api/v1/models/weekly/versions/?sort=old")
    assert refused.status_code == 400 and "sort" in str(refused.json())


def test_a_model_limited_token_cannot_list_another_models_versions(api_client, token_for):
    mine, other = MLModelFactory(slug="mine"), MLModelFactory(slug="other")
    _, secret = token_for("models:read", models=[mine])
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api_client.get("/api/v1/models/mine/versions/").status_code == 200
    assert api_client.get(f"/api/v1/models/{other.slug}/versions/").status_code == 403


def test_the_policy_history_pages_its_versions_and_changes(client):
    from governance.policies import services as policies

    policies.ensure_default_policies()
    policy = policies.get_policy("TIER_1")
    client.force_login(make_user("mo", "MODEL_RISK"))
    page = client.get(reverse("governance:policy_detail", args=["TIER_1"]))
    assert page.status_code == 200
    assert page.context["version_page"].paginator.count == policy.versions.count()
    assert len(page.context["versions"]) <= 20 and len(page.context["changes"]) <= 20


def test_the_incident_form_offers_the_newest_launches_and_accepts_any(db):
    author = make_user("ada", "DATA_SCIENCE")
    oldest = make_launch(author=author, title="The oldest")
    from readiness.models import LaunchRequest

    LaunchRequest.objects.filter(pk=oldest.pk).update(status="LAUNCHED", created_at=datetime(2020, 1, 1, tzinfo=UTC))
    launch = make_launch(author=author, title="Recent")
    LaunchRequest.objects.filter(pk=launch.pk).update(status="LAUNCHED")
    offered = [pk for pk, _ in IncidentForm().fields["launch"].widget.choices if pk]
    assert offered[0] == launch.pk and len(offered) <= OFFERED_LAUNCHES
    form = IncidentForm(data={"title": "Drift", "severity": "SEV2", "detection_source": "MONITORING",
                              "launch": oldest.pk})
    assert form.is_valid(), form.errors
    # The launch an incident is linked to stays offered on its edit form, however old.
    editing = IncidentForm(initial={"launch": oldest.pk})
    assert oldest.pk in [pk for pk, _ in editing.fields["launch"].widget.choices]


def test_the_launch_form_offers_at_most_the_newest_versions(db):
    model = MLModelFactory()
    versions = [ModelVersionFactory(model=model, version=f"2.{k}.0") for k in range(OFFERED_VERSIONS + 2)]
    choices = [pk for pk, _ in LaunchCreateForm().fields["version"].widget.choices if pk]
    assert len(choices) == OFFERED_VERSIONS and versions[0].pk not in choices
    asked = LaunchCreateForm(initial={"version": str(versions[0].pk)})
    assert versions[0].pk in [pk for pk, _ in asked.fields["version"].widget.choices]
    assert LaunchCreateForm(data={"version": versions[0].pk, "title": "Old one"}).is_valid()


def test_the_dashboard_names_the_newest_unassessed_versions_and_counts_all(client):
    model = MLModelFactory()
    for k in range(11):
        version = ModelVersionFactory(model=model, version=f"3.{k}.0")
        FeatureFactory(version=version, name=f"bureau_{k}", source=FeatureSource.THIRD_PARTY, vendor="Bureau")
    client.force_login(UserFactory())
    page = client.get(reverse("dashboard"))
    assert page.context["unassessed_count"] == 11 and len(page.context["unassessed_versions"]) == 8
    assert "11 model versions with third-party features" in page.content.decode()


def test_the_duration_chart_draws_quarterly_medians_past_its_point_limit():
    start = datetime(2024, 1, 1, tzinfo=UTC)
    many = [(start + timedelta(days=3 * k), timedelta(hours=k % 7 + 1)) for k in range(charts.TREND_POINTS + 1)]
    svg = charts.duration_trend_svg(many, many)
    assert "Median time to detect and to resolve per quarter" in svg
    few = charts.duration_trend_svg(many[:5], many[:5])
    assert "per incident" in few
