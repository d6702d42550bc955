"""Impossible histories, found by plain functions over plain records (no database here).

A history is impossible when an act is recorded before an act it depends on: a signature before the launch
was submitted, a rollout before its approval, an incident detected before it began, an action item done
before it was created, or anything effective after now. Each check returns ``Violation`` rows naming the
record, the two moments out of order and a stable ``code`` (``<later>_before_<earlier>``, ``in_future``, …)
that tests assert on.

Orderings are checked layer by layer: every moment of a layer must fall on or after every moment of the
nearest earlier layer that has a known moment. Comparing neighbouring known layers is enough, because the
order is transitive through any moment in between.

Validations follow the same rule: a model is registered before it is validated, a finding is recorded while its
validation is open, remediated before the validator's re-test closes it, and a need is opened before the
validation that clears it.

Not reported: an action item completed after its due date. That is late, not impossible; the governance
pack shows lateness. What is reported for action items is a completion with no time, a completion time on an
open item, a completion before the item existed, and a due date set before the item existed.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta


@dataclass(frozen=True)
class Moment:
    key: str  # what happened, as the code names it: "created", "submitted", "signature", …
    label: str  # the same, for a person: "signature by Dana Ortiz as Legal"
    at: datetime | None


@dataclass(frozen=True)
class Violation:
    subject: str  # "launch #3 Credit line 5.0 relaunch"
    code: str
    detail: str

    def __str__(self):
        return f"{self.subject}: {self.detail} [{self.code}]"


@dataclass
class SignatureRecord:
    label: str
    signed_at: datetime
    stale: bool = False


@dataclass
class StageRecord:
    name: str
    entered_at: datetime | None = None
    completed_at: datetime | None = None
    approved_at: datetime | None = None


@dataclass
class StageClaimRecord:
    """A checklist item that attests a rollout stage's result, and when it was attested."""
    label: str
    stage: str
    attested_at: datetime | None = None


@dataclass
class WaiverRecord:
    label: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass
class LaunchRecord:
    id: int
    title: str
    created_at: datetime
    policy_in_force_at: datetime | None = None
    submitted_at: datetime | None = None
    approved_at: datetime | None = None
    rollout_started_at: datetime | None = None
    launched_at: datetime | None = None
    rolled_back_at: datetime | None = None
    signatures: list[SignatureRecord] = field(default_factory=list)
    stages: list[StageRecord] = field(default_factory=list)  # in plan order
    waivers: list[WaiverRecord] = field(default_factory=list)
    stage_claims: list[StageClaimRecord] = field(default_factory=list)
    stage_minutes: dict[str, int] = field(default_factory=dict)  # each stage's minimum duration
    first_observations: dict[str, datetime] = field(default_factory=dict)  # stage name -> earliest observed_at

    @property
    def subject(self) -> str:
        return f"launch #{self.id} {self.title}"


@dataclass
class ActionItemRecord:
    id: int
    title: str
    created_at: datetime
    due_date: date
    done: bool
    completed_at: datetime | None = None


@dataclass
class PostmortemRecord:
    created_at: datetime
    submitted_at: datetime | None = None
    published_at: datetime | None = None
    reviews: list[tuple[str, datetime]] = field(default_factory=list)  # (label, at)


@dataclass
class IncidentRecord:
    id: int
    title: str
    detected_at: datetime
    began_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    timeline: list[tuple[str, datetime]] = field(default_factory=list)  # (kind, at)
    action_items: list[ActionItemRecord] = field(default_factory=list)
    postmortem: PostmortemRecord | None = None

    @property
    def subject(self) -> str:
        return f"incident #{self.id} {self.title}"


@dataclass
class PolicyChangeRecord:
    id: int
    summary: str
    proposed_at: datetime
    decided_at: datetime | None = None


@dataclass
class FindingRecord:
    id: int
    title: str
    created_at: datetime
    due_date: date
    closed: bool
    remediated_at: datetime | None = None
    closed_at: datetime | None = None


@dataclass
class NeedRecord:
    id: int
    label: str
    opened_at: datetime
    resolved_at: datetime | None = None


@dataclass
class ValidationRecord:
    id: int
    model: str
    model_created_at: datetime
    started_at: datetime
    completed: bool
    completed_at: datetime | None = None
    valid_until: date | None = None
    findings: list[FindingRecord] = field(default_factory=list)
    resolved_needs: list[NeedRecord] = field(default_factory=list)

    @property
    def subject(self) -> str:
        return f"validation #{self.id} of {self.model}"


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M")


def check_layers(subject: str, layers: Sequence[Sequence[Moment]]) -> list[Violation]:
    """Every moment of a layer falls on or after every moment of the nearest earlier layer with a known one."""
    found = []
    previous: list[Moment] = []
    for layer in layers:
        known = [m for m in layer if m.at is not None]
        if not known:
            continue
        for later in known:
            for earlier in previous:
                if later.at < earlier.at:  # type: ignore[operator]  # known holds only moments with a time
                    found.append(Violation(subject, f"{later.key}_before_{earlier.key}",
                                           f"{later.label} ({_when(later.at)}) comes before {earlier.label} "  # type: ignore[arg-type]  # a known moment has a time
                                           f"({_when(earlier.at)})"))  # type: ignore[arg-type]  # a known moment has a time
        previous = known
    return found


def check_not_after(subject: str, moments: Iterable[Moment], now: datetime) -> list[Violation]:
    return [Violation(subject, "in_future", f"{m.label} ({_when(m.at)}) is after now ({_when(now)})")
            for m in moments if m.at is not None and m.at > now]


def check_launch(launch: LaunchRecord, now: datetime) -> list[Violation]:
    """policy in force ≤ created ≤ submitted ≤ each current signature ≤ approved ≤ rollout start ≤ each stage
    entered (in plan order, each completed before the next is entered) ≤ launched ≤ rolled back."""
    current = [Moment("signature", f"signature by {s.label}", s.signed_at) for s in launch.signatures if not s.stale]
    layers = [
        [Moment("policy", "the policy version it was opened under", launch.policy_in_force_at)],
        [Moment("created", "the launch was created", launch.created_at)],
        [Moment("submitted", "submission for review", launch.submitted_at)],
        current,
        [Moment("approved", "approval", launch.approved_at)],
        [Moment("rollout_started", "the rollout's start", launch.rollout_started_at)],
    ]
    for stage in launch.stages:
        layers.append([Moment("stage_entered", f"entering stage {stage.name}", stage.entered_at)])
        layers.append([Moment("stage_completed", f"completing stage {stage.name}", stage.completed_at)])
    layers += [[Moment("launched", "the launch going fully live", launch.launched_at)],
               [Moment("rolled_back", "the rollback", launch.rolled_back_at)]]
    found = check_layers(launch.subject, layers)
    stale = [Moment("signature", f"earlier signature by {s.label}", s.signed_at) for s in launch.signatures
             if s.stale]
    found += check_layers(launch.subject, [layers[1], stale])
    for stage in launch.stages:
        if stage.approved_at is not None:
            found += check_layers(launch.subject, [
                [Moment("stage_entered", f"entering stage {stage.name}", stage.entered_at)],
                [Moment("stage_approved", f"approval to leave stage {stage.name}", stage.approved_at)]])
    for waiver in launch.waivers:
        found += check_layers(launch.subject, [
            layers[1], [Moment("waiver", f"waiver of {waiver.label}", waiver.created_at)],
            [Moment("waiver_revoked", f"revocation of the waiver of {waiver.label}", waiver.revoked_at)]])
    found += check_stage_claims(launch)
    found += check_observations(launch)
    every = [m for layer in layers for m in layer] + stale + [
        Moment("waiver", f"waiver of {w.label}", w.created_at) for w in launch.waivers] + [
        Moment("stage_approved", f"approval to leave stage {s.name}", s.approved_at) for s in launch.stages]
    return found + check_not_after(launch.subject, every, now)


def check_stage_claims(launch: LaunchRecord) -> list[Violation]:
    """An attestation of a stage's result comes after that stage has run its minimum duration: a claim about a
    result cannot predate the result."""
    stages = {s.name: s for s in launch.stages}
    found = []
    for claim in launch.stage_claims:
        if claim.attested_at is None:
            continue
        stage = stages.get(claim.stage)
        if stage is None or stage.entered_at is None:
            found.append(Violation(launch.subject, "stage_claim_before_stage_entered",
                                   f"“{claim.label}” attests the result of stage {claim.stage} "
                                   f"({_when(claim.attested_at)}), which has not begun"))
            continue
        ends = stage.entered_at + timedelta(minutes=launch.stage_minutes.get(stage.name, 0))
        if stage.completed_at is not None:
            ends = min(ends, stage.completed_at)
        if claim.attested_at < ends:
            found.append(Violation(launch.subject, "stage_claim_before_stage_end",
                                   f"“{claim.label}” attests the result of stage {claim.stage} "
                                   f"({_when(claim.attested_at)}) before that stage had run its minimum duration "
                                   f"(entered {_when(stage.entered_at)}, ends {_when(ends)})"))
    return found


def check_observations(launch: LaunchRecord) -> list[Violation]:
    """Every observation recorded for a stage was observed once that stage had begun."""
    stages = {s.name: s for s in launch.stages}
    found = []
    for name, first in sorted(launch.first_observations.items()):
        stage = stages.get(name)
        began = stage.entered_at if stage is not None else None
        if began is None:
            began = launch.rollout_started_at
        if began is not None and first < began:
            found.append(Violation(launch.subject, "observation_before_stage_entered",
                                   f"an observation for stage {name or '(none)'} ({_when(first)}) comes before "
                                   f"that stage began ({_when(began)})"))
    return found


def check_action_item(incident: IncidentRecord, item: ActionItemRecord, now: datetime) -> list[Violation]:
    subject = f"{incident.subject}, action item #{item.id} {item.title}"
    found = check_layers(subject, [
        [Moment("detected", "the incident's detection", incident.detected_at)],
        [Moment("item_created", "the action item's creation", item.created_at)],
        [Moment("completed", "its completion", item.completed_at)]])
    if item.done and item.completed_at is None:
        found.append(Violation(subject, "completed_without_time", "it is done but no completion time is recorded"))
    if not item.done and item.completed_at is not None:
        found.append(Violation(subject, "open_with_completion",
                               f"it is not done yet records a completion ({_when(item.completed_at)})"))
    if item.due_date < item.created_at.date():
        found.append(Violation(subject, "due_before_created",
                               f"its due date {item.due_date:%Y-%m-%d} is before it was created "
                               f"({_when(item.created_at)}), so it was overdue from birth"))
    return found + check_not_after(subject, [Moment("item_created", "the action item's creation", item.created_at),
                                             Moment("completed", "its completion", item.completed_at)], now)


def check_incident(incident: IncidentRecord, now: datetime) -> list[Violation]:
    """began ≤ detected ≤ mitigated ≤ resolved ≤ closed; the postmortem and action items follow detection."""
    layers = [[Moment("began", "the incident's start", incident.began_at)],
              [Moment("detected", "its detection", incident.detected_at)],
              [Moment("mitigated", "its mitigation", incident.mitigated_at)],
              [Moment("resolved", "its resolution", incident.resolved_at)],
              [Moment("closed", "its closing", incident.closed_at)]]
    found = check_layers(incident.subject, layers)
    every = [m for layer in layers for m in layer]
    every += [Moment("timeline", f"timeline entry ({kind.lower()})", at) for kind, at in incident.timeline]
    doc = incident.postmortem
    if doc is not None:
        pm_layers = [layers[1], [Moment("postmortem_started", "the postmortem's start", doc.created_at)],
                     [Moment("postmortem_submitted", "the postmortem's submission", doc.submitted_at)],
                     [Moment("postmortem_published", "the postmortem's publication", doc.published_at)]]
        found += check_layers(incident.subject, pm_layers)
        reviews = [Moment("review", f"review by {label}", at) for label, at in doc.reviews]
        found += check_layers(incident.subject, [pm_layers[1], reviews])
        every += [m for layer in pm_layers[1:] for m in layer] + reviews
    found += check_not_after(incident.subject, every, now)
    for item in incident.action_items:
        found += check_action_item(incident, item, now)
    return found


def check_policy_change(change: PolicyChangeRecord, now: datetime) -> list[Violation]:
    subject = f"policy change #{change.id} {change.summary}"
    moments = [[Moment("proposed", "its proposal", change.proposed_at)],
               [Moment("decided", "its decision", change.decided_at)]]
    return check_layers(subject, moments) + check_not_after(subject, [m for layer in moments for m in layer], now)


def check_finding(validation: ValidationRecord, finding: FindingRecord, now: datetime) -> list[Violation]:
    """validation started ≤ finding recorded ≤ validation signed; recorded ≤ remediated ≤ closed by re-test."""
    subject = f"{validation.subject}, finding #{finding.id} {finding.title}"
    created = [Moment("finding_created", "the finding's recording", finding.created_at)]
    found = check_layers(subject, [[Moment("validation_started", "the validation's opening", validation.started_at)],
                                   created, [Moment("validation_signed", "the validation's signing",
                                                    validation.completed_at)]])
    found += check_layers(subject, [created, [Moment("remediated", "its remediation", finding.remediated_at)],
                                    [Moment("closed", "its closing after re-test", finding.closed_at)]])
    if finding.closed and finding.closed_at is None:
        found.append(Violation(subject, "closed_without_time", "it is closed but no closing time is recorded"))
    if not finding.closed and finding.closed_at is not None:
        found.append(Violation(subject, "open_with_closing",
                               f"it is open yet records a closing ({_when(finding.closed_at)})"))
    if finding.due_date < finding.created_at.date():
        found.append(Violation(subject, "due_before_created",
                               f"its due date {finding.due_date:%Y-%m-%d} is before it was recorded "
                               f"({_when(finding.created_at)})"))
    return found + check_not_after(subject, [*created, Moment("remediated", "its remediation", finding.remediated_at),
                                             Moment("closed", "its closing", finding.closed_at)], now)


def check_validation(validation: ValidationRecord, now: datetime) -> list[Violation]:
    """model registered ≤ validation opened ≤ signed ≤ current-until; a signed validation has its time; the
    revalidation needs it cleared were opened before it cleared them."""
    subject = validation.subject
    signed = Moment("validation_signed", "its signing", validation.completed_at)
    found = check_layers(subject, [[Moment("model_created", "the model's registration", validation.model_created_at)],
                                   [Moment("validation_started", "its opening", validation.started_at)], [signed]])
    if validation.completed and validation.completed_at is None:
        found.append(Violation(subject, "signed_without_time", "it is signed but no signing time is recorded"))
    if not validation.completed and validation.completed_at is not None:
        found.append(Violation(subject, "open_with_signing",
                               f"it is in progress yet records a signing ({_when(validation.completed_at)})"))
    if validation.completed_at is not None and validation.valid_until is not None \
            and validation.valid_until < validation.completed_at.date():
        found.append(Violation(subject, "current_until_before_signed",
                               f"it is current until {validation.valid_until:%Y-%m-%d}, before it was signed "
                               f"({_when(validation.completed_at)})"))
    for need in validation.resolved_needs:
        found += check_layers(f"{subject}, revalidation need #{need.id} {need.label}", [
            [Moment("need_opened", "the need's opening", need.opened_at)],
            [Moment("need_resolved", "its clearing", need.resolved_at)]])
    found += check_not_after(subject, [Moment("validation_started", "its opening", validation.started_at), signed],
                             now)
    for finding in validation.findings:
        found += check_finding(validation, finding, now)
    return found


def check_dismissed_need(need: NeedRecord, now: datetime) -> list[Violation]:
    """A revalidation need dismissed by hand was opened before it was dismissed, and neither lies ahead."""
    subject = f"revalidation need #{need.id} {need.label}"
    dismissed = Moment("need_dismissed", "its dismissal", need.resolved_at)
    return (check_layers(subject, [[Moment("need_opened", "its opening", need.opened_at)], [dismissed]])
            + check_not_after(subject, [Moment("need_opened", "its opening", need.opened_at), dismissed], now))


def check_all(*, launches=(), incidents=(), policy_changes=(), validations=(), dismissed_needs=(),
              now: datetime) -> list[Violation]:
    found = []
    for need in dismissed_needs:
        found += check_dismissed_need(need, now)
    for validation in validations:
        found += check_validation(validation, now)
    for launch in launches:
        found += check_launch(launch, now)
    for incident in incidents:
        found += check_incident(incident, now)
    for change in policy_changes:
        found += check_policy_change(change, now)
    return found
