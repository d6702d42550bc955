"""Board-ready PDF reports: what each kind contains, how a request is made and deduplicated, how a file is made.

Three kinds. The launch dossier shows everything the signers vouched for and what each of them signed. The
incident report for the board risk committee opens with a one-page executive summary and ends with the residual
risk stated honestly. The governance pack covers a period. Gathering reads the database into plain data; the
sha256 of its canonical JSON is the report's content hash, printed in the document and used to answer an
identical request for unchanged content with the existing file.

Reports follow incident visibility: gathering reads incidents only through ``visible_incidents`` of the person
who asked, and a report is shown only to those who may see every restricted incident in it.
"""

import re
import statistics
from collections import Counter
from datetime import date, datetime, time, timedelta

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q
from django.utils import timezone

from postmortems import selectors as incident_selectors
from postmortems.charts import duration_trend_svg
from postmortems.models import ActionItem, FactorCategory, Incident, TimelineEvent
from readiness import selectors as launch_selectors
from readiness.charts import group_intervals_chart, sparkline
from readiness.models import ChecklistItem, LaunchRequest, LaunchStatus, Observation, SignOff
from readiness.services import approval_gaps, blocking_item_ok

from . import audit, pdf
from .canonical import canonical_json, content_hash, sha256_hex
from .charts import PALETTE, figure, to_svg
from .errors import NotFound, ValidationFailed
from .models import AuditEvent, PolicyChange
from .permissions import can, incident_visible_to, require
from .policy_defaults import CATEGORIES
from .principals import SystemActor, TokenPrincipal, actor_label, actor_user
from .report_models import LIVE_STATUSES, Report, ReportKind, ReportStatus
from .roles import Role
from .templatetags.gatehouse import duration

K = ReportKind
TEMPLATES = {K.LAUNCH_DOSSIER: "pdf/launch_dossier.html", K.INCIDENT_REPORT: "pdf/incident_report.html",
             K.GOVERNANCE_PACK: "pdf/governance_pack.html"}
RESTRICTED_CLASSIFICATION = "Confidential — prepared at the direction of counsel"
PACK_RESTRICTED_CLASSIFICATION = "Confidential — includes matters under legal privilege"
INTERNAL_CLASSIFICATION = "Internal — for governance and board committees"
IN_FLIGHT = (LaunchStatus.IN_REVIEW, LaunchStatus.APPROVED, LaunchStatus.ROLLING_OUT)
MAX_PERIOD_DAYS = 400
SPARK_POINTS = 300
AUDIT_EXCERPT = 40
STALE_AFTER = timedelta(minutes=30)


# -- periods (pure) ----------------------------------------------------------------------------------------

_PERIOD = re.compile(r"^(\d{4})-(?:Q([1-4])|W(\d{1,2})|(\d{2}))$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
PERIOD_HELP = "Give a period as 2026-Q3, 2026-W40, 2026-07 or 2026-07-01..2026-09-30."


def _month_end(year: int, month: int) -> date:
    return (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)


def parse_period(text, *, field: str = "period") -> tuple[date, date]:
    """A quarter, ISO week, month or explicit range as (first day, last day), both inclusive."""
    text = str(text or "").strip().upper()
    try:
        if match := _RANGE.match(text):
            return date.fromisoformat(match[1]), date.fromisoformat(match[2])
        if match := _PERIOD.match(text):
            year = int(match[1])
            if match[2]:
                first_month = 3 * (int(match[2]) - 1) + 1
                return date(year, first_month, 1), _month_end(year, first_month + 2)
            if match[3]:
                start = date.fromisocalendar(year, int(match[3]), 1)
                return start, start + timedelta(days=6)
            return date(year, int(match[4]), 1), _month_end(year, int(match[4]))
    except ValueError:
        raise ValidationFailed(f"{text!r} is not a real period. {PERIOD_HELP}", field=field) from None
    raise ValidationFailed(PERIOD_HELP, field=field)


def period_label(start: date, end: date) -> str:
    if start.day == 1 and start.month % 3 == 1 and end == _month_end(start.year, start.month + 2):
        return f"{start.year} Q{start.month // 3 + 1}"
    if start.isoweekday() == 1 and end == start + timedelta(days=6):
        year, week, _ = start.isocalendar()
        return f"{year} week {week}"
    if start.day == 1 and end == _month_end(start.year, start.month):
        return start.strftime("%B %Y")
    return f"{start:%-d %b %Y} – {end:%-d %b %Y}"


def _day(value, field: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise ValidationFailed("Give a date as YYYY-MM-DD.", field=field) from None


def pack_params(params) -> dict:
    """Normalise a governance pack's parameters to {start, end, label}; names the field at fault."""
    if params in (None, ""):
        params = {}
    if not isinstance(params, dict):
        raise ValidationFailed("Give parameters as an object.", field="params")
    unknown = sorted(set(params) - {"period", "start", "end"})
    if unknown:
        raise ValidationFailed(f"Unknown parameter {unknown[0]!r}; use period, or start and end.",
                               field=f"params.{unknown[0]}")
    if params.get("period"):
        start, end = parse_period(params["period"], field="params.period")
    elif params.get("start") or params.get("end"):
        start, end = _day(params.get("start"), "params.start"), _day(params.get("end"), "params.end")
    else:
        raise ValidationFailed(f"A governance pack needs a period. {PERIOD_HELP}", field="params.period")
    if end < start:
        raise ValidationFailed("The period ends before it starts.", field="params.end")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise ValidationFailed(f"A pack covers at most {MAX_PERIOD_DAYS} days.", field="params.end")
    if start > timezone.localdate():
        raise ValidationFailed("The period has not started yet.", field="params.start")
    return {"start": start.isoformat(), "end": end.isoformat(), "label": period_label(start, end)}


# -- who sees what -------------------------------------------------------------------------------------------

def report_visible_to(actor, report: Report) -> bool:
    """``report.view`` (which checks a restricted subject incident), and every restricted incident a pack lists."""
    if not can(actor, "report.view", report):
        return False
    ids = report.restricted_incident_ids or []
    if not ids:
        return True
    return all(incident_visible_to(actor, i) for i in Incident.objects.filter(pk__in=ids))


def visible_reports(actor, *, limit: int = 200) -> list[Report]:
    """The reports ``actor`` may see, newest first, in a fixed number of queries."""
    if not can(actor, "report.view"):
        return []
    visible = incident_selectors.visible_incidents(actor)
    rows = list(Report.objects.select_related("launch__version", "requested_by")
                .prefetch_related(Prefetch("incident", queryset=Incident.objects.prefetch_related("members")))
                .filter(Q(incident__isnull=True) | Q(incident__in=visible)).order_by("-created_at", "-pk")[:limit])
    for report in rows:
        if report.incident is not None:
            report.incident._member_ids = {m.pk for m in report.incident.members.all()}
    seen = set(visible.filter(restricted=True).values_list("pk", flat=True)) if any(
        r.restricted_incident_ids for r in rows) else set()
    return [r for r in rows if set(r.restricted_incident_ids or ()) <= seen and can(actor, "report.view", r)]


def _viewer(report: Report):
    """Whose eyes a report is gathered with: the person or token that asked, or Gatehouse itself."""
    if report.requested_by_id:
        return report.requested_by
    if report.requested_by_token_id:
        token = report.requested_by_token
        return TokenPrincipal(token=token, scopes=frozenset(token.scopes))
    if report.requested_by_label.startswith("system:"):
        return SystemActor(report.requested_by_label.removeprefix("system:"))
    raise NotFound("The person or token that asked for this report no longer exists.", field="requested_by")


# -- gathering: the database into plain data -----------------------------------------------------------------

def _name(user) -> str:
    return user.display_name if user is not None else ""


def _series(launch_id, guardrails) -> dict[str, list]:
    """The newest observations of each guardrail's metric, oldest first."""
    metrics = {g.metric for g in guardrails}
    series = {}
    if not metrics:
        return series
    rows = (Observation.objects.filter(launch_id=launch_id, metric__in=metrics, segment="")
            .order_by("-observed_at").values_list("metric", "observed_at", "value")[:SPARK_POINTS * len(metrics)])
    for metric, at, value in rows:
        points = series.setdefault(metric, [])
        if len(points) < SPARK_POINTS:
            points.append([at, value])
    return {metric: points[::-1] for metric, points in series.items()}


def _guardrails(launch_id, guardrails) -> list[dict]:
    series = _series(launch_id, guardrails)
    return [{"metric": g.metric, "comparator": g.comparator, "threshold": g.threshold,
             "window_minutes": g.window_minutes, "failure_limit": g.failure_limit,
             "sustain_minutes": g.sustain_minutes, "action": g.action, "stage": g.stage.name if g.stage_id else "",
             # not evaluated_at: the periodic task touches it every minute, which is no change of content
             "state": g.state, "detail": (g.state_detail or {}).get("detail", ""),
             "points": series.get(g.metric, [])} for g in guardrails]


def _launch_audit(launch) -> list[dict]:
    from readiness.views import _audit_trail

    events = [e for e in _audit_trail(launch, limit=AUDIT_EXCERPT * 2)
              if not e.object_type.startswith("postmortems.") and e.object_type != "governance.report"]
    return [{"seq": e.seq, "at": e.created_at, "actor": e.actor_label, "verb": e.verb, "object": e.object_repr,
             "hash": e.hash} for e in events[:AUDIT_EXCERPT]]


def gather_launch_dossier(launch_pk: int) -> dict:
    launch = launch_selectors.launch_detail(launch_pk)
    now = timezone.now()
    version, model = launch.version, launch.version.model
    items, signoffs = list(launch.items.all()), list(launch.signoffs.all())
    gaps = approval_gaps(launch, signoffs=signoffs, items=items, now=now)
    evaluation = launch.latest_evaluations[0] if launch.latest_evaluations else None
    history = list(launch.evaluations.order_by("-created_at", "-pk").values(
        "pk", "created_at", "kind", "submitted_by", "source_rows"))
    plan = getattr(launch, "plan", None)
    checklist = {}
    for item in items:
        checklist.setdefault(CATEGORIES.get(item.category, item.category.title()), []).append({
            "key": item.key, "title": item.title, "blocking": item.blocking, "kind": item.kind, "rule": item.rule,
            "source": item.source, "status": item.status, "ok": blocking_item_ok(item, now),
            "evidence_url": item.evidence_url, "evidence_text": item.evidence_text,
            "attested_by": _name(item.attested_by), "attested_at": item.attested_at,
            "detail": (item.result or {}).get("detail", "") if item.kind == "AUTOMATIC" else "",
            "waivers": [{"granted_by": _name(w.granted_by), "role": Role(w.role).label, "reason": w.reason,
                         "expires_at": w.expires_at, "revoked_at": w.revoked_at, "valid": w.is_valid(now)}
                        for w in item.waivers.all()],
        })
    report = (evaluation.report or {}) if evaluation else {}
    return {
        "kind": K.LAUNCH_DOSSIER,
        "launch": {"id": launch.pk, "title": launch.title, "status": launch.status,
                   "status_label": launch.get_status_display(), "summary": launch.summary,
                   "author": _name(launch.author), "created_at": launch.created_at,
                   "submitted_at": launch.submitted_at, "approved_at": launch.approved_at,
                   "rollout_started_at": launch.rollout_started_at, "launched_at": launch.launched_at,
                   "rolled_back_at": launch.rolled_back_at, "rollback_reason": launch.rollback_reason,
                   "content_hash": launch.content_hash},
        "model": {"slug": model.slug, "name": model.name, "owner": _name(model.owner),
                  "business_use": model.business_use, "tier": model.risk_tier,
                  "tier_label": model.get_risk_tier_display(), "regulatory_scope": model.regulatory_scope,
                  "protected_attributes": list(model.protected_attributes or [])},
        "version": {"version": version.version, "artifact_sha256": version.artifact_sha256,
                    "git_commit": version.git_commit, "training_data_ref": version.training_data_ref,
                    "features": [{"name": f.name, "source": f.get_source_display(), "vendor": f.vendor,
                                  "critical": f.is_critical, "proxy_risk": f.get_proxy_risk_status_display(),
                                  "missing_controls": f.missing_controls} for f in version.features.all()]},
        "policy": {"tier": launch.policy_version.policy.tier, "number": launch.policy_version.number,
                   "content_hash": launch.policy_version.content_hash,
                   "required_roles": [Role(r).label for r in launch.required_roles]},
        "memo": {"options_considered": launch.options_considered, "expected_value": launch.expected_value,
                 "risks": launch.risks, "decision": launch.get_decision_display() if launch.decision else "",
                 "rationale": launch.rationale},
        "checklist": [{"category": name, "items": rows} for name, rows in checklist.items()],
        "gaps": {"missing_roles": [Role(r).label for r in gaps["missing_roles"]],
                 "stale_roles": [Role(r).label for r in gaps["stale_roles"]],
                 "rejected_by": [_name(s.signer) for s in gaps["rejected_by"]],
                 "failing_items": [i.title for i in gaps["failing_items"]]},
        "evaluation": None if evaluation is None else {
            "id": evaluation.pk, "kind": evaluation.get_kind_display(), "submitted_by": evaluation.submitted_by,
            "created_at": evaluation.created_at, "source_rows": evaluation.source_rows,
            "source_sha256": evaluation.source_sha256, "metrics": evaluation.metrics,
            "fairness": report.get("fairness"), "drift": report.get("drift")},
        "evaluations": [{"id": e["pk"], "created_at": e["created_at"], "kind": e["kind"],
                         "submitted_by": e["submitted_by"], "source_rows": e["source_rows"]} for e in history],
        "signoffs": [{"role": Role(s.role).label, "signer": _name(s.signer), "decision": s.get_decision_display(),
                      "approves": s.approves, "conditions": s.conditions, "dissent": s.dissent, "comment": s.comment,
                      "signed_at": s.signed_at, "content_hash": s.content_hash,
                      "current": not s.stale and s.content_hash == launch.content_hash} for s in signoffs],
        "rollout": None if plan is None else {
            "paused": plan.paused, "paused_reason": plan.paused_reason,
            "current_stage": plan.current_stage.name if plan.current_stage_id else "",
            "stages": [{"name": s.name, "traffic_percent": s.traffic_percent,
                        "min_duration_minutes": s.min_duration_minutes,
                        "approval_role": Role(s.approval_role).label if s.approval_role else "",
                        "approved_by": _name(s.approved_by), "entered_at": s.entered_at,
                        "completed_at": s.completed_at} for s in plan.stages.all()],
            "guardrails": _guardrails(launch.pk, list(plan.guardrails.all())),
        },
        "audit": _launch_audit(launch),
    }


def _action_item(item: ActionItem, today: date) -> dict:
    change = item.policy_change
    version = getattr(change, "resulting_version", None) if change else None
    return {"title": item.title, "kind": item.kind, "kind_label": item.get_kind_display(),
            "owner": _name(item.owner), "due_date": item.due_date, "priority": item.priority,
            "status": item.status, "status_label": item.get_status_display(),
            "open": item.is_open, "overdue": item.is_open and item.due_date < today,
            "completed_at": item.completed_at,
            "policy_change": None if change is None else {
                "summary": change.summary, "tier": change.policy.tier, "status": change.status,
                "status_label": change.get_status_display(), "version": version.number if version else None}}


def gather_incident_report(viewer, incident_pk: int) -> dict:
    try:
        incident = incident_selectors.incident_detail(viewer, incident_pk)
    except Incident.DoesNotExist:
        raise NotFound(f"No visible incident #{incident_pk}.", field="subject") from None
    today = timezone.localdate()
    postmortem = getattr(incident, "postmortem", None)
    launch = incident.launch
    monitoring = None
    if launch is not None:
        plan = getattr(launch, "plan", None)
        guardrails = list(plan.guardrails.select_related("stage").order_by("pk")) if plan else []
        monitoring = {"launch": launch.pk, "title": launch.title, "status": launch.get_status_display(),
                      "model": launch.version.model.name, "version": launch.version.version,
                      "guardrails": _guardrails(launch.pk, guardrails)}
    earlier = incident.recurrence_of
    return {
        "kind": K.INCIDENT_REPORT,
        "today": today,
        "incident": {
            "id": incident.pk, "title": incident.title, "severity": incident.severity,
            "severity_label": incident.get_severity_display(), "status": incident.status,
            "status_label": incident.get_status_display(), "restricted": incident.restricted,
            "began_at": incident.began_at, "detected_at": incident.detected_at,
            "mitigated_at": incident.mitigated_at, "resolved_at": incident.resolved_at,
            "closed_at": incident.closed_at, "time_to_detect": incident.time_to_detect,
            "time_to_mitigate": incident.time_to_mitigate, "time_to_resolve": incident.time_to_resolve,
            "detection_source": incident.get_detection_source_display(), "summary": incident.summary,
            "impact_text": incident.impact_text, "impact_figures": incident.impact_figures or {},
            "fair_lending": incident.fair_lending, "consumer_harm": incident.consumer_harm,
            "models": sorted(m.name for m in incident.models.all()),
            "recurrence_of": {"id": earlier.pk, "title": earlier.title}
            if earlier is not None and incident_visible_to(viewer, earlier) else None,
        },
        "timeline": [{"at": e.at, "kind": e.kind, "kind_label": e.get_kind_display(), "text": e.text,
                      "author": e.author_label} for e in incident.timeline.all()],
        "factors": [{"category": f.category, "category_label": f.get_category_display(),
                     "description": f.description} for f in incident.factors.all()],
        "action_items": [_action_item(i, today) for i in incident.action_items.all()],
        "postmortem": None if postmortem is None else {
            "status": postmortem.status, "status_label": postmortem.get_status_display(),
            "published_at": postmortem.published_at,
            "sections": [{"label": label, "text": text} for name, label, text in postmortem.sections
                         if text and name in ("root_cause", "lessons", "where_we_got_lucky")]
            if postmortem.status == "PUBLISHED" else []},
        "monitoring": monitoring,
        "restricted_incident_ids": [incident.pk] if incident.restricted else [],
    }


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    zone = timezone.get_current_timezone()
    return (datetime.combine(start, time.min, tzinfo=zone),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone))


def _latency_by_role(since, until) -> list[dict]:
    latencies = {}
    for role, signed_at, submitted_at in (SignOff.objects.filter(signed_at__gte=since, signed_at__lt=until,
                                                                 launch__submitted_at__isnull=False)
                                          .values_list("role", "signed_at", "launch__submitted_at")):
        if signed_at >= submitted_at:  # a signature before the latest submission belongs to an earlier round
            latencies.setdefault(role, []).append(signed_at - submitted_at)
    return [{"role": Role(role).label, "count": len(values), "median": statistics.median(values),
             "max": max(values)} for role, values in sorted(latencies.items())]


def _in_flight(until) -> list[dict]:
    now = timezone.now()
    launches = (LaunchRequest.objects.filter(status__in=IN_FLIGHT, created_at__lt=until)
                .select_related("version__model", "author", "plan__current_stage")
                .prefetch_related("signoffs", Prefetch("items", queryset=ChecklistItem.objects.filter(
                    blocking=True).prefetch_related("waivers")), "plan__guardrails")
                .order_by("created_at", "pk"))
    rows = []
    for launch in launches:
        gaps = approval_gaps(launch, signoffs=list(launch.signoffs.all()), items=list(launch.items.all()), now=now)
        blockers = [f"awaiting {Role(r).label} sign-off" for r in gaps["missing_roles"]]
        blockers += [f"rejected by {_name(s.signer)}" for s in gaps["rejected_by"]]
        failing = [i.title for i in gaps["failing_items"]]
        blockers += [f"failing: {t}" for t in failing[:3]]
        if len(failing) > 3:
            blockers.append(f"and {len(failing) - 3} more failing items")
        plan = getattr(launch, "plan", None)
        stage = ""
        if launch.status == LaunchStatus.ROLLING_OUT and plan is not None:
            blockers = [f"guardrail breached: {g}" for g in plan.guardrails.all() if g.state == "BREACHED"]
            if plan.paused:
                blockers.insert(0, f"paused: {plan.paused_reason}")
            stage = plan.current_stage.name if plan.current_stage_id else ""
        rows.append({"id": launch.pk, "title": launch.title, "model": launch.version.model.name,
                     "version": launch.version.version, "tier": launch.version.model.risk_tier,
                     "status": launch.get_status_display(), "stage": stage, "submitted_at": launch.submitted_at,
                     "blockers": blockers})
    return rows


def gather_governance_pack(viewer, params: dict) -> dict:
    start, end = date.fromisoformat(params["start"]), date.fromisoformat(params["end"])
    since, until = _bounds(start, end)
    today = timezone.localdate()
    visible = incident_selectors.visible_incidents(viewer)
    restricted = set()

    breaches = list(AuditEvent.objects.filter(verb="guardrail.state_changed", created_at__gte=since,
                                              created_at__lt=until, after__state="BREACHED").order_by("seq"))
    rollbacks = list(LaunchRequest.objects.filter(rolled_back_at__gte=since, rolled_back_at__lt=until)
                     .select_related("version__model").order_by("rolled_back_at"))
    titles = dict(LaunchRequest.objects.filter(pk__in={(e.after or {}).get("launch") for e in breaches})
                  .values_list("pk", "title"))
    rollback_incidents = {}
    for pk, launch_id, is_restricted in visible.filter(launch__in=rollbacks).values_list("pk", "launch_id",
                                                                                       "restricted"):
        rollback_incidents.setdefault(launch_id, []).append(pk)
        if is_restricted:
            restricted.add(pk)

    window_start = since - timedelta(days=365) + (until - since)
    trend = list(visible.filter(detected_at__gte=window_start, detected_at__lt=until).order_by("detected_at", "pk")
                 .only("pk", "title", "severity", "status", "restricted", "began_at", "detected_at",
                       "mitigated_at", "resolved_at"))
    period_incidents = [i for i in trend if i.detected_at >= since]
    previous = [i for i in trend if since - (until - since) <= i.detected_at < since]
    restricted.update(i.pk for i in trend if i.restricted)
    open_counts = Counter(ActionItem.objects.filter(incident__in=[i.pk for i in period_incidents],
                                                    status__in=ActionItem.OPEN_STATUSES)
                          .values_list("incident_id", flat=True))

    overdue = list(ActionItem.objects.filter(status__in=ActionItem.OPEN_STATUSES, due_date__lt=today,
                                             incident__in=visible)
                   .select_related("owner", "incident").order_by("due_date", "pk"))
    restricted.update(i.incident_id for i in overdue if i.incident.restricted)
    changes = list(PolicyChange.objects.filter(Q(proposed_at__gte=since, proposed_at__lt=until)
                                               | Q(decided_at__gte=since, decided_at__lt=until))
                   .select_related("policy", "proposed_by", "decided_by", "resulting_version")
                   .order_by("proposed_at", "pk"))

    def medians(incidents):
        ttd = [i.time_to_detect for i in incidents if i.time_to_detect is not None]
        ttr = [i.time_to_resolve for i in incidents if i.time_to_resolve is not None]
        return {"ttd": statistics.median(ttd) if ttd else None, "ttr": statistics.median(ttr) if ttr else None}

    return {
        "kind": K.GOVERNANCE_PACK, "today": today,
        "period": {"start": start, "end": end, "label": params["label"]},
        "in_flight": _in_flight(until),
        "approved": LaunchRequest.objects.filter(approved_at__gte=since, approved_at__lt=until).count(),
        "launched": LaunchRequest.objects.filter(launched_at__gte=since, launched_at__lt=until).count(),
        "latency": _latency_by_role(since, until),
        "breaches": [{"at": e.created_at, "launch": (e.after or {}).get("launch"),
                      "launch_title": titles.get((e.after or {}).get("launch"), ""), "guardrail": e.object_repr,
                      "detail": (e.after or {}).get("detail", "")} for e in breaches],
        "rollbacks": [{"id": lr.pk, "title": lr.title, "model": lr.version.model.name,
                       "version": lr.version.version, "at": lr.rolled_back_at, "by": lr.rolled_back_by,
                       "reason": lr.rollback_reason, "incidents": sorted(rollback_incidents.get(lr.pk, []))}
                      for lr in rollbacks],
        "incidents": [{"id": i.pk, "title": i.title, "severity": i.severity, "status": i.get_status_display(),
                       "restricted": i.restricted, "detected_at": i.detected_at, "time_to_detect": i.time_to_detect,
                       "time_to_resolve": i.time_to_resolve, "open_items": open_counts.get(i.pk, 0)}
                      for i in period_incidents],
        "medians": {"period": medians(period_incidents), "previous": medians(previous)},
        "trend": [{"detected_at": i.detected_at, "time_to_detect": i.time_to_detect,
                   "time_to_resolve": i.time_to_resolve} for i in trend],
        "overdue": [{"title": a.title, "incident": a.incident_id, "owner": _name(a.owner), "due_date": a.due_date,
                     "days": (today - a.due_date).days, "priority": a.priority, "kind": a.get_kind_display()}
                    for a in overdue],
        "policy_changes": [{"tier": c.policy.tier, "summary": c.summary, "status": c.status,
                            "status_label": c.get_status_display(), "rationale": c.rationale,
                            "proposed_by": _name(c.proposed_by), "proposed_at": c.proposed_at,
                            "decided_by": _name(c.decided_by), "decided_at": c.decided_at,
                            "version": getattr(getattr(c, "resulting_version", None), "number", None)}
                           for c in changes],
        "restricted_incident_ids": sorted(restricted),
    }


def gather(kind: str, *, viewer, launch_id=None, incident_id=None, params=None) -> dict:
    if kind == K.LAUNCH_DOSSIER:
        return gather_launch_dossier(launch_id)
    if kind == K.INCIDENT_REPORT:
        return gather_incident_report(viewer, incident_id)
    return gather_governance_pack(viewer, params)


def report_title(data: dict) -> str:
    if data["kind"] == K.LAUNCH_DOSSIER:
        return f"Launch dossier — {data['model']['name']} {data['version']['version']}"[:300]
    if data["kind"] == K.INCIDENT_REPORT:
        return f"Incident report #{data['incident']['id']} — {data['incident']['title']}"[:300]
    return f"Governance pack — {data['period']['label']}"


def classification(data: dict) -> str:
    if data["kind"] == K.INCIDENT_REPORT and data["incident"]["restricted"]:
        return RESTRICTED_CLASSIFICATION
    if data.get("restricted_incident_ids"):
        return PACK_RESTRICTED_CLASSIFICATION
    return INTERNAL_CLASSIFICATION


# -- presentation: wording and charts derived from the gathered data (pure) -------------------------------------

def _clip(text: str, limit: int) -> str:
    """The first paragraph of ``text``, cut at a word boundary so the executive summary stays on one page."""
    text = " ".join((text or "").strip().split("\n\n")[0].split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


FACTOR_RESIDUAL = {
    FactorCategory.DATA_VENDOR_CHANGE: "A data supplier can still change how a field is populated without telling "
    "us. Schema-stability agreements and drift monitors shorten the time until we notice; they do not stop the "
    "change from happening.",
    FactorCategory.MONITORING_GAP: "Monitoring covers what we chose to measure. A harm that shows only in a metric "
    "we do not track would again be found by people rather than by alerts.",
    FactorCategory.PROCESS: "Process controls depend on being followed under time pressure. The checklist and the "
    "sign-off gate make a skipped step visible; they do not make it impossible.",
    FactorCategory.MODEL: "A model can fail in ways offline validation did not exercise. Staged rollout and "
    "guardrails limit how many decisions are affected before a rollback, not whether a failure occurs.",
    FactorCategory.INFRASTRUCTURE: "Infrastructure faults remain possible; the rollback path limits how long one "
    "lasts, not whether it happens.",
    FactorCategory.ORGANISATIONAL_PRESSURE: "Pressure to ship on a commercial timetable will recur. Multi-party "
    "sign-off and recorded dissent keep the decision and its dissent visible; they do not remove the pressure.",
}
RESIDUAL_CLOSING = ("Taken together, these measures reduce the likelihood of a similar incident and shorten the time "
                    "to detect and contain one. They do not eliminate the risk, and this report does not claim "
                    "that they do.")


def residual_risk(data: dict) -> list[str]:
    """Honest residual risk from the open action items and the contributing-factor categories."""
    items = data["action_items"]
    lines = []
    open_prevent = [i for i in items if i["open"] and i["kind"] == "PREVENT"]
    open_detect = [i for i in items if i["open"] and i["kind"] == "DETECT"]
    overdue = [i for i in items if i["overdue"]]
    pending = [i for i in items if i["policy_change"] and i["policy_change"]["status"] == "PENDING"]
    if open_prevent:
        lines.append(f"{_count(len(open_prevent), 'preventive action')} not yet complete; until "
                     f"{'it is' if len(open_prevent) == 1 else 'they are'}, the conditions that allowed this "
                     "incident are still partly in place.")
    if open_detect:
        ttd = data["incident"]["time_to_detect"]
        lines.append(f"{_count(len(open_detect), 'detection improvement')} outstanding; a recurrence today would "
                     f"be found no faster than this one{f' ({duration(ttd)})' if ttd else ''}.")
    if overdue:
        lines.append(f"{_count(len(overdue), 'action item')} past {'its' if len(overdue) == 1 else 'their'} "
                     "due date.")
    if pending:
        lines.append(f"{_count(len(pending), 'policy change')} not yet approved; "
                     f"{'it does' if len(pending) == 1 else 'they do'} not yet apply to launches.")
    for category in dict.fromkeys(f["category"] for f in data["factors"]):
        if category in FACTOR_RESIDUAL:
            lines.append(FACTOR_RESIDUAL[category])
    lines.append(RESIDUAL_CLOSING)
    return lines


def executive_summary(data: dict) -> dict:
    """The one-page summary: what happened, impact, status, what we changed, and what we ask of the committee."""
    incident, items = data["incident"], data["action_items"]
    facts = [incident["severity_label"], f"detected {incident['detected_at']:%-d %b %Y} by "
             f"{incident['detection_source'].lower()}"]
    if incident["time_to_detect"] is not None:
        facts.append(f"{duration(incident['time_to_detect'])} after it began")
    figures = incident["impact_figures"]
    impact = []
    if figures.get("decisions_affected") is not None:
        impact.append(f"{figures['decisions_affected']:,} decisions affected")
    if figures.get("revenue_impact") is not None:
        impact.append(f"revenue impact {figures['revenue_impact']:+,.0f}")
    for shift in (figures.get("approval_rate_shift") or [])[:4]:
        impact.append(f"approval rate {shift['shift_pct']:+.1f} pp for {shift['segment']}")
    status = [f"{incident['status_label']}."]
    if incident["time_to_mitigate"] is not None:
        status.append(f"Contained {duration(incident['time_to_mitigate'])} after detection.")
    if incident["time_to_resolve"] is not None:
        status.append(f"Resolved {duration(incident['time_to_resolve'])} after detection.")
    open_items = [i for i in items if i["open"]]
    overdue_count = sum(1 for i in items if i["overdue"])
    status.append(f"{_count(len(open_items), 'action item')} open of {len(items)}"
                  + (f", {overdue_count} overdue." if open_items else "."))
    changed = []
    for item in items:
        change = item["policy_change"]
        if change and change["status"] == "APPROVED":
            label = change["tier"].replace("_", " ").title() + " policy"
            if change["version"]:
                label += f" v{change['version']}"
            changed.append(f"{label}: {_clip(change['summary'], 150)}.")
        elif item["status"] == "DONE":
            changed.append(f"{_clip(item['title'], 150)} (done).")
    asks = []
    overdue = sorted((i for i in items if i["overdue"]), key=lambda i: i["due_date"])
    if overdue:
        first = overdue[0]
        asks.append(f"Note {_count(len(overdue), 'overdue action item')}; the oldest, “{_clip(first['title'], 90)}”, "
                    f"was due {first['due_date']:%-d %b %Y} (owner {first['owner']}). Ask for revised dates.")
    pending = [i["policy_change"] for i in items if i["policy_change"] and i["policy_change"]["status"] == "PENDING"]
    if len(pending) == 1:
        change = pending[0]
        asks.append(f"Endorse the proposed change to the {change['tier'].replace('_', ' ').title()} policy: "
                    f"{_clip(change['summary'], 160)} (awaiting a second approval).")
    elif pending:
        named = "; ".join(_clip(c["summary"], 70) for c in pending[:2])
        asks.append(f"Endorse the {len(pending)} proposed policy changes awaiting a second approval ({named}"
                    f"{f'; and {len(pending) - 2} more' if len(pending) > 2 else ''}).")
    waiting = [i for i in open_items if not i["overdue"]]
    if waiting:
        last = max(i["due_date"] for i in waiting)
        what = "further open action item" if overdue else "open action item"
        asks.append(f"Note {_count(len(waiting), what)}, due by {last:%-d %b %Y}; progress will be reported at the "
                    "next meeting.")
    if not asks:
        asks.append("No decision is requested; the committee is asked to note this report.")
    return {
        "facts": " · ".join(facts),
        "what": _clip(incident["summary"], 650) or "No summary has been written yet.",
        "impact": _clip(incident["impact_text"], 420),
        "impact_figures": impact,
        "status": " ".join(status),
        "changed": changed[:5] + ([f"and {len(changed) - 5} more (see Mechanisms introduced)."] if len(changed) > 5 else []),
        "asks": asks,
    }


def timeline_chart(events: list[dict], *, marks: list[tuple[str, datetime | None]]) -> str:
    """Timeline entries by kind along the time axis, with the incident's began/detected/… moments marked."""
    if not events:
        return ""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    kinds = [k for k in TimelineEvent.Kind.values if any(e["kind"] == k for e in events)]
    fig, ax = figure(6.6, 1.0 + 0.3 * len(kinds))
    for row, kind in enumerate(kinds):
        times = [e["at"] for e in events if e["kind"] == kind]
        ax.plot(times, [row] * len(times), "o", color=PALETTE["ink"], markersize=3.5, alpha=0.7)
    styles = [":", "--", "-.", "-"]
    for (label, at), style in zip(marks, styles, strict=False):
        if at is not None:
            ax.axvline(at, color=PALETTE["muted"], linestyle=style, linewidth=0.9, label=label)
    ax.set_yticks(range(len(kinds)), [TimelineEvent.Kind(k).label for k in kinds])
    ax.set_ylim(len(kinds) - 0.4, -0.6)
    locator = AutoDateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.grid(axis="x", color=PALETTE["line"], linewidth=0.5)
    if any(at is not None for _, at in marks):
        # Below the axis: the moments are often minutes apart, where labels on the lines would collide.
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=4, frameon=False, fontsize=7.5)
    return to_svg(fig, title="Timeline entries by kind")


def latency_chart(rows: list[dict]) -> str:
    """Median (bar) and longest (tick) time from submission to signature, per role."""
    if not rows:
        return ""
    longest = max(r["max"].total_seconds() for r in rows)
    unit, seconds = next((u, s) for u, s, limit in (("minutes", 60, 2 * 3600), ("hours", 3600, 3 * 86400),
                                                     ("days", 86400, float("inf"))) if longest < limit)
    fig, ax = figure(6.4, 0.5 + 0.34 * len(rows))
    labels = [r["role"] for r in rows]
    ax.barh(labels, [r["median"].total_seconds() / seconds for r in rows], color=PALETTE["muted"], height=0.5)
    ax.plot([r["max"].total_seconds() / seconds for r in rows], labels, "|", color=PALETTE["ink"], markersize=12)
    ax.invert_yaxis()
    ax.ticklabel_format(axis="x", style="plain", useOffset=False)
    ax.set_xlabel(f"{unit} from submission to signature (bar: median, tick: longest)")
    ax.grid(axis="x", color=PALETTE["line"], linewidth=0.5)
    return to_svg(fig, title="Sign-off latency by role")


def _with_sparklines(guardrails: list[dict]) -> list[dict]:
    out = []
    for g in guardrails:
        spark = ""
        if g["points"] and g["comparator"] in ("<=", "<", ">=", ">"):
            spark = pdf.svg_image(sparkline(g["points"], threshold=g["threshold"], comparator=g["comparator"],
                                            title=f"{g['metric']} against {g['threshold']:g}"))
        out.append({**g, "spark": spark})
    return out


def present(data: dict, *, digest: str, generated_at: datetime, requested_by: str) -> dict:
    """Everything the PDF template needs besides the data: charts, derived wording, the frame's facts."""
    context = {"data": data, "content_hash": digest, "generated_at": generated_at, "requested_by": requested_by}
    kind = data["kind"]
    if kind == K.LAUNCH_DOSSIER:
        evaluation = data["evaluation"] or {}
        fairness = evaluation.get("fairness")
        charts = {}
        if fairness:
            charts["selection"] = pdf.svg_image(group_intervals_chart(fairness, metric="selection_rate"))
            if any(g.get("air") for g in fairness.get("groups", [])):
                charts["air"] = pdf.svg_image(group_intervals_chart(fairness, metric="air"))
        metrics = sorted((evaluation.get("metrics") or {}).items())
        context.update(charts=charts, metrics=metrics[:60], more_metrics=max(0, len(metrics) - 60),
                       guardrails=_with_sparklines(data["rollout"]["guardrails"]) if data["rollout"] else [])
    elif kind == K.INCIDENT_REPORT:
        incident = data["incident"]
        marks = [("began", incident["began_at"]), ("detected", incident["detected_at"]),
                 ("contained", incident["mitigated_at"]), ("resolved", incident["resolved_at"])]
        context.update(
            summary=executive_summary(data), residual=residual_risk(data),
            timeline_svg=pdf.svg_image(timeline_chart(data["timeline"], marks=marks)),
            guardrails=_with_sparklines(data["monitoring"]["guardrails"]) if data["monitoring"] else [],
            open_items=sum(1 for i in data["action_items"] if i["open"]),
            overdue_items=sum(1 for i in data["action_items"] if i["overdue"]))
    else:
        trend = data["trend"]
        context.update(
            trend_svg=pdf.svg_image(duration_trend_svg(
                [(t["detected_at"], t["time_to_detect"]) for t in trend if t["time_to_detect"] is not None],
                [(t["detected_at"], t["time_to_resolve"]) for t in trend if t["time_to_resolve"] is not None])),
            latency_svg=pdf.svg_image(latency_chart(data["latency"])))
    return {"template": TEMPLATES[kind], "context": context, "title": report_title(data),
            "classification": classification(data)}


def render(data: dict, *, generated_at=None, requested_by: str = "") -> tuple[pdf.Pdf, str]:
    """Data to PDF in one step (the management command and the benchmark use the pieces too)."""
    digest = content_hash(data)
    doc = present(data, digest=digest, generated_at=generated_at or timezone.now(), requested_by=requested_by)
    return pdf.render_pdf(doc["template"], doc["context"], title=doc["title"],
                          classification=doc["classification"]), digest


# -- services ----------------------------------------------------------------------------------------------

SYSTEM = SystemActor("reports")


def _subject(actor, kind: str, subject_id, params) -> tuple[LaunchRequest | None, Incident | None, dict]:
    """Check the subject and parameters of a request; every refusal names the field at fault."""
    if kind not in K.values:
        raise ValidationFailed(f"Unknown report kind {str(kind)[:40]!r}; use one of {', '.join(K.values)}.",
                               field="kind")
    if kind == K.GOVERNANCE_PACK:
        if subject_id not in (None, ""):
            raise ValidationFailed("A governance pack covers a period, not a subject; leave the subject empty.",
                                   field="subject")
        return None, None, pack_params(params)
    if params:
        raise ValidationFailed(f"A {K(kind).label.lower()} takes no parameters.", field="params")
    if subject_id in (None, ""):
        what = "launch" if kind == K.LAUNCH_DOSSIER else "incident"
        raise ValidationFailed(f"Give the number of the {what} the report is about.", field="subject")
    try:
        subject_id = int(subject_id)
    except (TypeError, ValueError):
        raise ValidationFailed("The subject is a launch or incident number.", field="subject") from None
    if kind == K.LAUNCH_DOSSIER:
        launch = LaunchRequest.objects.select_related("version").filter(pk=subject_id).first()
        if launch is None or not can(actor, "launch.view", launch):
            raise ValidationFailed(f"No launch #{subject_id} that you may see.", field="subject")
        return launch, None, {}
    incident = incident_selectors.visible_incidents(actor).filter(pk=subject_id).first()
    if incident is None:
        # The same answer whether it does not exist or is restricted: its existence must not leak.
        raise ValidationFailed(f"No incident #{subject_id} that you may see.", field="subject")
    return None, incident, {}


def _file_present(report: Report) -> bool:
    return bool(report.file) and report.file.storage.exists(report.file.name)


def _existing(key: str) -> Report | None:
    """The live report for an identical request, if any. A finished one whose file has vanished is marked failed
    so that a new one can be made."""
    report = Report.objects.filter(dedupe_key=key, status__in=LIVE_STATUSES).first()
    if report is not None and report.status == ReportStatus.DONE and not _file_present(report):
        with transaction.atomic():
            Report.objects.filter(pk=report.pk).update(status=ReportStatus.FAILED,
                                                       error="The file is missing from storage.")
            audit.record("report.file_missing", report, actor=SYSTEM, after={"file": report.file.name})
        return None
    return report


def request_report(*, actor, kind: str, subject_id=None, params=None, enqueue: bool = True) -> Report:
    """Ask for a report; generation runs in a Celery task after commit. An identical request (same kind, subject,
    parameters and unchanged content, as the asker sees it) returns the existing report instead of a new one."""
    require(actor, "report.request")
    launch, incident, params = _subject(actor, kind, subject_id, params)
    data = gather(kind, viewer=actor, launch_id=getattr(launch, "pk", None),
                  incident_id=getattr(incident, "pk", None), params=params)
    digest = content_hash(data)
    key = sha256_hex(canonical_json({"kind": kind, "launch": getattr(launch, "pk", None),
                                     "incident": getattr(incident, "pk", None), "params": params, "content": digest}))
    existing = _existing(key)
    if existing is not None:
        return existing
    report = Report(kind=kind, launch=launch, incident=incident, params=params, title=report_title(data),
                    requested_by=actor_user(actor),
                    requested_by_token=actor.token if isinstance(actor, TokenPrincipal) else None,
                    requested_by_label=actor_label(actor)[:200], content_hash=digest, dedupe_key=key,
                    restricted_incident_ids=data.get("restricted_incident_ids", []))
    try:
        with transaction.atomic():
            report.save()
            audit.record("report.requested", report, actor=actor, after={
                "kind": kind, "subject": getattr(launch or incident, "pk", None), "params": params,
                "content_hash": digest})
    except IntegrityError:
        # An identical request committed first: answer with its report.
        existing = _existing(key)
        if existing is None:
            raise
        return existing
    if enqueue:
        from .tasks import generate_report as task

        # robust: a broker outage must not fail the request; requeue_stale_reports picks the report up.
        transaction.on_commit(lambda: task.delay(report.pk), robust=True)
    return report


def generate_report(report_id: int) -> Report:
    """Render a queued report and store the file with its sha256, size and page count.

    Safe to run more than once: a finished or failed report is left alone, and a report left RUNNING by a worker
    that died is taken up again. The file is attached only while the report is still RUNNING, so of two
    concurrent deliveries only one result is kept."""
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(pk=report_id).first()
        if report is None:
            raise NotFound(f"No report #{report_id}.")
        if report.status in (ReportStatus.DONE, ReportStatus.FAILED):
            return report
        report.status, report.started_at, report.attempts = ReportStatus.RUNNING, timezone.now(), report.attempts + 1
        report.save(update_fields=["status", "started_at", "attempts"])
        audit.record("report.started", report, actor=SYSTEM, after={"attempt": report.attempts})
    data = gather(report.kind, viewer=_viewer(report), launch_id=report.launch_id, incident_id=report.incident_id,
                  params=report.params)
    result, digest = render(data, requested_by=report.requested_by_label)
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report_id)
        if report.status != ReportStatus.RUNNING:
            return report
        report.file.save(f"{report.kind.lower()}-{report.pk}.pdf", ContentFile(result.content), save=False)
        report.sha256, report.size, report.page_count = sha256_hex(result.content), len(result.content), \
            result.page_count
        report.content_hash, report.restricted_incident_ids = digest, data.get("restricted_incident_ids", [])
        report.status, report.error, report.finished_at = ReportStatus.DONE, "", timezone.now()
        report.save()
        audit.record("report.generated", report, actor=SYSTEM, after={
            "sha256": report.sha256, "size": report.size, "page_count": report.page_count,
            "content_hash": digest, "attempt": report.attempts})
    return report


def record_failure(report_id: int, *, error: str, final: bool) -> Report | None:
    """An attempt failed: back to QUEUED for the retry, or FAILED when no retry is left."""
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(pk=report_id).first()
        if report is None or report.status in (ReportStatus.DONE, ReportStatus.FAILED):
            return report
        report.status = ReportStatus.FAILED if final else ReportStatus.QUEUED
        report.error = error[:2000]
        report.finished_at = timezone.now() if final else None
        report.save(update_fields=["status", "error", "finished_at"])
        audit.record("report.failed" if final else "report.attempt_failed", report, actor=SYSTEM,
                     after={"error": report.error, "attempt": report.attempts})
    return report


def requeue_stale_reports(*, older_than: timedelta = STALE_AFTER, now=None) -> int:
    """Reports RUNNING (or QUEUED) for longer than ``older_than`` lost their worker or their message; queue them
    again. Run it periodically; a second delivery of a report already in progress is harmless."""
    from .tasks import generate_report as task

    cutoff = (now or timezone.now()) - older_than
    stale = Q(status__in=(ReportStatus.RUNNING, ReportStatus.QUEUED)) & (
        Q(started_at__lt=cutoff) | Q(started_at__isnull=True, created_at__lt=cutoff))
    count = 0
    for pk in Report.objects.filter(stale).values_list("pk", flat=True):
        with transaction.atomic():
            report = Report.objects.select_for_update().get(pk=pk)
            if not report.is_pending:
                continue
            was = report.status
            report.status, report.error = ReportStatus.QUEUED, "Generation stopped without finishing; queued again."
            report.save(update_fields=["status", "error"])
            audit.record("report.requeued", report, actor=SYSTEM, before={"status": was})
            transaction.on_commit(lambda pk=pk: task.delay(pk), robust=True)
        count += 1
    return count

