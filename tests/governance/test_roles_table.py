"""The README's permission table is the code's, and each narrowed grant is refused by the service and the API."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from governance.kernel.errors import PermissionDenied
from governance.kernel.permissions import RULES
from governance.kernel.roles import Role
from readiness import rollouts, services
from readiness.models import Evaluation, LaunchRequest, Observation
from tests.factories import ModelVersionFactory, make_launch

README = Path(__file__).resolve().parents[2] / "README.md"
WORKING = set(Role.values) - {Role.VIEWER}


def readme_table() -> dict[str, tuple[set[str], str | None]]:
    text = README.read_text(encoding="utf-8")
    start = text.index("| Action | Roles | Token scope |")
    rows = {}
    labels = {Role(r).label: r for r in Role.values}
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        action, roles, scope = (cell.strip() for cell in line.strip("|").split("|"))
        if roles == "everyone":
            names = set(Role.values)
        elif roles == "every role but Viewer":
            names = WORKING
        else:
            names = {labels[name.strip()] for name in roles.split(",")}
        rows[action.strip("`")] = (names, None if scope == "—" else scope.strip("`"))
    return rows


def test_the_readme_permission_table_says_what_the_code_enforces():
    code = {action: ({str(r) for r in roles}, scope) for action, (roles, scope) in RULES.items()}
    assert readme_table() == code


def test_the_readme_role_summary_names_each_narrowed_grant():
    text = README.read_text(encoding="utf-8")
    summary = dict(re.findall(r"^\| (Data Science|Model Risk|Engineering|Product) \| (.+) \|$", text, re.M))
    assert "author launches" in summary["Data Science"] and "author launches" in summary["Product"]
    assert "author" not in summary["Engineering"] and "post observations" in summary["Engineering"]
    assert "evaluations" not in summary["Model Risk"]


@pytest.mark.django_db
def test_model_risk_cannot_submit_evaluations(people, api_client):
    launch = make_launch(author=people["author"])
    with pytest.raises(PermissionDenied):
        services.submit_evaluation(launch, actor=people["model_risk"], metrics={"psi.max": 0.05})
    api_client.force_login(people["model_risk"])
    response = api_client.post(f"/api/v1/launches/{launch.pk}/evaluations/", {"metrics": {"psi.max": 0.05}},
                               format="json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert not Evaluation.objects.exists()


@pytest.mark.django_db
def test_engineering_cannot_author_or_edit_launches(people, api_client):
    version = ModelVersionFactory(model__risk_tier="TIER_2", model__owner=people["author"])
    with pytest.raises(PermissionDenied):
        services.create_launch(version, actor=people["engineering"], title="By engineering")
    api_client.force_login(people["engineering"])
    response = api_client.post("/api/v1/launches/", {"model": version.model.slug, "version": version.version,
                                                     "title": "By engineering"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert not LaunchRequest.objects.exists()
    launch = make_launch(author=people["author"])
    with pytest.raises(PermissionDenied):
        services.update_memo(launch, actor=people["engineering"], summary="changed")
    launch.refresh_from_db()
    assert launch.summary == "Quarterly refresh."


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["data_science", "product", "model_risk"])
def test_only_engineering_posts_observations(people, api_client, role):
    from tests.readiness.test_rollouts import SIMPLE, approved

    launch = approved(people, plan=SIMPLE)
    rollouts.start_rollout(launch, actor=people["author"], now=timezone.now() - timedelta(minutes=10))
    entry = {"metric": "p95_latency_ms", "value": 120, "observed_at": timezone.now().isoformat()}
    with pytest.raises(PermissionDenied):
        rollouts.record_observations(launch, actor=people[role], batch=[entry])
    api_client.force_login(people[role])
    response = api_client.post(f"/api/v1/launches/{launch.pk}/observations/", {"observations": [entry]},
                               format="json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert not Observation.objects.exists()
    rollouts.record_observations(launch, actor=people["engineering"], batch=[entry])
    assert Observation.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("role", sorted(WORKING))
def test_every_working_role_may_roll_back(people, role):
    from tests.readiness.test_rollouts import SIMPLE, approved

    launch = approved(people, plan=SIMPLE)
    rollouts.start_rollout(launch, actor=people["author"])
    person = next(p for key, p in people.items() if key == role.lower())
    rollouts.rollback(launch, actor=person, reason="Kill switch drill.")
    launch.refresh_from_db()
    assert launch.status == "ROLLED_BACK"
