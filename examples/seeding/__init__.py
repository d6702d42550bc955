"""The documented examples (E1–E12), told through Gatehouse's own mechanisms.

Every story is created through the same services people and pipelines use, so its figures are the software's
own: durations come from timestamps, verdicts from the statistics engine over seeded data, statuses from the
state machines. Each story is keyed by its model's slug and skipped when present: seeding twice changes nothing.
"""

from django.db import transaction

from examples.demo_users import ensure_demo_users
from examples.seeding.common import as_of, days_ago
from governance.models import MLModel, User
from governance.policies.services import ensure_default_policies

POLICIES_IN_FORCE_DAYS = 500  # before the oldest story (E1, about nine months ago; E6's quarters within a year)


def seed_all() -> str:
    from examples.seeding import lending, report_facts
    from readiness.notifications import suppressed

    # The people and the rules in force before every story: the stories' launches were opened under them.
    with as_of(days_ago(POLICIES_IN_FORCE_DAYS)):
        people = {u.username: u for u in ensure_demo_users()}
        people["admin"] = User.objects.get(username="admin")
        lending.ensure_legacy_policies()
        ensure_default_policies()
    with suppressed():
        done = _tell(people)
        with transaction.atomic():
            lending.ensure_production_v413(people)
            report_facts.add_report_facts()
    return f"{len(people)} demo people; stories added: {', '.join(done) or 'none (already seeded)'}"


def _tell(people) -> list[str]:
    from examples.seeding import lending, operations, ranking

    done = []
    for story in (lending.e1_fair_lending, ranking.e2_homepage_ranking, ranking.e3_propensity_leakage,
                  lending.e4_recommendation_fairness, operations.e6_ltv_readiness, ranking.e7_widget,
                  ranking.e8_learning_to_rank, operations.e9_fraud_skew, operations.e10_churn_drift):
        if MLModel.objects.filter(slug=story.slug).exists():
            continue
        with transaction.atomic():
            story(people)
        done.append(story.slug)
    return done
