"""Gathering: the database read into plain data per report kind, as the requester may see it."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from governance.kernel import verdicts, visibility
from governance.kernel.errors import NotFound
from governance.kernel.permissions import can, incident_visible_to
from governance.kernel.principals import Actor, Requester, SystemActor, TokenPrincipal
from governance.kernel.roles import Role
from governance.models import AuditEvent, PolicyChange
from governance.policies.defaults import CATEGORIES
from postmortems import selectors as incident_selectors
from postmortems.models import ActionItem, CustomerRemediation, ImpactCount, Incident
from postmortems.obligations import harm_totals
from readiness import selectors as launch_selectors
from readiness.models import ChecklistItem, LaunchRequest, LaunchStatus, Observation, SignOff
from readiness.services import approval_gaps, blocking_item_ok
from registry.dashboard import registry_pack_section
from reporting.common import AUDIT_EXCERPT, IN_FLIGHT, PENDING_EXCERPT, SPARK_POINTS, TOOL_CALL_EXCERPT
from reporting.gather_extras import extend
from reporting.models import Report, ReportKind
from reporting.periods import audit_events_between, recorded_differently


def _kind_visible_to(actor: Requester, report: Report) -> bool:
    """A token limited to some models reads dossiers of those models only, and no governance pack (a pack spans
    every model). Incident reports are limited through their source incidents."""
    model_ids = getattr(actor, "model_ids", None)
    if model_ids is None:
        return True
    if report.kind == ReportKind.GOVERNANCE_PACK:
        return False
    return report.launch is None or report.launch.version.model_id in model_ids


def report_visible_to(actor: Requester, report: Report) -> bool:
    """Decided when the report is read, not when it was made: ``report.view`` and sight of every incident whose
    content the report carries, now."""
    return (can(actor, "report.view") and _kind_visible_to(actor, report)
            and visibility.sources_visible(actor, report.source_incident_ids))


def reports_readable_by(actor: Requester, queryset: QuerySet[Report]) -> QuerySet[Report]:
    """The rows of ``queryset`` none of whose source incidents is hidden from ``actor`` (the admin's filter; pages
    and the API use visible_reports and report_visible_to, which also ask for ``report.view``)."""
    hidden = visibility.hidden_incident_ids(actor)
    if not hidden:
        return queryset
    readable = [pk for pk, ids in queryset.values_list("pk", "source_incident_ids")
                if not {int(i) for i in ids or ()} & hidden]
    return queryset.filter(pk__in=readable)


def visible_reports(actor: Requester, *, limit: int = 200) -> list[Report]:
    """The reports ``actor`` may see, newest first, in a fixed number of queries."""
    if not can(actor, "report.view"):
        return []
    rows = list(Report.objects.select_related("launch__version", "requested_by", "incident")
                .order_by("-created_at", "-pk")[:limit])
    sources = {int(i) for r in rows for i in (r.source_incident_ids or ())}
    seen = set(visibility.visible_incidents(actor).filter(pk__in=sources).values_list("pk", flat=True))
    restricted = set(Incident.objects.filter(pk__in=sources, restricted=True).values_list("pk", flat=True))
    shown = []
    for report in rows:
        ids = {int(i) for i in (report.source_incident_ids or ())}
        if ids <= seen and _kind_visible_to(actor, report):
            report.includes_restricted = bool(ids & restricted)
            shown.append(report)
    return shown


def _viewer(report: Report) -> Actor:
    """Whose eyes a report is gathered with: the person or token that asked, or Gatehouse itself."""
    if report.requested_by is not None:
        return report.requested_by
    if report.requested_by_token is not None:
        token = report.requested_by_token
        return TokenPrincipal(token=token, scopes=frozenset(token.scopes))
    if report.requested_by_label.startswith("system:"):
        return SystemActor(report.requested_by_label.removeprefix("system:"))
    raise NotFound("The person or token that asked for this report no longer exists.", field="requested_by", code="requester_gone")


# -- gathering: the database into plain data -----------------------------------------------------------------



def _name(user) -> str:
    return user.display_name if user is not None else ""


def _series(launch_id, guardrails) -> dict[str, list]:
    """The newest observations of each guardrail's metric, oldest first."""
    metrics = {g.metric for g in guardrails}
    series: dict[str, list[Any]] = {}
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


# Audit records of reports themselves (under the label they had before reports became an app, and now).
REPORT_OBJECT_TYPES = ("governance.report", "reporting.report")


def _launch_audit(viewer, launch, sources: set) -> list[dict]:
    events = [e for e in launch_selectors.audit_trail(launch, viewer, limit=AUDIT_EXCERPT * 2)
              if not e.object_type.startswith("postmortems.") and e.object_type not in REPORT_OBJECT_TYPES]
    events = events[:AUDIT_EXCERPT]
    sources.update(e.source.incident_id for e in events if getattr(e, "source", None) is not None)
    return [{"seq": e.seq, "at": e.occurred_at, "recorded_at": e.created_at if recorded_differently(e) else None,
             "actor": e.actor_label, "verb": e.verb, "object": e.object_repr, "hash": e.hash} for e in events]


def _deploy_tools(launch) -> dict:
    """Which deploy tool asked what and when (the latest calls, and how many in all), and the decisions handed to
    a person: who decided, over which content hash, and whether that content is still the launch's. Codes, labels
    and hashes only: no incident's content, so nothing here depends on the reader."""
    calls, calls_total = launch_selectors.tool_calls(launch.pk, limit=TOOL_CALL_EXCERPT)
    pending, pending_total = launch_selectors.pending_decisions(launch.pk, limit=PENDING_EXCERPT)
    return {
        "calls": [{"at": c.asked_at, "tool": c.get_tool_display(), "kind": c.kind, "caller": c.caller,
                   "stage": c.stage, "version": c.version, "digest": c.digest, "subject": c.subject,
                   "decision": c.decision, "reasons": list(c.reasons or []), "receipt_id": c.receipt_id}
                  for c in calls],
        "calls_total": calls_total,
        "pending": [{"stage": p.stage, "status": p.status, "status_label": p.get_status_display(),
                     "role": Role(p.role).label, "tool": p.get_opened_by_tool_display(), "opened_at": p.opened_at,
                     "deadline": p.deadline, "content_hash": p.content_hash,
                     "stale": p.content_hash != launch.content_hash, "decided_by": _name(p.decided_by),
                     "decided_at": p.decided_at, "comment": p.comment, "escalated_at": p.escalated_at,
                     "reasons": "; ".join(r.get("detail") or r.get("code", "") for r in p.reasons or [])} for p in pending],
        "pending_total": pending_total,
    }


def gather_launch_dossier(viewer, launch_pk: int) -> dict:
    launch = launch_selectors.launch_detail(launch_pk)
    sources: set[int] = set()
    rollback_reason = launch_selectors.rollback_reason(viewer, launch, sources=sources)
    now = timezone.now()
    version, model = launch.version, launch.version.model
    items, signoffs = list(launch.items.all()), list(launch.signoffs.all())
    gaps = approval_gaps(launch, signoffs=signoffs, items=items, now=now)
    evaluation = launch.latest_evaluations[0] if launch.latest_evaluations else None  # type: ignore[attr-defined]  # launch_detail prefetched it
    history = list(launch.evaluations.order_by("-created_at", "-pk").values(
        "pk", "created_at", "kind", "submitted_by", "source_rows"))
    plan = getattr(launch, "plan", None)
    checklist: dict[str, list[dict[str, Any]]] = {}
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
        "kind": ReportKind.LAUNCH_DOSSIER,
        "launch": {"id": launch.pk, "title": launch.title, "status": launch.status,
                   "status_label": launch.get_status_display(), "summary": launch.summary,
                   "author": _name(launch.author), "created_at": launch.created_at,
                   "submitted_at": launch.submitted_at, "approved_at": launch.approved_at,
                   "rollout_started_at": launch.rollout_started_at, "launched_at": launch.launched_at,
                   "rolled_back_at": launch.rolled_back_at, "rollback_reason": rollback_reason,
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
                 "failing_items": [f"{verdicts.item_state(i.status)}: {i.title}" for i in gaps["failing_items"]]},
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
        "deploy_tools": _deploy_tools(launch),
        "audit": _launch_audit(viewer, launch, sources),
        "regimes": _regime_annex(viewer, model),
        **_sources(sources),
    }


def _regime_annex(viewer, model) -> list[dict]:
    """The annex: coverage of each regime the model declares, as the reader may see it. The dossier is itself
    the launch-dossier evidence, so that kind counts as present here and a dossier's content does not change
    because an earlier one was rendered."""
    from reporting.regimes.coverage import dossier_annex

    return dossier_annex(model, viewer=viewer)


def _sources(ids) -> dict:
    """What a report records about the incidents whose content it carries: all of them (``source_incident_ids``,
    checked against the reader when the report is read) and those restricted now (its classification)."""
    ids = sorted({int(i) for i in ids if i is not None})
    restricted = list(Incident.objects.filter(pk__in=ids, restricted=True).order_by("pk").values_list("pk", flat=True))
    return {"source_incident_ids": ids, "restricted_incident_ids": restricted}


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


def _harm_by_incident(pks: list[int]) -> dict[int, dict[str, int | None]]:
    """Each incident's harm figures, by the one rule the incident page and the incident report use
    (``harm_totals``), in two queries whatever the number of incidents."""
    counts: dict[int, list[ImpactCount]] = {pk: [] for pk in pks}
    remediations: dict[int, list[CustomerRemediation]] = {pk: [] for pk in pks}
    for count in ImpactCount.objects.filter(incident__in=pks):
        counts[count.incident_id].append(count)
    for remediation in CustomerRemediation.objects.filter(incident__in=pks):
        remediations[remediation.incident_id].append(remediation)
    return {pk: harm_totals(counts[pk], remediations[pk]) for pk in pks}


def gather_incident_report(viewer, incident_pk: int) -> dict:
    try:
        incident = incident_selectors.incident_detail(viewer, incident_pk)
    except Incident.DoesNotExist:
        raise NotFound(f"No visible incident #{incident_pk}.", field="subject", code="subject_not_found") from None
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
    recurrence = incident_selectors.recurrence_window(incident, incident_selectors.later_recurrences(viewer, incident))
    same_cause = incident_selectors.earlier_with_same_cause(viewer, incident)
    return {
        "kind": ReportKind.INCIDENT_REPORT,
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
        "recurrence": recurrence,
        "same_cause": [{"id": e.pk, "title": e.title, "detected_at": e.detected_at,
                        "categories": e.shared_categories, "models": e.shared_models, "features": e.shared_features}
                       for e in same_cause],
        **_sources([incident.pk, earlier.pk if earlier is not None and incident_visible_to(viewer, earlier) else None,
                    *(e.pk for e in same_cause)]),
    }


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    zone = timezone.get_current_timezone()
    return (datetime.combine(start, time.min, tzinfo=zone),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone))


def _latency_by_role(since, until) -> list[dict]:
    latencies: dict[str, list[timedelta]] = {}
    for role, signed_at, submitted_at in (SignOff.objects.filter(signed_at__gte=since, signed_at__lt=until,
                                                                 launch__submitted_at__isnull=False)
                                          .values_list("role", "signed_at", "launch__submitted_at")):
        if submitted_at is not None and signed_at >= submitted_at:  # a signature before the latest submission belongs to an earlier round
            latencies.setdefault(role, []).append(signed_at - submitted_at)
    return [{"role": Role(role).label, "count": len(values), "median": statistics.median(values),  # type: ignore[type-var]  # timedeltas sort and average
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
        blockers = [{"text": f"awaiting {Role(r).label} sign-off", "adverse": False} for r in gaps["missing_roles"]]
        blockers += [{"text": f"rejected by {_name(s.signer)}", "adverse": True} for s in gaps["rejected_by"]]
        failing = gaps["failing_items"]
        blockers += [{"text": f"{verdicts.item_state(i.status)}: {i.title}", "adverse": verdicts.is_adverse(i.status)}
                     for i in failing[:3]]
        if len(failing) > 3:
            blockers.append({"text": f"and {verdicts.not_passing(len(failing) - 3)}", "adverse": False})
        plan = getattr(launch, "plan", None)
        stage = ""
        if launch.status == LaunchStatus.ROLLING_OUT and plan is not None:
            blockers = [{"text": f"guardrail {verdicts.guardrail_state(g.state)}: {g}", "adverse": True}
                        for g in plan.guardrails.all() if verdicts.is_adverse(g.state)]
            if plan.paused:
                blockers.insert(0, {"text": f"paused: {plan.paused_reason}", "adverse": True})
            stage = plan.current_stage.name if plan.current_stage_id else ""
        rows.append({"id": launch.pk, "title": launch.title, "model": launch.version.model.name,
                     "version": launch.version.version, "tier": launch.version.model.risk_tier,
                     "status": launch.get_status_display(), "stage": stage, "submitted_at": launch.submitted_at,
                     "blockers": blockers})
    return rows


# Extra governance pack sections from the integrations (a function viewer -> dict or None); a section is
# {"id", "title", "intro", "columns", "rows", "empty"} of plain values.
PACK_SECTIONS = (registry_pack_section,)


def gather_governance_pack(viewer, params: dict) -> dict:
    start, end = date.fromisoformat(params["start"]), date.fromisoformat(params["end"])
    since, until = _bounds(start, end)
    today = timezone.localdate()
    visible = incident_selectors.visible_incidents(viewer)
    hidden = visibility.hidden_incident_ids(viewer)
    restricted: set[int | None] = set()  # every incident whose content the pack carries (named for the old meaning of the set)

    # By when the breach was observed, not when its audit event was written (a replayed history writes late).
    breaches = list(visibility.visible_events(viewer, audit_events_between(
        AuditEvent.objects.filter(verb="guardrail.state_changed", after__state="BREACHED"), since, until))
        .select_related("source").order_by("happened_at", "seq"))
    restricted.update(e.source.incident_id for e in breaches if getattr(e, "source", None) is not None)
    rollbacks = list(LaunchRequest.objects.filter(rolled_back_at__gte=since, rolled_back_at__lt=until)
                     .select_related("version__model").order_by("rolled_back_at"))
    titles: dict[Any, str] = dict(LaunchRequest.objects.filter(pk__in={(e.after or {}).get("launch") for e in breaches})
                  .values_list("pk", "title"))
    rollback_incidents: dict[int, list[int]] = {}
    for pk, launch_id in visible.filter(launch__in=rollbacks).values_list("pk", "launch_id"):
        rollback_incidents.setdefault(launch_id, []).append(pk)
        restricted.add(pk)
    # A rollback reason is the content of the incidents about its launch: sealed when any is hidden.
    sealed_launches = set(Incident.objects.filter(pk__in=hidden, launch__in=rollbacks).values_list("launch_id",
                                                                                                  flat=True))

    window_start = since - timedelta(days=365) + (until - since)
    trend = list(visible.filter(detected_at__gte=window_start, detected_at__lt=until).order_by("detected_at", "pk")
                 .only("pk", "title", "severity", "status", "restricted", "began_at", "detected_at",
                       "mitigated_at", "resolved_at"))
    period_incidents = [i for i in trend if i.detected_at >= since]
    previous = [i for i in trend if since - (until - since) <= i.detected_at < since]
    restricted.update(i.pk for i in trend)
    open_counts = Counter(ActionItem.objects.filter(incident__in=[i.pk for i in period_incidents],
                                                    status__in=ActionItem.OPEN_STATUSES)
                          .values_list("incident_id", flat=True))
    harm = _harm_by_incident([i.pk for i in period_incidents])

    overdue = list(ActionItem.objects.filter(status__in=ActionItem.OPEN_STATUSES, due_date__lt=today,
                                             incident__in=visible)
                   .select_related("owner", "incident").order_by("due_date", "pk"))
    restricted.update(i.incident_id for i in overdue)
    changes = list(PolicyChange.objects.filter(Q(proposed_at__gte=since, proposed_at__lt=until)
                                               | Q(decided_at__gte=since, decided_at__lt=until))
                   .select_related("policy", "proposed_by", "decided_by", "resulting_version")
                   .order_by("proposed_at", "pk"))
    restricted.update(c.source_incident_id for c in changes if c.source_incident_id not in hidden)

    # What the reader may not see is counted once for the whole period, never by model, severity or flag: enough to
    # tell the committee that this is not its complete pack, nothing about the matters themselves.
    not_shown = Incident.objects.filter(pk__in=hidden, detected_at__lt=until).filter(
        Q(closed_at__isnull=True) | Q(closed_at__gte=since)).count() if hidden else 0

    def medians(incidents):
        ttd = [i.time_to_detect for i in incidents if i.time_to_detect is not None]
        ttr = [i.time_to_resolve for i in incidents if i.time_to_resolve is not None]
        return {"ttd": statistics.median(ttd) if ttd else None, "ttr": statistics.median(ttr) if ttr else None}

    return {
        "kind": ReportKind.GOVERNANCE_PACK, "today": today, "restricted_not_shown": not_shown,
        "period": {"start": start, "end": end, "label": params["label"]},
        "in_flight": _in_flight(until),
        "approved": LaunchRequest.objects.filter(approved_at__gte=since, approved_at__lt=until).count(),
        "launched": LaunchRequest.objects.filter(launched_at__gte=since, launched_at__lt=until).count(),
        "latency": _latency_by_role(since, until),
        "breaches": [{"at": e.occurred_at, "launch": (e.after or {}).get("launch"),
                      "recorded_at": e.created_at if recorded_differently(e) else None,
                      "launch_title": titles.get((e.after or {}).get("launch"), ""), "guardrail": e.object_repr,
                      "detail": (e.after or {}).get("detail", "")} for e in breaches],
        "rollbacks": [{"id": lr.pk, "title": lr.title, "model": lr.version.model.name,
                       "version": lr.version.version, "at": lr.rolled_back_at, "by": lr.rolled_back_by,
                       "reason": visibility.RESTRICTED if lr.pk in sealed_launches else lr.rollback_reason,
                       "incidents": sorted(rollback_incidents.get(lr.pk, []))}
                      for lr in rollbacks],
        "incidents": [{"id": i.pk, "title": i.title, "severity": i.severity, "status": i.get_status_display(),
                       "restricted": i.restricted, "detected_at": i.detected_at, "time_to_detect": i.time_to_detect,
                       "time_to_resolve": i.time_to_resolve, "open_items": open_counts.get(i.pk, 0),
                       "harm": harm[i.pk]}
                      for i in period_incidents],
        "medians": {"period": medians(period_incidents), "previous": medians(previous)},
        "recurrences_by_cause": incident_selectors.recurrences_by_cause(visible, since, until),
        "trend": [{"detected_at": i.detected_at, "time_to_detect": i.time_to_detect,
                   "time_to_resolve": i.time_to_resolve} for i in trend],
        "overdue": [{"title": a.title, "incident": a.incident_id, "owner": _name(a.owner), "due_date": a.due_date,
                     "days": (today - a.due_date).days, "priority": a.priority, "kind": a.get_kind_display()}
                    for a in overdue],
        "policy_changes": [{"tier": c.policy.tier, "summary": c.summary, "status": c.status,
                            "status_label": c.get_status_display(),
                            "rationale": visibility.redact(c.rationale, c.source_incident_id, hidden),
                            "proposed_by": _name(c.proposed_by), "proposed_at": c.proposed_at,
                            "decided_by": _name(c.decided_by), "decided_at": c.decided_at,
                            "version": getattr(getattr(c, "resulting_version", None), "number", None)}
                           for c in changes],
        **_sources(restricted),
        "sections": [s for s in (provider(viewer) for provider in PACK_SECTIONS) if s],
    }


def gather(kind: str, *, viewer: Actor, launch_id: int | None = None, incident_id: int | None = None,
           params: dict[str, Any] | None = None) -> dict[str, Any]:
    """A report's data as ``viewer`` may read it. Its ``source_incident_ids`` are every incident whose content any
    section carries, the extra sections included, so the file is shown only to those who may read all of them."""
    if kind == ReportKind.LAUNCH_DOSSIER:
        data = gather_launch_dossier(viewer, launch_id)  # type: ignore[arg-type]  # a dossier names its launch
    elif kind == ReportKind.INCIDENT_REPORT:
        data = gather_incident_report(viewer, incident_id)  # type: ignore[arg-type]  # an incident report names its incident
    else:
        data = gather_governance_pack(viewer, params)  # type: ignore[arg-type]  # pack_params gave a pack its period
    sources = set(data["source_incident_ids"])
    extend(kind, data, viewer=viewer, sources=sources, guardrail_rows=_guardrails,
           visible=incident_selectors.visible_incidents(viewer))
    data.update(_sources(sources))
    return data
