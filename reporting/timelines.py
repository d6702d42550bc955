"""Read every launch, incident and policy change as plain records for ``reporting.timeline_checks``.

A fixed number of queries whatever the data's size (each record kind is read once, with its children
prefetched). It reads as Gatehouse itself: restricted incidents are checked like the rest, and only their
numbers and titles reach the output of the command, which whoever runs it can read in the database anyway.
"""

from django.db.models import Min, Prefetch
from django.utils import timezone

from governance.kernel.roles import Role
from governance.models import PolicyChange, Validation
from governance.validation.models import FindingStatus, RevalidationNeed, ValidationStatus
from postmortems.models import Incident, PostmortemReview
from readiness.models import LaunchRequest, Observation, RolloutStage, SignOff
from reporting.timeline_checks import (
    ActionItemRecord,
    FindingRecord,
    IncidentRecord,
    LaunchRecord,
    NeedRecord,
    PolicyChangeRecord,
    PostmortemRecord,
    SignatureRecord,
    StageClaimRecord,
    StageRecord,
    ValidationRecord,
    Violation,
    WaiverRecord,
    check_all,
)


def _role(value: str) -> str:
    try:
        return Role(value).label
    except ValueError:
        return value


def launch_records() -> list[LaunchRecord]:
    launches = (LaunchRequest.objects.select_related("policy_version", "plan")
                .prefetch_related(Prefetch("signoffs", queryset=SignOff.objects.select_related("signer")),
                                  Prefetch("plan__stages", queryset=RolloutStage.objects.order_by("position")),
                                  "items__waivers")
                .order_by("pk"))
    first_seen: dict[int, dict[str, object]] = {}
    for row in (Observation.objects.values("launch_id", "stage_name").annotate(first=Min("observed_at"))
                .order_by()):
        first_seen.setdefault(row["launch_id"], {})[row["stage_name"]] = row["first"]
    records = []
    for launch in launches:
        plan = getattr(launch, "plan", None)
        records.append(LaunchRecord(
            id=launch.pk, title=launch.title, created_at=launch.created_at,
            policy_in_force_at=launch.policy_version.created_at, submitted_at=launch.submitted_at,
            approved_at=launch.approved_at, rollout_started_at=launch.rollout_started_at,
            launched_at=launch.launched_at, rolled_back_at=launch.rolled_back_at,
            signatures=[SignatureRecord(f"{s.signer} as {_role(s.role)}", s.signed_at, s.stale)
                        for s in launch.signoffs.all()],
            stages=[StageRecord(s.name, s.entered_at, s.completed_at, s.approved_at)
                    for s in plan.stages.all()] if plan is not None else [],
            waivers=[WaiverRecord(item.title, w.created_at, w.revoked_at)
                     for item in launch.items.all() for w in item.waivers.all()],
            stage_claims=[StageClaimRecord(item.title, item.stage, item.attested_at)
                          for item in launch.items.all() if item.stage],
            stage_minutes={s.name: s.min_duration_minutes for s in plan.stages.all()} if plan is not None else {},
            first_observations=first_seen.get(launch.pk, {}),  # type: ignore[arg-type]  # Min of a datetime column
        ))
    return records


def incident_records() -> list[IncidentRecord]:
    incidents = (Incident.objects.select_related("postmortem")
                 .prefetch_related("timeline", "action_items",
                                   Prefetch("postmortem__reviews",
                                            queryset=PostmortemReview.objects.select_related("reviewer")))
                 .order_by("pk"))
    records = []
    for incident in incidents:
        doc = getattr(incident, "postmortem", None)
        records.append(IncidentRecord(
            id=incident.pk, title=incident.title, began_at=incident.began_at, detected_at=incident.detected_at,
            mitigated_at=incident.mitigated_at, resolved_at=incident.resolved_at, closed_at=incident.closed_at,
            timeline=[(e.kind, e.at) for e in incident.timeline.all()],
            action_items=[ActionItemRecord(a.pk, a.title, a.created_at, a.due_date, a.status == a.Status.DONE,
                                           a.completed_at) for a in incident.action_items.all()],
            postmortem=None if doc is None else PostmortemRecord(
                doc.created_at, doc.submitted_at, doc.published_at,
                [(f"{r.reviewer} as {_role(r.role)}", r.created_at) for r in doc.reviews.all()]),
        ))
    return records


def policy_change_records() -> list[PolicyChangeRecord]:
    return [PolicyChangeRecord(c.pk, f"{c.policy.tier}: {c.summary}", c.proposed_at, c.decided_at)
            for c in PolicyChange.objects.select_related("policy").order_by("pk")]


def validation_records() -> list[ValidationRecord]:
    """Only numbers and titles reach the output: a finding's reason for re-opening may be an incident's content."""
    validations = (Validation.objects.select_related("model").prefetch_related("findings", "resolved_needs")
                   .order_by("pk"))
    return [ValidationRecord(
        id=v.pk, model=v.model.slug, model_created_at=v.model.created_at, started_at=v.started_at,
        completed=v.status == ValidationStatus.COMPLETED, completed_at=v.completed_at, valid_until=v.valid_until,
        findings=[FindingRecord(f.pk, f.title, f.created_at, f.due_date, f.status == FindingStatus.CLOSED,
                                f.remediated_at, f.closed_at) for f in v.findings.all()],
        resolved_needs=[NeedRecord(n.pk, n.source_label, n.opened_at, n.resolved_at) for n in v.resolved_needs.all()],
    ) for v in validations]


def dismissed_need_records() -> list[NeedRecord]:
    return [NeedRecord(n.pk, n.source_label, n.opened_at, n.resolved_at)
            for n in RevalidationNeed.objects.filter(dismissed_by__isnull=False).order_by("pk")]


def verify_timelines(now=None) -> list[Violation]:
    """Every impossible ordering in the stored history, against the wall clock (nothing may lie ahead of it)."""
    return check_all(launches=launch_records(), incidents=incident_records(),
                     policy_changes=policy_change_records(), validations=validation_records(),
                     dismissed_needs=dismissed_need_records(), now=now or timezone.now())
