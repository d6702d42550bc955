"""Small building blocks the seeded stories share.

Every act of a story happens on its own date: the stories call services inside ``as_of(moment)``, the trusted
historical caller's way of setting the effective time (governance.kernel.clock). Dates are absolute where the
documents give them (E6's quarters) and otherwise counted back from the seeding day, so the recent stories stay
recent (the E1 relaunch is in its 30-day shadow on the day the demo is seeded).
"""

import hashlib
from datetime import date, datetime, timedelta

from django.utils import timezone

from examples.demo_users import DEMO_PASSWORD
from governance.inventory.services import create_model, create_version
from governance.kernel import clock
from governance.kernel.principals import SystemActor
from readiness import evaluations, rollouts, services
from readiness.models import ItemKind, ItemSource

SEEDER = SystemActor("seed_examples")


as_of = clock.effective


def now():
    return timezone.now().replace(microsecond=0)


def days_ago(n: float, hour: int = 9, minute: int = 0) -> datetime:
    """``hour:minute`` local time, ``n`` days before the seeding day (never later than now)."""
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return min(midnight - timedelta(days=n) + timedelta(hours=hour, minutes=minute), now())


def on_date(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour, minute))


def last_completed_quarter(q: int) -> tuple[date, date]:
    """The most recent calendar quarter ``q`` (1–4) that has ended before the seeding day: (first, last day)."""
    today = timezone.localdate()
    year = today.year
    while True:
        first = date(year, 3 * (q - 1) + 1, 1)
        last = (date(year + (q == 4), (3 * q) % 12 + 1, 1)) - timedelta(days=1)
        if last < today:
            return first, last
        year -= 1


def local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def days(n: float) -> timedelta:
    return timedelta(days=n)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def model_with_version(*, slug, name, owner, tier, business_use, version, features, regulatory_scope="",
                       protected=(), model_card="", git_commit="", training_data_ref=""):
    model = create_model(actor=SEEDER, slug=slug, name=name, owner=owner, business_use=business_use, risk_tier=tier,
                         regulatory_scope=regulatory_scope, protected_attributes=list(protected))
    mv = create_version(model, actor=SEEDER, version=version, artifact_sha256=digest(f"{slug}:{version}"),
                        git_commit=git_commit or digest(f"commit:{slug}:{version}")[:12],
                        training_data_ref=training_data_ref, model_card=model_card, features=features)
    return model, mv


def attest_manual(launch, attester, evidence: dict | None = None):
    """Attest every manual pre-flight item, each with a link to its evidence document and that document's sha256.
    Items attesting a rollout stage's result wait for that stage (attest_stage_result)."""
    evidence = evidence or {}
    slug = launch.version.model.slug
    for item in launch.items.filter(kind=ItemKind.MANUAL, stage="").exclude(source=ItemSource.CONDITION):
        url = f"https://evidence.example.com/{slug}/{launch.version.version}/{item.key}.pdf"
        services.attest_item(item, actor=attester, outcome="PASS", evidence_url=url,
                             evidence_sha256=digest(f"evidence:{url}"),
                             evidence_text=evidence.get(item.key, f"Reviewed: {item.title.rstrip('.')}."))
    launch.refresh_from_db()
    return launch


def attest_stage_result(launch, attester, stage: str, text: str):
    """Attest the items on the result of ``stage``, once it has run its minimum duration (the clock's now)."""
    slug = launch.version.model.slug
    for item in launch.items.filter(kind=ItemKind.MANUAL, stage=stage):
        url = f"https://evidence.example.com/{slug}/{launch.version.version}/{item.key}.pdf"
        services.attest_item(item, actor=attester, outcome="PASS", evidence_url=url,
                             evidence_sha256=digest(f"evidence:{url}"), evidence_text=text)
    launch.refresh_from_db()
    return launch


def sign(launch, signer, role, decision="APPROVE", **kw):
    launch.refresh_from_db()
    signoff = services.sign_off(launch, actor=signer, role=role, decision=decision, password=DEMO_PASSWORD,
                                content_hash=launch.content_hash, **kw)
    launch.refresh_from_db()
    return signoff


def submit_metrics(launch, actor, **uploads):
    evaluation = evaluations.submit(launch, actor=actor, **uploads)
    launch.refresh_from_db()
    return evaluation


def observe(launch, actor, series: dict, times):
    """Post observations for several metrics at the given times, the way monitoring would."""
    result = None
    for at in times:
        batch = [{"metric": metric, "value": value(at), "observed_at": at} for metric, value in series.items()]
        with as_of(at):
            result = rollouts.record_observations(launch, actor=actor, batch=batch, now=at)
        if result["status"] != "ROLLING_OUT":
            break
    launch.refresh_from_db()
    return result


def every(start, end, step):
    moments = []
    at = start
    while at <= end:
        moments.append(at)
        at += step
    return moments


def story(slug):
    """Mark a story function with the model slug that identifies it (present means already seeded)."""
    def mark(func):
        func.slug = slug
        return func

    return mark
