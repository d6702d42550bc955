"""Steps the registry tests share: a model linked to MLflow, a launch approved and rolled out to full."""

from governance.inventory.services import create_model
from governance.kernel.principals import SystemActor
from readiness import rollouts, services
from readiness.models import LaunchStatus
from registry.models import RegistryLink
from registry.services import link_model, set_alias_mapping
from tests.factories import PASSWORD, pass_everything

PLAN = {"stages": [{"name": "canary", "traffic_percent": 10, "min_duration_minutes": 0},
                   {"name": "full", "traffic_percent": 100, "min_duration_minutes": 0}],
        "guardrails": []}


def linked_model(people, registered, *, slug="credit-risk", tier="TIER_2", guard=""):
    """``guard``: the link's guard mode (empty: the tier's default, revert for Tier 2)."""
    model = create_model(actor=SystemActor("tests"), slug=slug, name="Credit risk", owner=people["author"],
                         business_use="Scores applications.", risk_tier=tier)
    link = link_model(model, actor=people["author"], registered_model=registered)
    if guard:
        RegistryLink.objects.filter(pk=link.pk).update(guard_mode=guard)
        link.refresh_from_db()
    set_alias_mapping(actor=people["compliance"], tier=tier, stage="full", alias="champion")
    return model, link


def approved_launch(people, model_version):
    """A TIER_2 launch of ``model_version`` approved by its two signers, with a canary -> full plan."""
    launch = services.create_launch(model_version, actor=people["author"], title=f"Launch {model_version.version}",
                                    summary="Refresh.", options_considered="Ship or hold.", expected_value="+1 %",
                                    risks="Drift.", decision="SHIP", rationale="Offline results hold.")
    rollouts.update_plan(launch, actor=people["author"], **PLAN)
    pass_everything(launch, attester=people["data_science"])
    services.submit_for_review(launch, actor=people["author"])
    for person, role in (("data_science", "DATA_SCIENCE"), ("product", "PRODUCT")):
        launch.refresh_from_db()
        services.sign_off(launch, actor=people[person], role=role, decision="APPROVE", password=PASSWORD,
                          content_hash=launch.content_hash)
    launch.refresh_from_db()
    assert launch.status == LaunchStatus.APPROVED
    return launch


def roll_out_to_full(people, launch):
    rollouts.start_rollout(launch, actor=people["author"])
    return rollouts.advance(launch, actor=people["author"])


def alias_of(client, name, alias):
    from mlflow.exceptions import MlflowException

    try:
        return int(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None
