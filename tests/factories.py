"""factory-boy factories and small builders shared by the tests."""

import hashlib

import factory
from django.db import connection

from governance.models import (
    Feature,
    FeatureSource,
    MLModel,
    ModelVersion,
    ProxyRiskStatus,
    RiskTier,
    RoleMembership,
    User,
)

PASSWORD = "correct horse battery staple"


def make_user(username: str, *roles, superuser: bool = False, password: str = PASSWORD, **extra) -> User:
    user = User.objects.create_user(
        username=username, password=password, first_name=extra.pop("first_name", username.split("_")[0].title()),
        last_name=extra.pop("last_name", "Tester"), is_superuser=superuser, is_staff=superuser, **extra,
    )
    for role in roles:
        RoleMembership.objects.create(user=user, role=role)
    return user


PEOPLE = (  # key, username, first and last name, roles (none for the administrator, a superuser)
    ("author", "ada_author", "Ada", "Author", ("DATA_SCIENCE",)),
    ("data_science", "dev_scientist", "Dev", "Scientist", ("DATA_SCIENCE",)),
    ("compliance", "cole_compliance", "Cole", "Compliance", ("COMPLIANCE",)),
    ("legal", "lee_legal", "Lee", "Legal", ("LEGAL",)),
    ("model_risk", "mara_risk", "Mara", "Risk", ("MODEL_RISK",)),
    ("product", "pat_product", "Pat", "Product", ("PRODUCT",)),
    ("engineering", "eli_engineer", "Eli", "Engineer", ("ENGINEERING",)),
    ("viewer", "vic_viewer", "Vic", "Viewer", ("VIEWER",)),
    ("admin", "root_admin", "Root", "Admin", ()),
)


def make_people() -> dict[str, User]:
    """The test people, keyed by role in lower case (``data_science``, ``compliance``, ``legal``, ``model_risk``,
    ``product``, ``engineering``, ``viewer``), plus ``author``, a data scientist who writes the launches (so
    ``data_science`` is a second one who may attest and sign them), and ``admin``, a superuser. Each has the
    e-mail address ``<first name>@example.com``."""
    return {key: make_user(username, *roles, superuser=not roles, first_name=first, last_name=last,
                           email=f"{first.lower()}@example.com")
            for key, username, first, last, roles in PEOPLE}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(PASSWORD)


class MLModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MLModel

    slug = factory.Sequence(lambda n: f"model-{n}")
    name = factory.Sequence(lambda n: f"Model {n}")
    owner = factory.SubFactory(UserFactory)
    business_use = "Scores applications."
    risk_tier = RiskTier.TIER_2
    protected_attributes = factory.LazyFunction(list)


class ModelVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelVersion

    model = factory.SubFactory(MLModelFactory)
    version = factory.Sequence(lambda n: f"1.{n}.0")
    artifact_sha256 = factory.LazyAttribute(lambda o: sha(f"{o.version}"))
    git_commit = "abcdef1"
    model_card = "# Card\n\nPrecision 0.81, recall 0.77."


class FeatureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Feature

    version = factory.SubFactory(ModelVersionFactory)
    name = factory.Sequence(lambda n: f"feature_{n}")
    source = FeatureSource.INTERNAL
    proxy_risk_status = ProxyRiskStatus.NOT_ASSESSED


def make_launch(*, author, tier="TIER_1", third_party=False, protected=(), title="Refresh", memo=True, **version_kw):
    """A launch for a fresh model version under the tier's current policy."""
    from readiness.services import create_launch

    model = MLModelFactory(risk_tier=tier, protected_attributes=list(protected))
    version = ModelVersionFactory(model=model, **version_kw)
    FeatureFactory(version=version, name="income")
    if third_party:
        FeatureFactory(version=version, name="device_score", source="THIRD_PARTY", vendor="DeviceCo")
    fields = {}
    if memo:
        fields = dict(summary="Quarterly refresh.", options_considered="Ship, hold, or mitigate.",
                      expected_value="+2 % approval at equal loss.", risks="Proxy drift.", decision="SHIP",
                      rationale="Offline and shadow results hold.")
    return create_launch(version, actor=author, title=title, **fields)


def pass_everything(launch, *, attester, metrics=None):
    """Attest every manual item and submit metrics that pass every automatic rule."""
    from readiness.models import ItemKind, ItemSource
    from readiness.services import attest_item, submit_evaluation

    submit_evaluation(launch, actor=attester, metrics=metrics or {
        "psi.max": 0.05, "fairness.air": 0.93, "fairness.air.ci_low": 0.88, "fairness.air.ci_high": 0.97,
        "fairness.eod": 0.02, "fairness.eod.ci_low": 0.0, "fairness.eod.ci_high": 0.05, "auc": 0.81,
    })
    for item in launch.items.filter(kind=ItemKind.MANUAL, stage="").exclude(source=ItemSource.CONDITION):
        attest_item(item, actor=attester, outcome="PASS", evidence_text=f"Evidence for {item.key}")
    launch.refresh_from_db()
    return launch


def attest_stage_results(launch, *, attester, stage=None):
    """Attest the items that attest a rollout stage's result (all stages, or ``stage``), once that stage has run
    its minimum duration: their stage's entry is moved back far enough, as if the time had passed."""
    from datetime import timedelta

    from readiness.models import RolloutStage
    from readiness.services import attest_item

    items = launch.items.exclude(stage="")
    if stage is not None:
        items = items.filter(stage=stage)
    for item in items:
        row = RolloutStage.objects.get(plan__launch=launch, name=item.stage)
        if row.entered_at is not None:
            moved = row.entered_at - timedelta(minutes=row.min_duration_minutes)
            RolloutStage.objects.filter(pk=row.pk).update(entered_at=moved)
            RolloutPlan = type(row.plan)
            RolloutPlan.objects.filter(pk=row.plan_id, current_stage=row).update(stage_entered_at=moved)
        attest_item(item, actor=attester, outcome="PASS", evidence_text=f"Result of {item.stage}")


def tamper(sql: str, params: list) -> None:
    """Someone with database rights editing history: a superuser can switch off the PostgreSQL append-only
    trigger for the session, the attacker the audit chain guards against."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = origin")
