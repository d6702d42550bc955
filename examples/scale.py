"""Years of a bank's launches, written in bulk: the data set the scale benchmark and the flat-cost tests read.

The histories are valid, not random rows: every launch moves created → submitted → signed → approved → rollout
stages → launched or rolled back, in that order and in the past; signers hold the role they sign as and are never
the author; a rolled-back launch opens its incident; incidents run began → detected → mitigated → resolved →
closed; each act has its audit event, and the audit log is one hash chain computed with the audit module's own
``compute_hash``, so ``verify_audit_log`` passes. Rows are written with ``bulk_create`` in batches, and on
PostgreSQL the two big tables (observations and audit events) with COPY.

Only fields that matter for the histories are set; every other column keeps its model default, so a nullable
column added later needs nothing here.
"""

import bisect
import contextlib
import hashlib
import heapq
import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from governance.inventory.models import (
    Feature,
    FeatureSource,
    MLModel,
    ModelVersion,
    ProxyRiskStatus,
    RiskTier,
)
from governance.kernel.audit import GENESIS_HASH, compute_hash
from governance.kernel.canonical import content_hash, to_plain
from governance.kernel.models import AuditEvent, RoleMembership, User
from governance.kernel.roles import Role
from governance.policies.defaults import DEFAULTS
from governance.policies.models import PolicyChange, TierPolicy, TierPolicyVersion
from governance.policies.rules import validate_policy_content
from postmortems.models import (
    ActionItem,
    ContributingFactor,
    DetectionSource,
    FactorCategory,
    Incident,
    IncidentStatus,
    Postmortem,
    PostmortemStatus,
    Severity,
    TimelineEvent,
)
from readiness.models import (
    ChecklistItem,
    Decision,
    Evaluation,
    Guardrail,
    ItemStatus,
    LaunchRequest,
    LaunchStatus,
    Observation,
    RolloutPlan,
    RolloutStage,
    SignDecision,
    SignOff,
)

US = 1_000_000  # microseconds per second: every time here is an integer number of microseconds since the epoch
MINUTE, HOUR, DAY = 60 * US, 3600 * US, 86400 * US
BATCH = 2000

PEOPLE_PER_ROLE = {Role.DATA_SCIENCE: 40, Role.PRODUCT: 15, Role.COMPLIANCE: 10, Role.LEGAL: 8,
                   Role.MODEL_RISK: 10, Role.ENGINEERING: 20, Role.VIEWER: 10}
TERMINAL_WEIGHTS = {LaunchStatus.LAUNCHED: 80, LaunchStatus.ROLLED_BACK: 8, LaunchStatus.REJECTED: 5, LaunchStatus.WITHDRAWN: 7}
BUSINESS_USES = ["credit line decisions", "card fraud scoring", "collections prioritisation", "homepage ranking",
                 "marketing propensity", "churn prediction", "income verification", "search ranking",
                 "chargeback triage", "limit increase offers"]
METRIC_BASE = {"approval_air": 0.93, "psi_max": 0.05, "null_rate_delta_max": 0.01, "ctr_delta_pct": 0.2,
               "p95_latency_ms": 120.0}


@dataclass
class Sizes:
    models: int = 300
    launches: int = 20_000
    incidents: int = 3_000
    observations: int = 5_000_000
    audit_events: int = 2_000_000
    rollouts_in_progress: int | None = None  # default: one launch in forty
    policy_changes: int | None = None  # default: one per hundred launches
    busy_quarter: int | None = None  # launches created in one recent quarter (the governance pack's subject)
    years: int = 10
    seed: int = 21

    def __post_init__(self):
        if self.rollouts_in_progress is None:
            self.rollouts_in_progress = max(1, self.launches // 40)
        if self.policy_changes is None:
            self.policy_changes = max(3, self.launches // 100)
        if self.busy_quarter is None:
            self.busy_quarter = self.launches // 10


def utc(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def to_us(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * US + delta.microseconds


def label(model) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


@contextlib.contextmanager
def historical_timestamps(*models):
    """Let bulk_create keep the historical ``updated_at`` we give instead of stamping the present."""
    fields = [f for m in models for f in m._meta.concrete_fields if getattr(f, "auto_now", False)]
    for f in fields:
        f.auto_now = False
    try:
        yield
    finally:
        for f in fields:
            f.auto_now = True


def bulk(model, objs, batch=BATCH):
    objs = list(objs)
    for start in range(0, len(objs), batch):
        model.objects.bulk_create(objs[start:start + batch], batch_size=batch)
    return objs


@dataclass
class Launch:
    """The generator's plan for one launch before it is written."""

    obj: LaunchRequest
    tier: str
    status: str
    stage_times: list = field(default_factory=list)  # (entered, completed or None) per stage reached
    end: int | None = None  # launched or rolled back
    long_history: bool = False


class Generator:
    def __init__(self, sizes: Sizes, *, now: datetime | None = None, log=None):
        self.sizes = sizes
        self.rng = random.Random(sizes.seed)
        self.np = np.random.default_rng(sizes.seed)
        now = (now or timezone.now()).replace(microsecond=0)
        self.now = to_us(now) - MINUTE  # nothing in the future, not even the last act
        self.start = self.now - sizes.years * 365 * DAY
        self.log = log or (lambda message: None)
        self.events: list[tuple] = []  # (time, order, actor index, verb, object type, id, repr, before, after)
        self.counts: dict[str, int] = {}

    # -- helpers ----------------------------------------------------------------------------------------------
    def event(self, at, actor, verb, obj_type, obj_id, obj_repr, *, before=None, after=None):
        self.events.append((at, len(self.events), actor, verb, obj_type, str(obj_id), obj_repr[:300],
                            before, after))

    def between(self, lo, hi):
        return lo if hi <= lo else self.rng.randint(lo, hi)

    def person(self, role, *, exclude=()):
        choices = [p for p in self.people[role] if p.pk not in exclude]
        return self.rng.choice(choices)

    def digest(self, text: str) -> str:
        return hashlib.sha256(f"{self.sizes.seed}:{text}".encode()).hexdigest()

    # -- the whole run -----------------------------------------------------------------------------------------
    def run(self) -> dict:
        if AuditEvent.objects.exists() or LaunchRequest.objects.exists():
            raise ValueError("generate_scale_data writes a history from the beginning: use an empty, migrated "
                             "database (the audit chain and the timelines start with it).")
        with transaction.atomic(), historical_timestamps(LaunchRequest, MLModel):
            self.make_people()
            self.make_policies()
            self.make_models()
            self.make_launches()
            self.make_incidents()
            self.make_observations()
            self.write_audit_log()
        return self.counts

    def make_people(self):
        joined = self.start - 30 * DAY
        users, roles = [], []
        for role, n in PEOPLE_PER_ROLE.items():
            for i in range(1, n + 1):
                users.append(User(username=f"{role.lower()}{i:03d}", first_name=role.title().replace("_", " "),
                                  last_name=f"Person {i:03d}", email=f"{role.lower()}{i:03d}@bank.example",
                                  password="!scale-data-no-login", date_joined=utc(joined)))
                roles.append(role)
        bulk(User, users)
        bulk(RoleMembership, [RoleMembership(user=u, role=r, granted_at=utc(joined)) for u, r in zip(users, roles,
                                                                                                     strict=True)])
        self.people = {role: [u for u, r in zip(users, roles, strict=True) if r == role] for role in PEOPLE_PER_ROLE}
        self.users = users
        self.user_index = {u.pk: i for i, u in enumerate(users)}
        for n, user in enumerate(users):
            self.event(joined + n * US, None, "person.created", label(User), user.pk, user.username,
                       after={"username": user.username, "roles": [roles[n]]})
        self.counts["people"] = len(users)

    def make_policies(self):
        created = self.start - 10 * DAY
        self.policy_versions = {}  # tier -> [(created, TierPolicyVersion)]
        shares: dict[str, float] = {RiskTier.TIER_1: 0.5, RiskTier.TIER_2: 0.25, RiskTier.TIER_3: 0.25}
        changes_total = 0
        for tier in RiskTier.values:
            policy = TierPolicy.objects.create(tier=tier)
            content = validate_policy_content(DEFAULTS[tier], tier=tier)
            first = TierPolicyVersion.objects.create(policy=policy, number=1, content=content,
                                                     content_hash=content_hash(content), created_at=utc(created))
            self.event(created, None, "policy.created", label(TierPolicy), policy.pk, str(policy),
                       after={"version": 1, "content_hash": first.content_hash})
            history = [(created, first)]
            n_changes = max(1, round(self.sizes.policy_changes * shares[tier]))
            times = sorted(self.between(self.start, self.now - 2 * DAY) for _ in range(n_changes))
            changes, versions = [], []
            for k, proposed in enumerate(times, start=2):
                decided = proposed + self.between(HOUR, 2 * DAY)
                thresholds = {**content["thresholds"], "min_group_count": 30 + (k % 7) * 5}
                content = {**content, "thresholds": thresholds}
                proposer = self.person(Role.MODEL_RISK)
                approver = self.person(Role.COMPLIANCE)
                changes.append(PolicyChange(
                    policy=policy, operation=PolicyChange.Operation.SET_THRESHOLDS,
                    payload={"min_group_count": thresholds["min_group_count"]},
                    rationale=f"Quarterly threshold review {k}: group minimum follows the observed segment sizes.",
                    status=PolicyChange.Status.APPROVED, proposed_by=proposer, proposed_at=utc(proposed),
                    decided_by=approver, decided_at=utc(decided), decision_note="Reviewed against the quarter."))
                versions.append((decided, k, content))
            bulk(PolicyChange, changes)
            rows = bulk(TierPolicyVersion, [
                TierPolicyVersion(policy=policy, number=k, content=c, content_hash=content_hash(c),
                                  created_at=utc(at), change=change)
                for (at, k, c), change in zip(versions, changes, strict=True)])
            for change, version, (decided, k, _) in zip(changes, rows, versions, strict=True):
                self.event(to_us(change.proposed_at), self.user_index[change.proposed_by_id], "policy.change_proposed",
                           label(PolicyChange), change.pk, str(change), after={"operation": change.operation,
                                                                                 "payload": change.payload})
                self.event(decided, self.user_index[change.decided_by_id], "policy.change_approved",  # type: ignore[index]  # an approved change has its decider
                           label(PolicyChange), change.pk, str(change), after={"version": k,
                                                                                 "content_hash": version.content_hash})
                history.append((decided, version))
            policy.current = history[-1][1]
            policy.save(update_fields=["current"])
            self.policy_versions[tier] = history
            changes_total += len(changes)
        self.counts["policy_changes"] = changes_total

    def policy_at(self, tier, at) -> TierPolicyVersion:
        history = self.policy_versions[tier]
        i = bisect.bisect_right([t for t, _ in history], at) - 1
        return history[max(i, 0)][1]

    def make_models(self):
        tiers = [RiskTier.TIER_1] * 3 + [RiskTier.TIER_2] * 4 + [RiskTier.TIER_3] * 3
        models = []
        for i in range(self.sizes.models):
            tier = tiers[i % len(tiers)]
            use = BUSINESS_USES[i % len(BUSINESS_USES)]
            created = self.start + (i * (self.now - self.start) // max(self.sizes.models, 1)) * 2 // 3
            models.append(MLModel(
                slug=f"{use.split()[0]}-{i:04d}", name=f"{use.capitalize()} {i:04d}", owner=self.person(Role.DATA_SCIENCE),
                business_use=f"Scores {use}.", risk_tier=tier,
                regulatory_scope="ECOA / Regulation B, FCRA" if tier == RiskTier.TIER_1 else "",
                protected_attributes=["sex", "age_band"] if tier == RiskTier.TIER_1 else [],
                created_at=utc(created), updated_at=utc(created)))
        bulk(MLModel, models)
        for m in models:
            self.event(to_us(m.created_at), self.user_index[m.owner_id], "model.created", label(MLModel), m.pk,
                       m.name, after={"slug": m.slug, "risk_tier": m.risk_tier})
        self.models = models
        self.counts["models"] = len(models)
        self.model_weights = self.launch_shares(len(models))

    @staticmethod
    def launch_shares(n: int) -> list[float]:
        """Cumulative weights for choosing a launch's model, skewed as a real inventory is: a few models (one in
        twenty-five, the oldest) are retrained weekly and take half of all launches; a quarter of the rest are
        refreshed monthly; the others see a handful of launches in their life."""
        weekly = max(1, n // 25)
        rest = [8.0 if k % 4 == 0 else 1.0 for k in range(n - weekly)]
        each_weekly = (sum(rest) or 1.0) / weekly
        weights = [each_weekly] * weekly + rest
        return list(itertools.accumulate(weights))

    def incident_heavy_model(self) -> MLModel:
        """The model most incidents without a rollback are about: the first high-tier model that is not one of
        the weekly ones (a model with a troubled life, not merely a busy one)."""
        weekly = max(1, len(self.models) // 25)
        candidates = [m for m in self.models[weekly:] if m.risk_tier == RiskTier.TIER_1] or self.models[-1:]
        return candidates[0]

    # -- launches ---------------------------------------------------------------------------------------------
    def statuses(self) -> list[str]:
        n = self.sizes.launches
        rolling = min(self.sizes.rollouts_in_progress, n)
        in_flight = ([LaunchStatus.ROLLING_OUT] * rolling + [LaunchStatus.IN_REVIEW] * max(1, n // 100) + [LaunchStatus.APPROVED] * max(1, n // 200)
                     + [LaunchStatus.DRAFT] * max(1, n // 200))[:n]
        rest = n - len(in_flight)
        terminal = self.rng.choices(list(TERMINAL_WEIGHTS), weights=list(TERMINAL_WEIGHTS.values()), k=rest)
        if rest and LaunchStatus.LAUNCHED not in terminal:
            terminal[0] = LaunchStatus.LAUNCHED
        return terminal + in_flight

    def make_launches(self):
        statuses = self.statuses()
        old_end = self.now - 120 * DAY
        q_start, q_end = self.busy_quarter_bounds()
        busy = self.sizes.busy_quarter
        plans = []
        for i, status in enumerate(statuses):
            model = self.rng.choices(self.models, cum_weights=self.model_weights)[0]
            floor = to_us(model.created_at) + DAY
            if status in TERMINAL_WEIGHTS and i < busy:
                created = self.between(max(floor, q_start), max(floor, q_end))
            elif status in TERMINAL_WEIGHTS:
                created = self.between(floor, max(floor, old_end))
            else:
                created = self.between(max(floor, self.now - 60 * DAY), self.now - 45 * DAY)
            plans.append((created, model, status))
        plans.sort(key=lambda p: p[0])
        # The first launched TIER_1 launch carries a long history: many evaluations, re-signatures, observations.
        long_index = next((i for i, (_, m, s) in enumerate(plans) if s == LaunchStatus.LAUNCHED and m.risk_tier == "TIER_1"),
                          None)
        version_no: dict[int, int] = {}
        versions, launches = [], []
        for i, (created, model, status) in enumerate(plans):
            version_no[model.pk] = version_no.get(model.pk, 0) + 1
            number = version_no[model.pk]
            author = self.person(Role.DATA_SCIENCE if model.risk_tier != "TIER_2" or i % 3 else Role.PRODUCT)
            mv = ModelVersion(model=model, version=f"{number // 10 + 1}.{number % 10}.0",
                              artifact_sha256=self.digest(f"artifact:{model.slug}:{number}"),
                              git_commit=self.digest(f"commit:{model.slug}:{number}")[:12],
                              training_data_ref=f"s3://features/{model.slug}/snapshot-{number}",
                              model_card=f"# {model.name} {number}\n\nDecides {model.business_use.lower()}",
                              created_by=author, created_at=utc(created - self.between(HOUR, 3 * DAY)))
            versions.append(mv)
            pv = self.policy_at(model.risk_tier, created)
            required = list(pv.content["required_roles"])
            if model.protected_attributes:
                required += [r for r in pv.content.get("roles_if_protected_attributes", []) if r not in required]
            obj = LaunchRequest(
                policy_version=pv, title=f"{model.name} {mv.version}", author=author, status=status,
                summary=f"Refresh of {model.name} on the latest training window.",
                options_considered="Ship, hold, or mitigate with re-weighting.",
                expected_value="Lower losses at the same approval rate.", risks="Drift in third-party features.",
                decision=Decision.SHIP, rationale="Offline gains held on the out-of-time sample.",
                required_roles=required, content_hash=self.digest(f"content:{i}"),
                created_at=utc(created), updated_at=utc(created))
            launches.append(Launch(obj=obj, tier=model.risk_tier, status=status, long_history=(i == long_index)))
        bulk(ModelVersion, versions)
        features = []
        for mv in versions:
            features += [Feature(version=mv, name="income", description="Stated income"),
                         Feature(version=mv, name="utilisation", description="Revolving utilisation"),
                         Feature(version=mv, name="device_score", source=FeatureSource.THIRD_PARTY, vendor="DeviceCo",
                                 proxy_risk_status=ProxyRiskStatus.ASSESSED_ACCEPTABLE, proxy_risk_ref="PRA-1",
                                 vendor_sla_ref="SLA-7", drift_monitor_ref="drift/device_score")]
        bulk(Feature, features)
        for mv, launch in zip(versions, launches, strict=True):
            launch.obj.version = mv
            self.timeline(launch)
        bulk(LaunchRequest, [launch.obj for launch in launches])
        self.launches = launches
        self.write_launch_children()
        self.counts.update(launches=len(launches), versions=len(versions), features=len(features),
                           rolling_out=sum(1 for launch in launches if launch.status == LaunchStatus.ROLLING_OUT),
                           long_history_launch=next((launch.obj.pk for launch in launches if launch.long_history),
                                                    None))

    def busy_quarter_bounds(self) -> tuple[int, int]:
        """The last calendar quarter that ended 120 days ago or earlier (a day inside each edge)."""
        edge = utc(self.now - 120 * DAY)
        month = (edge.month - 1) // 3 * 3 + 1
        end = datetime(edge.year, month, 1, tzinfo=UTC)
        start = datetime(edge.year - (month == 1), (month - 4) % 12 + 1, 1, tzinfo=UTC)
        self.counts["busy_quarter"] = f"{start.year}-Q{(start.month - 1) // 3 + 1}"
        return to_us(start) + DAY, to_us(end) - DAY

    def timeline(self, launch: Launch):
        """Times of each step, in order, for the launch's final status."""
        obj, status = launch.obj, launch.status
        created = to_us(obj.created_at)
        if status == LaunchStatus.DRAFT:
            return
        if status == LaunchStatus.WITHDRAWN and self.rng.random() < 0.5:
            obj.updated_at = utc(created + self.between(HOUR, 10 * DAY))
            return
        in_flight = status not in TERMINAL_WEIGHTS
        step = (HOUR, 2 * DAY) if in_flight else (HOUR, 10 * DAY)
        submitted = created + self.between(*step)
        obj.submitted_at = utc(submitted)
        last = submitted
        if status in (LaunchStatus.IN_REVIEW, LaunchStatus.WITHDRAWN, LaunchStatus.REJECTED):
            last = submitted + self.between(*step)
            obj.updated_at = utc(last)
            return
        approved = submitted + self.between(len(obj.required_roles) * HOUR, len(obj.required_roles) * 2 * DAY)
        obj.approved_at = utc(approved)
        if status == LaunchStatus.APPROVED:
            obj.updated_at = utc(approved)
            return
        stages = self.policy_stages(obj.policy_version)
        start = approved + self.between(HOUR, 3 * DAY)
        if status == LaunchStatus.ROLLING_OUT:
            # In a stage that is not the last, entered long enough ago for its guardrail windows to hold data.
            index = self.rng.randrange(max(1, len(stages) - 1))
            window = self.longest_window(obj.policy_version)
            entered = self.now - self.between(2 * window, max(2 * window, stages[index]["min_duration_minutes"]
                                                                * MINUTE - HOUR))
            if index == 0:
                start = entered = max(entered, approved + HOUR)
            entered = max(entered, start + index * HOUR)
            starts = [start + (entered - start) * k // index for k in range(index)] + [entered]
            launch.stage_times = [(starts[k], starts[k + 1] if k < index else None) for k in range(index + 1)]
            obj.rollout_started_at = utc(start)
            obj.updated_at = utc(entered)
            return
        reached = len(stages) if status == LaunchStatus.LAUNCHED else self.rng.randrange(len(stages)) + 1
        at = start
        for k in range(reached):
            duration = stages[k]["min_duration_minutes"] * MINUTE + self.between(10 * MINUTE, DAY)
            launch.stage_times.append((at, at + duration if status == LaunchStatus.LAUNCHED or k < reached - 1 else None))
            at += duration
        obj.rollout_started_at = utc(start)
        if status == LaunchStatus.LAUNCHED:
            launch.end = at
            obj.launched_at = utc(at)
        else:
            launch.end = launch.stage_times[-1][0] + self.between(10 * MINUTE, 6 * HOUR)
            obj.rolled_back_at = utc(launch.end)
            obj.rollback_reason = "Guardrail breached: approval-rate AIR below the floor for two windows."
            obj.rolled_back_by = "system:evaluate_rollouts"
        obj.updated_at = utc(launch.end)

    @staticmethod
    def policy_stages(pv) -> list[dict]:
        return pv.content["rollout"]["stages"]

    @staticmethod
    def longest_window(pv) -> int:
        return max([g["window_minutes"] for g in pv.content["rollout"]["guardrails"]] + [60]) * MINUTE

    def write_launch_children(self):
        items, evaluations, signoffs, plans = [], [], [], []
        for launch in self.launches:
            obj = launch.obj
            created = to_us(obj.created_at)
            ds = self.user_index[obj.author_id]
            self.event(to_us(obj.version.created_at), ds, "version.created", label(ModelVersion), obj.version.pk,
                       str(obj.version), after={"artifact_sha256": obj.version.artifact_sha256})
            self.event(created, ds, "launch.created", label(LaunchRequest), obj.pk, str(obj), after={
                "version": obj.version.version, "policy": f"v{obj.policy_version.number}",
                "required_roles": obj.required_roles, "title": obj.title})
            submitted = to_us(obj.submitted_at) if obj.submitted_at else None
            done = obj.submitted_at is not None
            for position, spec in enumerate(obj.policy_version.content["checklist"]):
                attested = self.between(created, submitted) if done else None
                items.append(ChecklistItem(
                    launch=obj, key=spec["key"], title=spec["title"], category=spec["category"],
                    blocking=spec["blocking"], kind=spec["kind"], rule=spec.get("rule", ""), position=position,
                    status=ItemStatus.PASS if done else ItemStatus.PENDING,
                    evidence_text="Reviewed; evidence in the model file." if done and spec["kind"] == "MANUAL" else "",
                    attested_by_id=obj.author_id if done and spec["kind"] == "MANUAL" else None,
                    attested_at=utc(attested) if done and spec["kind"] == "MANUAL" else None))
            n_evals = 300 if launch.long_history else 1
            for k in range(n_evals):
                at = self.between(created, submitted or min(created + DAY, self.now))
                evaluations.append(Evaluation(launch=obj, kind=Evaluation.Kind.METRICS, submitted_by="token ci",
                                              metrics={"psi.max": 0.05, "fairness.air": 0.91, "auc": 0.8 + k / 1e4},
                                              created_at=utc(at)))
            if submitted is not None:
                self.event(submitted, ds, "launch.status_changed", label(LaunchRequest), obj.pk, str(obj),
                           before={"status": "DRAFT"}, after={"status": "IN_REVIEW"})
                signoffs += self.signatures(launch)
            plans.append(RolloutPlan(launch=obj))
        bulk(ChecklistItem, items, batch=5000)
        bulk(Evaluation, evaluations)
        bulk(SignOff, signoffs)
        bulk(RolloutPlan, plans)
        for ev in evaluations:
            self.event(to_us(ev.created_at), None, "evaluation.submitted", label(Evaluation), ev.pk, str(ev),
                       after={"launch": ev.launch_id, "kind": ev.kind})
        for s in signoffs:
            self.event(to_us(s.signed_at), self.user_index[s.signer_id], "signoff.given", label(SignOff), s.pk,
                       f"{s.role}: {s.decision}", after={"launch": s.launch_id, "role": s.role,
                                                        "decision": s.decision, "content_hash": s.content_hash})
        self.write_rollouts(plans)
        for launch in self.launches:
            self.status_events(launch)
        self.counts.update(checklist_items=len(items), evaluations=len(evaluations), signoffs=len(signoffs))

    def signatures(self, launch: Launch) -> list[SignOff]:
        obj = launch.obj
        submitted = to_us(obj.submitted_at)
        end = to_us(obj.approved_at) if obj.approved_at else to_us(obj.updated_at)
        out = []
        rounds = 6 if launch.long_history else 1
        for r in range(rounds):
            lo = submitted + (end - submitted) * r // rounds
            hi = submitted + (end - submitted) * (r + 1) // rounds
            stale = r < rounds - 1
            times = sorted(self.between(lo, hi) for _ in obj.required_roles)
            if obj.approved_at and not stale:
                times[-1] = end  # the last signature approves the launch
            for role, at in zip(obj.required_roles, times, strict=True):
                decision = SignDecision.APPROVE
                if launch.status == LaunchStatus.REJECTED and role == obj.required_roles[-1] and not stale:
                    decision = SignDecision.REJECT
                if launch.status in (LaunchStatus.IN_REVIEW, LaunchStatus.WITHDRAWN) and role == obj.required_roles[-1] and not stale:
                    continue  # still waiting for (or never given) the last role
                signer = self.person(role, exclude={obj.author_id})
                out.append(SignOff(launch=obj, role=role, signer=signer, decision=decision,
                                   content_hash=obj.content_hash if not stale else self.digest(f"old:{obj.pk}:{r}"),
                                   signed_at=utc(at), stale=stale, staled_at=utc(hi) if stale else None,
                                   dissent="Canary period is short for this segment." if at % 29 == 0 else ""))
        return out

    def write_rollouts(self, plans):
        stages, guardrails = [], []
        by_launch = {}
        for launch, plan in zip(self.launches, plans, strict=True):
            content = launch.obj.policy_version.content["rollout"]
            mine = []
            for position, spec in enumerate(content["stages"]):
                entered = completed = None
                if position < len(launch.stage_times):
                    entered, completed = launch.stage_times[position]
                mine.append(RolloutStage(
                    plan=plan, position=position, name=spec["name"], traffic_percent=spec["traffic_percent"],
                    min_duration_minutes=spec["min_duration_minutes"], approval_role=spec.get("approval_role", ""),
                    entered_at=utc(entered) if entered else None, completed_at=utc(completed) if completed else None))
            stages += mine
            by_launch[launch.obj.pk] = (plan, mine)
        bulk(RolloutStage, stages, batch=5000)
        changed = []
        for launch in self.launches:
            plan, mine = by_launch[launch.obj.pk]
            rolling = launch.status in (LaunchStatus.ROLLING_OUT, LaunchStatus.LAUNCHED, LaunchStatus.ROLLED_BACK)
            for spec in launch.obj.policy_version.content["rollout"]["guardrails"]:
                stage = next((s for s in mine if s.name == spec.get("stage")), None)
                guardrails.append(Guardrail(
                    plan=plan, stage=stage, metric=spec["metric"], comparator=spec["comparator"],
                    threshold=spec["threshold"], window_minutes=spec["window_minutes"],
                    failure_limit=spec["failure_limit"], sustain_minutes=spec.get("sustain_minutes", 0),
                    action=spec["action"],
                    state=Guardrail.State.PASSING if rolling else Guardrail.State.INSUFFICIENT_DATA,
                    evaluated_at=utc(launch.end or self.now - 5 * MINUTE) if rolling else None))
            if launch.stage_times:
                plan.current_stage = mine[len(launch.stage_times) - 1]
                plan.stage_entered_at = utc(launch.stage_times[-1][0])
                changed.append(plan)
        bulk(Guardrail, guardrails, batch=5000)
        RolloutPlan.objects.bulk_update(changed, ["current_stage", "stage_entered_at"], batch_size=BATCH)
        self.plans = by_launch
        self.guardrails: dict[int, list[Guardrail]] = {}
        for g in guardrails:
            self.guardrails.setdefault(g.plan.launch_id, []).append(g)
        self.counts.update(rollout_stages=len(stages), guardrails=len(guardrails))

    def status_events(self, launch: Launch):
        obj = launch.obj
        actor = self.user_index[obj.author_id]
        ref = (label(LaunchRequest), obj.pk, str(obj))
        if obj.approved_at:
            self.event(to_us(obj.approved_at), None, "launch.status_changed", *ref,
                       before={"status": "IN_REVIEW"}, after={"status": "APPROVED"})
        if launch.status in (LaunchStatus.REJECTED, LaunchStatus.WITHDRAWN):
            self.event(to_us(obj.updated_at), actor, "launch.status_changed", *ref,
                       before={"status": "IN_REVIEW" if obj.submitted_at else "DRAFT"}, after={"status": launch.status})
        plan, stages = self.plans[obj.pk] if launch.stage_times else (None, [])
        engineer = self.user_index[self.person(Role.ENGINEERING).pk]
        for k, (entered, _) in enumerate(launch.stage_times):
            if k == 0:
                self.event(entered, engineer, "launch.status_changed", *ref, before={"status": "APPROVED"},
                           after={"status": "ROLLING_OUT"})
            self.event(entered, engineer, "rollout.stage_entered", label(RolloutPlan), plan.pk, f"Rollout of {obj}",  # type: ignore[union-attr]  # stage times imply a plan
                       after={"stage": stages[k].name, "traffic_percent": stages[k].traffic_percent,
                              "launch": obj.pk})
        if launch.end is not None:
            self.event(launch.end, None if launch.status == LaunchStatus.ROLLED_BACK else engineer, "launch.status_changed", *ref,
                       before={"status": "ROLLING_OUT"}, after={"status": launch.status})

    # -- incidents --------------------------------------------------------------------------------------------
    def make_incidents(self):
        n = self.sizes.incidents
        rolled_back = [launch for launch in self.launches if launch.status == LaunchStatus.ROLLED_BACK][:n]
        plans = [(launch.end, launch) for launch in rolled_back]
        for _ in range(n - len(plans)):
            plans.append((self.between(self.start + 30 * DAY, self.now - HOUR), None))
        plans.sort(key=lambda p: p[0])
        incidents, members, model_links = [], [], []
        timeline, factors, items, postmortems = [], [], [], []
        troubled = self.incident_heavy_model()
        for i, (detected, launch) in enumerate(plans):
            began = detected - (self.between(5 * MINUTE, 30 * MINUTE) if launch else self.between(HOUR, 20 * DAY))
            age = self.now - detected
            mitigated = detected + self.between(10 * MINUTE, 2 * DAY)
            resolved = mitigated + self.between(HOUR, 10 * DAY)
            closed = resolved + self.between(DAY, 20 * DAY)
            if age < 3 * DAY or mitigated >= self.now:
                status, mitigated, resolved, closed = IncidentStatus.INVESTIGATING, None, None, None
            elif age < 15 * DAY or resolved >= self.now:
                status, resolved, closed = IncidentStatus.MITIGATED, None, None
            elif age < 40 * DAY or closed >= self.now:
                status, closed = IncidentStatus.RESOLVED, None
            else:
                status = IncidentStatus.CLOSED
            restricted = i % 33 == 0
            if launch:
                model = launch.obj.version.model
            elif self.rng.random() < 0.4:  # two in five of the incidents without a rollback hit one model
                model = troubled
            else:
                model = self.models[self.rng.randrange(len(self.models))]
            incident = Incident(
                title=(f"Rollback of {launch.obj.title}" if launch else f"{model.name}: {self.rng.choice(PROBLEMS)}"),
                severity=self.rng.choice([Severity.SEV1, Severity.SEV2, Severity.SEV2, Severity.SEV3, Severity.SEV3,
                                          Severity.SEV4]),
                status=status, began_at=utc(began), detected_at=utc(detected),
                mitigated_at=utc(mitigated) if mitigated else None, resolved_at=utc(resolved) if resolved else None,
                closed_at=utc(closed) if closed else None,
                detection_source=DetectionSource.ALERT if launch else self.rng.choice(DetectionSource.values),
                summary=f"{model.name} misbehaved in production; see the timeline.",
                impact_text="Decisions for an affected segment were delayed or reversed.",
                fair_lending=model.risk_tier == "TIER_1" and i % 5 == 0, consumer_harm=i % 7 == 0,
                restricted=restricted, launch=launch.obj if launch else None,
                opened_by="system:evaluate_rollouts" if launch else "",
                created_by=None if launch else self.person(Role.ENGINEERING), created_at=utc(detected))
            incidents.append((incident, model))
        bulk(Incident, [inc for inc, _ in incidents])
        by_start: list[tuple[int, int, int, list[str]]] = []
        for incident, model in incidents:
            detected = to_us(incident.detected_at)
            opener = self.user_index[incident.created_by_id] if incident.created_by_id else None
            ref = (label(Incident), incident.pk, f"#{incident.pk} {incident.title}")
            self.event(detected, opener, "incident.opened", *ref, after={
                "title": incident.title, "severity": incident.severity, "launch": incident.launch_id,
                "restricted": incident.restricted})
            model_links.append(Incident.models.through(incident_id=incident.pk, mlmodel_id=model.pk))
            if incident.restricted:
                for person in (self.person(Role.DATA_SCIENCE), self.person(Role.ENGINEERING)):
                    members.append(Incident.members.through(incident_id=incident.pk, user_id=person.pk))
            categories = self.rng.sample(FactorCategory.values, self.rng.randint(1, 3))
            # a recurrence: an earlier incident on the same model within 180 days, sharing a factor category
            began = to_us(incident.began_at)
            earlier = [(s, inc_pk, cats) for s, inc_pk, m_pk, cats in by_start[-50:]
                       if m_pk == model.pk and 0 < began - s <= 180 * DAY]
            if earlier and incident.pk % 4 == 0:
                incident.recurrence_of_id = earlier[-1][1]
                if earlier[-1][2][0] not in categories:
                    categories.append(earlier[-1][2][0])
            by_start.append((to_us(incident.began_at), incident.pk, model.pk, categories))
            for category in categories:
                factors.append(ContributingFactor(incident=incident, category=category, created_at=incident.detected_at,
                                                  description=f"{FactorCategory(category).label} allowed the fault."))
            marks = [(detected, TimelineEvent.Kind.DETECTION, "Detected by " + incident.detection_source.lower())]
            last = incident.mitigated_at or incident.resolved_at
            cap = to_us(last) if last else self.now
            for _ in range(self.rng.randint(2, 5)):
                marks.append((self.between(detected, cap), self.rng.choice(
                    [TimelineEvent.Kind.ESCALATION, TimelineEvent.Kind.COMMUNICATION, TimelineEvent.Kind.DECISION]),
                    "Update to stakeholders and next decision."))
            if incident.mitigated_at:
                marks.append((to_us(incident.mitigated_at), TimelineEvent.Kind.MITIGATION, "Traffic moved back."))
            for at, kind, text in marks:
                timeline.append(TimelineEvent(incident=incident, at=utc(at), kind=kind, text=text,
                                              author_label="system:gatehouse", created_at=utc(max(at, detected))))
                self.event(max(at, detected), opener, "incident.timeline_event_added", *ref,
                           after={"kind": kind, "at": utc(at).isoformat()})
            for status, at in ((IncidentStatus.MITIGATED, incident.mitigated_at),
                               (IncidentStatus.RESOLVED, incident.resolved_at),
                               (IncidentStatus.CLOSED, incident.closed_at)):
                if at:
                    self.event(to_us(at), opener, "incident.transitioned", *ref, after={"status": status})
            started = to_us(incident.resolved_at) + HOUR if incident.resolved_at else None
            if started is not None and started + DAY < self.now:
                author = self.person(Role.DATA_SCIENCE)
                published = min(started + self.between(DAY, 10 * DAY), self.now - MINUTE)
                submitted = self.between(started, published)
                postmortems.append(Postmortem(
                    incident=incident, summary="A data change went unnoticed until the guardrail fired.",
                    impact="Some applications were scored by the previous model.",
                    root_cause="Several conditions combined; see the contributing factors.",
                    lessons="Monitor the vendor field's null rate.", status=PostmortemStatus.PUBLISHED,
                    author=author, review_round=1, created_at=utc(started), updated_at=utc(published),
                    submitted_at=utc(submitted), published_at=utc(published)))
                self.event(started, self.user_index[author.pk], "postmortem.started", *ref,
                           after={"incident": incident.pk})
                self.event(published, self.user_index[author.pk], "postmortem.published", *ref,
                           after={"incident": incident.pk})
            for k in range(self.rng.randint(1, 4)):
                created = detected + self.between(HOUR, 3 * DAY)
                if created >= self.now:
                    continue
                due = utc(created + self.between(14 * DAY, 60 * DAY)).date()
                settled = to_us(datetime(due.year, due.month, due.day, tzinfo=UTC)) < self.now - 30 * DAY
                done_at = self.between(created, min(self.now - MINUTE, created + 70 * DAY)) if settled else None
                owner = self.person(Role.ENGINEERING if k % 2 else Role.DATA_SCIENCE)
                items.append(ActionItem(
                    incident=incident, title=f"{ActionItem.Kind.values[k % 4].title()} recurrence of #{incident.pk}",
                    kind=ActionItem.Kind.values[k % 4], owner=owner, due_date=due,
                    status=ActionItem.Status.DONE if settled else ActionItem.Status.OPEN,
                    completed_at=utc(done_at) if done_at else None, created_at=utc(created)))
        bulk(Incident.models.through, model_links)
        bulk(Incident.members.through, members)
        recurring = [inc for inc, _ in incidents if inc.recurrence_of_id]
        Incident.objects.bulk_update(recurring, ["recurrence_of"], batch_size=BATCH)
        bulk(ContributingFactor, factors)
        bulk(TimelineEvent, timeline, batch=5000)
        bulk(Postmortem, postmortems)
        bulk(ActionItem, items)
        for item in items:
            self.event(to_us(item.created_at), self.user_index[item.owner_id], "action_item.added", label(ActionItem),
                       item.pk, item.title, after={"incident": item.incident_id, "kind": item.kind,
                                                   "due_date": item.due_date.isoformat()})
        self.counts.update(incidents=len(incidents), timeline_events=len(timeline), factors=len(factors),
                           action_items=len(items), postmortems=len(postmortems))

    # -- observations -----------------------------------------------------------------------------------------
    def observation_windows(self):
        """(launch, metrics, first, last, rows) for every rollout that produced observations."""
        rolled = [launch for launch in self.launches if launch.stage_times]
        live = [launch for launch in rolled if launch.status == LaunchStatus.ROLLING_OUT]
        finished = [launch for launch in rolled if launch.status != LaunchStatus.ROLLING_OUT]
        out = []
        budget = self.sizes.observations
        for launch in live:  # the recent past of each guardrail window, one point per 10 minutes at most
            metrics = sorted({g.metric for g in self.guardrails.get(launch.obj.pk, [])})
            window = self.longest_window(launch.obj.policy_version)
            first = max(launch.stage_times[-1][0], self.now - 2 * window)
            per_metric = max(2, min(288, (self.now - first) // (5 * MINUTE)))
            rows = min(per_metric * len(metrics), max(0, budget // max(1, len(live)) // 2))
            out.append((launch, metrics, first, self.now - MINUTE, rows))
        budget -= sum(row[4] for row in out)
        long = [launch for launch in finished if launch.long_history]
        if long and budget > 0:
            share = budget // 50
            launch = long[0]
            out.append((launch, sorted({g.metric for g in self.guardrails[launch.obj.pk]}),
                        launch.stage_times[0][0], launch.end, share))
            budget -= share
            finished = [f for f in finished if not f.long_history]
        if finished and budget > 0:
            weights = self.np.gamma(2.0, 1.0, len(finished))
            shares = np.floor(weights / weights.sum() * budget).astype(int)
            shares[: budget - shares.sum()] += 1
            for launch, rows in zip(finished, shares, strict=True):
                metrics = sorted({g.metric for g in self.guardrails.get(launch.obj.pk, [])})
                out.append((launch, metrics, launch.stage_times[0][0], launch.end, int(rows)))
        return [row for row in out if row[1] and row[4] > 0]

    def make_observations(self):
        written = 0
        self.batches = []  # one "observations.recorded" audit event per batch: (time, launch pk, count, metrics)
        writer = ObservationWriter()
        for launch, metrics, first, last, rows in self.observation_windows():
            all_metrics = list(metrics)
            per_metric = max(1, rows // len(metrics))
            span = max(last - first, per_metric * US)
            times = first + (np.arange(per_metric, dtype=np.int64) * span) // per_metric
            stage_starts = np.array([t for t, _ in launch.stage_times], dtype=np.int64)
            stage_names = [s.name for s in self.plans[launch.obj.pk][1]]
            stage_of = np.clip(np.searchsorted(stage_starts, times, side="right") - 1, 0, len(stage_starts) - 1)
            for g in self.guardrails[launch.obj.pk]:
                if g.metric not in metrics:
                    continue
                metrics = [m for m in metrics if m != g.metric]
                base = METRIC_BASE.get(g.metric, g.threshold)
                noise = self.np.normal(0, abs(base - g.threshold) / 6 or 0.01, per_metric)
                values = base + noise
                if launch.status == LaunchStatus.ROLLED_BACK and g.action == Guardrail.Action.ROLLBACK:
                    values[-3:] = g.threshold - 0.05 if g.comparator == ">=" else g.threshold * 1.2
                writer.add(launch.obj.pk, g.metric, times, values, stage_of, stage_names)
                written += per_metric
            # the audit log sees these as batches of about a thousand rows, as monitoring posts them
            n_batches = max(1, (per_metric * len({g.metric for g in self.guardrails[launch.obj.pk]})) // 1000)
            for b in range(n_batches):
                self.batches.append((int(times[min(len(times) - 1, (b + 1) * len(times) // n_batches - 1)]),
                                     launch.obj.pk, str(launch.obj), all_metrics))
        writer.close()
        self.counts["observations"] = written

    # -- the audit log ----------------------------------------------------------------------------------------
    def write_audit_log(self):
        self.events.sort()
        structural = len(self.events)
        filler_total = max(0, self.sizes.audit_events - structural)
        batch_events = self.batch_events(filler_total)
        actor_labels = [u.username for u in self.users]
        writer = AuditWriter()
        prev, seq = GENESIS_HASH, 0
        for at, _, actor, verb, otype, oid, orepr, before, after in heapq.merge(self.events, batch_events):
            seq += 1
            event = AuditEvent(
                seq=seq, created_at=utc(at), actor_id=self.users[actor].pk if actor is not None else None,
                actor_label=actor_labels[actor] if actor is not None else "system:gatehouse", verb=verb,
                object_type=otype, object_id=oid, object_repr=orepr,
                before=to_plain(before) if before is not None else None,
                after=to_plain(after) if after is not None else None, prev_hash=prev)
            event.hash = compute_hash(prev, event)
            prev = event.hash
            writer.add(event)
        writer.close()
        self.counts["audit_events"] = seq

    def batch_events(self, total):
        """``total`` "observations.recorded" events spread over the observation batches, in time order."""
        if not self.batches or total <= 0:
            return iter(())
        self.batches.sort()
        per = total // len(self.batches)
        extra = total - per * len(self.batches)
        otype = label(LaunchRequest)
        order = len(self.events)

        def generate():
            serial = order
            for i, (at, launch_pk, title, metrics) in enumerate(self.batches):
                n = per + (1 if i < extra else 0)
                for k in range(n):
                    # spread a batch's events just before its time so the order stays the order of time
                    serial += 1
                    yield (at - (n - k) * 1000, serial, None, "observations.recorded", otype, str(launch_pk),
                           title[:300], None, {"count": 1000, "duplicates": 0, "metrics": metrics})
        return generate()


PROBLEMS = ["score drift after a vendor change", "latency above the SLO", "calibration drift in a segment",
            "training–serving skew on a windowed feature", "approval rate fell for a protected group",
            "null rate spike in a third-party field"]


class ObservationWriter:
    """Observations in bulk: COPY on PostgreSQL, bulk_create elsewhere (the test database is small)."""

    columns = ["launch_id", "metric", "segment", "value", "observed_at", "received_at", "stage_name"]

    def __init__(self):
        self.postgres = connection.vendor == "postgresql"
        self.pending: list = []

    def add(self, launch_pk, metric, times, values, stage_of, stage_names):
        if self.postgres:
            observed = np.datetime_as_string(times.astype("datetime64[us]"), unit="us", timezone="UTC")
            received = np.datetime_as_string((times + 30 * US).astype("datetime64[us]"), unit="us", timezone="UTC")
            names = [stage_names[i] for i in stage_of]
            self.pending.append("".join(
                f"{launch_pk}\t{metric}\t\t{v!r}\t{o}\t{r}\t{n}\n"
                for v, o, r, n in zip(values.tolist(), observed.tolist(), received.tolist(), names, strict=True)))
            if sum(map(len, self.pending)) > 8_000_000:
                self.flush()
        else:
            bulk(Observation, [Observation(launch_id=launch_pk, metric=metric, value=v, observed_at=utc(int(t)),
                                           received_at=utc(int(t) + 30 * US), stage_name=stage_names[s])
                               for t, v, s in zip(times.tolist(), values.tolist(), stage_of.tolist(), strict=True)])

    def flush(self):
        if not self.pending:
            return
        table = Observation._meta.db_table
        with connection.cursor() as cursor, cursor.copy(
                f"COPY {table} ({', '.join(self.columns)}) FROM STDIN") as copy:
            for block in self.pending:
                copy.write(block)
        self.pending = []

    def close(self):
        self.flush()


class AuditWriter:
    """Audit events in bulk, every concrete column but the key: COPY on PostgreSQL, bulk_create elsewhere."""

    def __init__(self):
        self.postgres = connection.vendor == "postgresql"
        self.fields = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
        self.pending: list = []

    def add(self, event):
        self.pending.append(event)
        if len(self.pending) >= 20_000:
            self.flush()

    def flush(self):
        if not self.pending:
            return
        if not self.postgres:
            bulk(AuditEvent, self.pending)
        else:
            columns = ", ".join(connection.ops.quote_name(f.column) for f in self.fields)
            with connection.cursor() as cursor, cursor.copy(
                    f"COPY {AuditEvent._meta.db_table} ({columns}) FROM STDIN") as copy:
                for event in self.pending:
                    copy.write_row([f.get_db_prep_save(getattr(event, f.attname), connection) for f in self.fields])
        self.pending = []

    def close(self):
        self.flush()


def generate(sizes: Sizes, *, now=None, log=None) -> dict:
    return Generator(sizes, now=now, log=log).run()
