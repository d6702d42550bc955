"""Launches in the states a deploy tool meets: allowed, denied, inconclusive (shared by the contract tests)."""

from readiness import services
from tests.factories import PASSWORD, make_launch, pass_everything

FOUR = (("data_science", "DATA_SCIENCE"), ("compliance", "COMPLIANCE"), ("legal", "LEGAL"), ("model_risk", "MODEL_RISK"))
# A fairness interval that straddles the 0.80 floor: the blocking fairness check is INCONCLUSIVE.
STRADDLING = {"psi.max": 0.05, "fairness.air": 0.82, "fairness.air.ci_low": 0.75, "fairness.air.ci_high": 0.9,
              "fairness.eod": 0.01, "fairness.eod.ci_low": 0, "fairness.eod.ci_high": 0.02, "auc": 0.8}


def sign_all(launch, people):
    for person, role in FOUR:
        launch.refresh_from_db()
        services.sign_off(launch, actor=people[person], role=role, decision="APPROVE", password=PASSWORD,
                          content_hash=launch.content_hash)
    launch.refresh_from_db()
    return launch


def approved_launch(people, **kw):
    launch = pass_everything(make_launch(author=people["author"], **kw), attester=people["data_science"])
    services.submit_for_review(launch, actor=people["author"])
    return sign_all(launch, people)


def inconclusive_launch(people, **kw):
    """Every sign-off given over content whose blocking fairness check is inconclusive: nothing but that check
    stands between the launch and its first stage."""
    launch = pass_everything(make_launch(author=people["author"], **kw), attester=people["data_science"],
                             metrics=STRADDLING)
    services.submit_for_review(launch, actor=people["author"])
    return sign_all(launch, people)


def denied_launch(people):
    return make_launch(author=people["author"])


def bearer(client, secret):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def what_ships(launch, stage="shadow", **extra):
    return {"model": launch.version.model.slug, "version": launch.version.version, "stage": stage, **extra}
