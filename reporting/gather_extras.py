"""What makes a report decision-grade, gathered beside the base data (reporting.gather) and added under new keys.

- Launch dossier: model risk management (MRM) sections, the provenance of every figure, evidence hashes, the
  comparison with the version in production, and flags where the memo or a sign-off condition names a safeguard the
  rollout plan lacks.
- Incident report: impact counts with their source, customer remediation, regulatory notifications, the
  committee's explicit asks, the narrative from the postmortem, and the monitoring of the model as it is served
  now (not the launch that was rolled back).
- Governance pack: key risk indicators against the previous period, the asks, the model inventory by tier with
  each model's validation, the validation figures and what moved since the last committee (reporting.model_risk),
  open waivers, fairness monitors.

Plain data out, like the rest of gathering; the sha256 of it all is the report's content hash.
"""

import re
import statistics
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import F, Prefetch, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from governance.kernel import formatting as fmt
from governance.kernel.roles import Role
from governance.models import MLModel, ModelVersion
from governance.validation.selectors import ValidationStanding, validation_standings
from postmortems.models import ActionItem, CommitteeAsk, Incident
from postmortems.obligations import harm_totals
from readiness import selectors as launch_selectors
from readiness.models import Evaluation, Guardrail, LaunchRequest, LaunchStatus, Waiver
from reporting.model_risk import changed_since, dossier_validation, pack_model_risk, standing_row
from reporting.models import ReportKind

APPROVED_STATES = (LaunchStatus.APPROVED, LaunchStatus.ROLLING_OUT, LaunchStatus.LAUNCHED, LaunchStatus.ROLLED_BACK)
LIVE_STATES = (LaunchStatus.ROLLING_OUT, LaunchStatus.LAUNCHED)
FAIRNESS_METRIC = re.compile(r"(^|_|\.)(air|fairness|eod|eqodds)(_|\.|$)")


def _name(user) -> str:
    return user.display_name if user is not None else ""


# -- launch dossier --------------------------------------------------------------------------------------------

def _sources(evaluation: Evaluation) -> str:
    report = evaluation.report or {}
    files = []
    if report.get("fairness"):
        files.append("the predictions file")
    if report.get("drift"):
        files.append("the baseline and current feature files")
    return " and ".join(files) or "uploaded files"


def metric_provenance(evaluation: Evaluation | None) -> dict:
    """For each metric of an evaluation: computed by Gatehouse from the uploaded files (with their sha256), or
    reported by whoever submitted it — and, where a reported figure replaced a computed one, both figures."""
    if evaluation is None:
        return {}
    report = evaluation.report or {}
    computed: dict[str, Any] = {}
    for section in ("fairness", "drift"):
        computed.update((report.get(section) or {}).get("metrics") or {})
    files = f"{_sources(evaluation)} (sha256 {evaluation.source_sha256[:12]}…)" if evaluation.source_sha256 else ""
    out = {}
    for key, value in (evaluation.metrics or {}).items():
        if key in computed and computed[key] == value:
            # The files' hash is printed once above the table; each row names only what it was computed from.
            out[key] = {"source": "computed", "text": f"computed by Gatehouse from {_sources(evaluation)}",
                        "computed": value}
        elif key in computed:
            out[key] = {"source": "overridden", "computed": computed[key],
                        "text": f"reported by {evaluation.submitted_by}; Gatehouse computed "
                                f"{fmt.metric_value(computed[key], key)} from {files}"}
        else:
            out[key] = {"source": "reported", "text": f"reported by {evaluation.submitted_by}", "computed": None}
    return out


SAFEGUARDS = [
    # (name, words in the memo or a condition that name it, test on the plan's stages and guardrails)
    ("a fairness guardrail", re.compile(r"fairness (guardrail|circuit breaker|monitor)", re.I),
     lambda stages, rails: any(FAIRNESS_METRIC.search(g["metric"]) for g in rails)),
    ("a shadow stage", re.compile(r"\bshadow\b", re.I),
     lambda stages, rails: any(s["traffic_percent"] == 0 or "shadow" in s["name"].lower() for s in stages)),
    ("a canary stage", re.compile(r"\bcanary\b", re.I),
     lambda stages, rails: any(0 < s["traffic_percent"] <= 10 for s in stages)),
    ("a drift or null-rate guardrail", re.compile(r"(drift|null-rate|null rate) (guardrail|monitor)", re.I),
     lambda stages, rails: any(g["metric"].startswith(("psi", "null_rate")) for g in rails)),
    ("a rollback guardrail", re.compile(r"automatic rollback|roll(ed)? back automatically", re.I),
     lambda stages, rails: any(g["action"] == "ROLLBACK" for g in rails)),
]


def safeguard_flags(texts: list[tuple[str, str]], rollout: dict | None, features: list) -> list[str]:
    """Where a memo or a sign-off condition names a safeguard the rollout plan does not have; and third-party
    critical features with a drift monitor on record but no guardrail watching them in the plan."""
    stages = (rollout or {}).get("stages") or []
    rails = (rollout or {}).get("guardrails") or []
    flags = []
    for name, words, present in SAFEGUARDS:
        for where, text in texts:
            match = words.search(text or "")
            if match and not present(stages, rails):
                plan = "the launch has no rollout plan" if rollout is None else "the rollout plan has none"
                flags.append(f"The {where} names {name} (“{match.group(0)}”), but {plan}.")
                break
    metrics = {g["metric"] for g in rails}
    for feature in features:
        if feature.source == "THIRD_PARTY" and feature.is_critical and not (
                {f"psi_{feature.name}", f"psi.{feature.name}", f"null_rate_{feature.name}"} & metrics):
            flags.append(f"Third-party feature {feature.name} is critical, but no guardrail in the plan watches its "
                         f"drift (for example psi_{feature.name})"
                         + (f"; the drift monitor on record is “{feature.drift_monitor_ref}”." if
                            feature.drift_monitor_ref else "."))
    return flags


def _performance(fairness: dict | None, attributes: dict) -> list[dict]:
    rows = []
    for group in (fairness or {}).get("groups") or []:
        row = {"group": group["group"], "attribute": attributes.get(group["group"], ""), "n": group.get("n"),
               "insufficient": bool(group.get("insufficient_data"))}
        for metric in ("selection_rate", "tpr", "fpr"):
            value = group.get(metric) or {}
            row[metric] = {"estimate": value.get("estimate"), "ci_low": value.get("ci_low"),
                           "ci_high": value.get("ci_high")}
        rows.append(row)
    return rows


def _production_version(launch: LaunchRequest, viewer, sources: set[int]) -> dict | None:
    """The version in production that this launch's version is compared with (readiness.selectors.production_launch:
    the newest launched one, so a rolled-back launch never stands in for it), its latest evaluation, and the
    launches rolled back since it went live, as ``viewer`` may read them: a rollback reason goes through the same
    sealed selector as the launch's own page, and the incidents whose content it carries join the report's
    sources."""
    serving = launch_selectors.production_launch(launch.version.model_id, other_than=launch)
    since = serving.launched_at if serving is not None else None
    withdrawn = [lr for lr in launch_selectors.rolled_back_since(launch.version.model_id, since)
                 if lr.version_id != launch.version_id]
    if serving is None and not withdrawn:
        return None
    evaluation = (Evaluation.objects.filter(launch=serving).order_by("-created_at", "-pk").first()
                  if serving is not None else None)
    return {"version": serving.version.version if serving else "", "launch": serving.pk if serving else None,
            "launched_at": since, "replaced": launch.status == LaunchStatus.LAUNCHED,
            "metrics": dict(evaluation.metrics) if evaluation is not None else {},
            "model_card": serving.version.model_card if serving else "",
            "rolled_back": [{"version": lr.version.version, "launch": lr.pk, "rolled_back_at": lr.rolled_back_at,
                             "reason": launch_selectors.rollback_reason(viewer, lr, sources=sources)}
                            for lr in withdrawn]}


def extend_launch_dossier(data: dict, viewer, sources: set[int]) -> dict:
    launch = (LaunchRequest.objects.select_related("version__model").prefetch_related("version__features")
              .get(pk=data["launch"]["id"]))
    version = launch.version
    evaluation = Evaluation.objects.filter(launch=launch).order_by("-created_at", "-pk").first()
    evidence = dict(launch.items.exclude(evidence_sha256="").values_list("key", "evidence_sha256"))
    for group in data["checklist"]:
        for item in group["items"]:
            item["evidence_sha256"] = evidence.get(item["key"], "")
    provenance = metric_provenance(evaluation)
    for group in data["checklist"]:
        for item in group["items"]:
            if item["kind"] == "AUTOMATIC" and item["rule"]:
                names = [n for n in re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", item["rule"]) if n in provenance]
                item["provenance"] = [
                    {"source": provenance[n]["source"],
                     "text": f"{n} = {fmt.metric_value(evaluation.metrics[n], n)}, "  # type: ignore[union-attr]  # provenance comes from an evaluation
                             f"{provenance[n]['text']}"} for n in dict.fromkeys(names)]
    fairness = (data.get("evaluation") or {}).get("fairness")
    attributes = dict(version.fairness_group_attributes or {})
    groups = [g["group"] for g in (fairness or {}).get("groups") or []]
    production = _production_version(launch, viewer, sources)
    comparison = []
    if production and production["metrics"] and evaluation is not None:
        for key in sorted(set(production["metrics"]) & set(evaluation.metrics or {})):
            before, now = production["metrics"][key], evaluation.metrics[key]
            if isinstance(before, int | float) and isinstance(now, int | float):
                comparison.append({"metric": key, "previous": before, "current": now, "change": now - before})
    texts = [("decision memo", " ".join(filter(None, (launch.options_considered, launch.expected_value,
                                                       launch.risks, launch.rationale))))]
    texts += [(f"{s['role']} sign-off condition", s["conditions"]) for s in data.get("signoffs", [])
              if s.get("conditions")]
    return {
        "approved": launch.status in APPROVED_STATES,
        "mrm": {"intended_use": version.intended_use, "out_of_scope_use": version.out_of_scope_use,
                "methodology": version.methodology, "limitations": version.limitations,
                "training_data_ref": version.training_data_ref, "training_data_sha256": version.training_data_sha256,
                "group_attributes": [{"group": g, "attribute": attributes.get(g, "")} for g in groups],
                "protected_attributes": list(version.model.protected_attributes or [])},
        "performance": _performance(fairness, attributes),
        "provenance": provenance,
        "evaluation_source": None if evaluation is None else {
            "kind": evaluation.kind, "submitted_by": evaluation.submitted_by, "files": _sources(evaluation),
            "sha256": evaluation.source_sha256, "rows": evaluation.source_rows},
        "production": production, "comparison": comparison,
        "validation": dossier_validation(version.model_id),
        "safeguard_flags": safeguard_flags(texts, data.get("rollout"), list(version.features.all())),
    }


# -- incident report ------------------------------------------------------------------------------------------

def _monitoring_now(incident: Incident, guardrail_rows) -> dict | None:
    """When the incident's launch was rolled back, the version in production is the one it replaced (or a later
    launched one), and a later launch may be rolling out beside it: that is what the committee needs to see
    monitored."""
    launch = incident.launch
    if launch is None or launch.status != LaunchStatus.ROLLED_BACK:
        return None
    serving = launch_selectors.production_launch(launch.version.model_id)
    production = None if serving is None else {"launch": serving.pk, "version": serving.version.version}
    current = (LaunchRequest.objects.filter(version__model_id=launch.version.model_id, status__in=LIVE_STATES,
                                            created_at__gt=launch.created_at)
               .select_related("version__model").order_by("-created_at", "-pk").first())
    if current is None:
        return {"launch": None, "replaced": launch.version.version, "production": production}
    guardrails = list(Guardrail.objects.filter(plan__launch=current).select_related("stage").order_by("pk"))
    return {"launch": current.pk, "title": current.title, "status": current.get_status_display(),
            "model": current.version.model.name, "version": current.version.version,
            "replaced": launch.version.version, "production": production,
            "guardrails": guardrail_rows(current.pk, guardrails)}


def extend_incident_report(data: dict, guardrail_rows) -> dict:
    incident = (Incident.objects.select_related("launch__version__model").select_related("postmortem")
                .prefetch_related("impact_counts", "remediations", "notifications", "committee_asks")
                .get(pk=data["incident"]["id"]))
    now = timezone.now()
    postmortem = getattr(incident, "postmortem", None)
    what = (postmortem.summary if postmortem is not None and postmortem.summary else "") or incident.summary
    root_cause = postmortem.root_cause if postmortem is not None else ""
    if not root_cause:
        root_cause = " ".join(f["description"] for f in data["factors"])
    return {
        "narrative": {"what": what, "root_cause": root_cause,
                      "from_postmortem": bool(postmortem is not None and postmortem.summary)},
        "impact_counts": [{"measure": c.measure, "label": c.get_measure_display(), "count": c.count,
                           "source": c.source, "source_label": c.get_source_display(),
                           "source_detail": c.source_detail, "recorded_by": c.recorded_by,
                           "recorded_at": c.recorded_at} for c in incident.impact_counts.all()],
        "remediations": [{"action": r.action, "customers": r.customers, "status": r.status,
                          "status_label": r.get_status_display(), "due_date": r.due_date,
                          "completed_at": r.completed_at} for r in incident.remediations.all()],
        "notifications": [{"recipient": n.recipient, "basis": n.basis, "due_at": n.due_at, "sent_at": n.sent_at,
                           "reference": n.reference, "overdue": n.is_overdue(now)} for n in incident.notifications.all()],
        "asks": [{"kind": a.kind, "kind_label": a.get_kind_display(), "text": a.text}
                 for a in incident.committee_asks.all()],
        # The same totals the incident page shows (postmortems.obligations.harm_totals), so the committee's figures
        # can be checked against the page.
        "harm": harm_totals(incident.impact_counts.all(), incident.remediations.all()),
        "monitoring_now": _monitoring_now(incident, guardrail_rows),
    }


# -- governance pack ------------------------------------------------------------------------------------------

def _newest_per_model(launches: QuerySet[LaunchRequest], by: str = "created_at") -> QuerySet[LaunchRequest]:
    """Of ``launches``, each model's newest by ``by`` (a window in the database: a bank's history holds tens of
    thousands of launches, and a report needs one a model)."""
    rank = Window(RowNumber(), partition_by=[F("version__model_id")], order_by=[F(by).desc(nulls_last=True),
                                                                                  F("pk").desc()])
    return launches.annotate(newest=rank).filter(newest=1)


def _inventory(now, standings: dict[int, ValidationStanding] | None = None,
               models: list[MLModel] | None = None) -> list[dict]:
    """Every model with its latest version, its newest launch and its validation as the validation records say
    (reporting.model_risk), in a fixed number of queries."""
    if models is None:
        models = _inventory_models()
    if standings is None:
        standings = validation_standings([m.pk for m in models])
    launches = {}
    launch: LaunchRequest | None
    for launch in _newest_per_model(LaunchRequest.objects.all()).select_related("version"):
        launches[launch.version.model_id] = launch
    rows = []
    for model in models:
        launch = launches.get(model.pk)
        versions = list(model.versions.all())
        standing = standing_row(standings[model.pk])
        rows.append({"slug": model.slug, "name": model.name, "tier": model.risk_tier,
                     "tier_label": fmt.label(model.risk_tier), "owner": _name(model.owner),
                     "version": versions[0].version if versions else "", "validated": standing["validated"],
                     "validation": standing["text"], "standing": standing["standing"],
                     "in_programme": standing["in_programme"], "open_findings": standing["open_findings"],
                     "overdue_findings": standing["overdue_findings"], "needs_open": standing["needs_open"],
                     "launch": None if launch is None else {
                         "id": launch.pk, "version": launch.version.version, "status": launch.status,
                         "status_label": launch.get_status_display(),
                         "at": launch.launched_at or launch.rolled_back_at or launch.rollout_started_at
                         or launch.approved_at or launch.submitted_at or launch.created_at}})
    return rows


def _inventory_models() -> list[MLModel]:
    return list(MLModel.objects.select_related("owner").prefetch_related(
        Prefetch("versions", queryset=ModelVersion.objects.order_by("-created_at", "-pk"))).order_by("risk_tier", "name"))


def _open_waivers(now) -> list[dict]:
    waivers = (Waiver.objects.filter(revoked_at__isnull=True, expires_at__gt=now)
               .select_related("item__launch__version__model", "granted_by").order_by("expires_at", "pk"))
    return [{"launch": w.item.launch_id, "model": w.item.launch.version.model.name,
             "version": w.item.launch.version.version, "item": w.item.title, "granted_by": _name(w.granted_by),
             "role": Role(w.role).label, "reason": w.reason, "expires_at": w.expires_at,
             "days_left": (w.expires_at - now).days} for w in waivers]


def _fairness_monitors() -> list[dict]:
    # What serves decisions now: each model's newest launched version (an older one it replaced no longer does),
    # and any launch approved or rolling out (beside it, on part of the traffic).
    serving = _newest_per_model(LaunchRequest.objects.filter(status=LaunchStatus.LAUNCHED), by="launched_at")
    coming = LaunchRequest.objects.filter(status__in=(LaunchStatus.ROLLING_OUT, LaunchStatus.APPROVED))
    live = list(LaunchRequest.objects.filter(Q(pk__in=serving.values("pk")) | Q(pk__in=coming.values("pk")))
                .select_related("version__model").prefetch_related("plan__guardrails").order_by("pk"))
    rows = []
    for launch in live:
        model = launch.version.model
        plan = getattr(launch, "plan", None)
        rails = [g for g in (plan.guardrails.all() if plan else []) if FAIRNESS_METRIC.search(g.metric)]
        for g in rails:
            rows.append({"launch": launch.pk, "model": model.name, "version": launch.version.version,
                         "metric": g.metric, "label": fmt.metric_label(g.metric), "comparator": g.comparator,
                         "threshold": g.threshold, "action": g.action, "state": g.state,
                         "state_label": fmt.label(g.state),
                         "detail": (g.state_detail or {}).get("detail", "")})
        if not rails and model.protected_attributes:
            rows.append({"launch": launch.pk, "model": model.name, "version": launch.version.version,
                         "metric": "", "label": "No fairness guardrail", "comparator": "", "threshold": None,
                         "action": "", "state": "MISSING", "state_label": "None in the plan",
                         "detail": f"The model monitors {', '.join(model.protected_attributes)}, but this launch "
                                   "has no guardrail on a fairness metric."})
    return rows


def _overdue_at(day: date, visible) -> int:
    """Action items that were past due at the end of ``day`` (still open then)."""
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), datetime.min.time()))
    return (ActionItem.objects.filter(incident__in=visible, due_date__lte=day)
            .filter(Q(completed_at__isnull=True) | Q(completed_at__gte=end))
            .exclude(status="DONE", completed_at__isnull=True).count())


def extend_governance_pack(data: dict, visible) -> dict:
    """``visible``: the incidents the requester may see (reporting.gather decides)."""
    start, end = data["period"]["start"], data["period"]["end"]
    length = (end - start).days + 1
    prev_end = start - timedelta(days=1)
    prev_start = prev_end - timedelta(days=length - 1)
    zone = timezone.get_current_timezone()

    def bounds(a, b):
        return (datetime.combine(a, datetime.min.time(), tzinfo=zone),
                datetime.combine(b + timedelta(days=1), datetime.min.time(), tzinfo=zone))

    def incidents(a, b):
        since, until = bounds(a, b)
        return list(visible.filter(detected_at__gte=since, detected_at__lt=until))

    def rollbacks(a, b):
        since, until = bounds(a, b)
        return LaunchRequest.objects.filter(rolled_back_at__gte=since, rolled_back_at__lt=until).count()

    def median_ttd(rows):
        values = [i.time_to_detect for i in rows if i.time_to_detect is not None]
        return statistics.median(values) if values else None

    now_rows, before_rows = incidents(start, end), incidents(prev_start, prev_end)
    kri = [
        {"label": "Incidents detected", "current": len(now_rows), "previous": len(before_rows), "worse": "up"},
        {"label": "SEV 1 and SEV 2 incidents", "current": sum(i.severity in ("SEV1", "SEV2") for i in now_rows),
         "previous": sum(i.severity in ("SEV1", "SEV2") for i in before_rows), "worse": "up"},
        {"label": "Fair-lending or consumer-harm incidents",
         "current": sum(i.fair_lending or i.consumer_harm for i in now_rows),
         "previous": sum(i.fair_lending or i.consumer_harm for i in before_rows), "worse": "up"},
        {"label": "Rollbacks", "current": rollbacks(start, end), "previous": rollbacks(prev_start, prev_end),
         "worse": "up"},
        {"label": "Median time to detect", "current": median_ttd(now_rows), "previous": median_ttd(before_rows),
         "worse": "up", "duration": True},
        {"label": "Action items overdue at the end of the period", "current": _overdue_at(min(end, data["today"]),
                                                                                          visible),
         "previous": _overdue_at(prev_end, visible), "worse": "up"},
    ]
    for row in kri:
        cur, prev = row["current"], row["previous"]
        if cur is None or prev is None or cur == prev:
            row["trend"] = "same" if cur == prev else "n/a"
        else:
            row["trend"] = "worse" if (cur > prev) == (row["worse"] == "up") else "better"
    asks = [{"kind": a.kind, "kind_label": a.get_kind_display(), "text": a.text}
            for a in CommitteeAsk.objects.filter(incident__isnull=True, period_start__lte=end, period_end__gte=start)]
    now = timezone.now()
    models = _inventory_models()
    standings = validation_standings([m.pk for m in models], today=data["today"])
    return {
        "previous_period": {"start": prev_start, "end": prev_end},
        "kri": kri,
        "asks": asks,
        "inventory": _inventory(now, standings, models),
        "model_risk": pack_model_risk(models, standings),
        "changed": changed_since(start, bounds(start, end)[0], now),
        "waivers": _open_waivers(now),
        "fairness_monitors": _fairness_monitors(),
    }


def extend(kind: str, data: dict, *, viewer, sources: set[int], visible=None, guardrail_rows=None) -> dict:
    """Add the decision-grade sections under ``data["extra"]``, as ``viewer`` may read them; ``sources`` collects
    the incidents whose content they carry (the caller records them with the report). ``guardrail_rows(launch_id,
    guardrails)`` is reporting.gather's guardrail serialiser, passed in so the two modules do not import each other."""
    if kind == ReportKind.LAUNCH_DOSSIER:
        data["extra"] = extend_launch_dossier(data, viewer, sources)
    elif kind == ReportKind.INCIDENT_REPORT:
        data["extra"] = extend_incident_report(data, guardrail_rows)
    else:
        data["extra"] = extend_governance_pack(data, visible)
    return data
