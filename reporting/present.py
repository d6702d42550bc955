"""Presentation: titles, classification, executive summary, residual risk, charts, and the PDF render."""

from datetime import datetime
from typing import Any

from django.utils import timezone

from governance.kernel import formatting as fmt
from governance.kernel.anchors import Head, chain_head
from governance.kernel.canonical import content_hash
from governance.kernel.charts import PALETTE, cached_chart, figure, to_svg
from governance.templatetags.gatehouse import duration
from postmortems.charts import duration_trend_svg
from postmortems.models import FactorCategory, TimelineEvent
from readiness.charts import group_intervals_chart, reliability_chart, reliability_groups, sparkline
from reporting import pdf
from reporting.common import (
    INTERNAL_CLASSIFICATION,
    PACK_RESTRICTED_CLASSIFICATION,
    RESTRICTED_CLASSIFICATION,
    TEMPLATES,
)
from reporting.models import ReportKind


def report_title(data: dict[str, Any]) -> str:
    if data["kind"] == ReportKind.LAUNCH_DOSSIER:
        return f"Launch dossier — {data['model']['name']} {data['version']['version']}"[:300]
    if data["kind"] == ReportKind.INCIDENT_REPORT:
        return f"Incident report #{data['incident']['id']} — {data['incident']['title']}"[:300]
    return f"Governance pack — {data['period']['label']}"


KIND_CODES = {ReportKind.LAUNCH_DOSSIER: "LD", ReportKind.INCIDENT_REPORT: "IR", ReportKind.GOVERNANCE_PACK: "GP"}


def document_subject(data: dict) -> str:
    """What the report is about, as a reader names it: a launch, an incident or a period."""
    if data["kind"] == ReportKind.LAUNCH_DOSSIER:
        return f"launch #{data['launch']['id']}"
    if data["kind"] == ReportKind.INCIDENT_REPORT:
        return f"incident #{data['incident']['id']}"
    return data["period"]["label"]


def document_identifier(data: dict, version: int | None) -> dict:
    """The document's identifier: kind, subject and version (the n-th report of that kind on that subject).
    ``version`` is None for a render that is not recorded as a report (a preview or the benchmark)."""
    if data["kind"] == ReportKind.GOVERNANCE_PACK:
        subject = f"{data['period']['start']:%Y%m%d}-{data['period']['end']:%Y%m%d}"
    else:
        subject = str(data["launch"]["id"] if data["kind"] == ReportKind.LAUNCH_DOSSIER else data["incident"]["id"])
    code = f"GH-{KIND_CODES[data['kind']]}-{subject}" + (f"-v{version}" if version else "-preview")
    return {"code": code, "kind": ReportKind(data["kind"]).label, "subject": document_subject(data),
            "version": version}


def classification(data: dict) -> str:
    if data["kind"] == ReportKind.INCIDENT_REPORT and data["incident"]["restricted"]:
        return RESTRICTED_CLASSIFICATION
    if data.get("restricted_incident_ids"):
        return PACK_RESTRICTED_CLASSIFICATION
    return INTERNAL_CLASSIFICATION


# -- presentation: wording and charts derived from the gathered data (pure) -------------------------------------

def _clip(text: str, limit: int) -> str:
    """The first paragraph of ``text`` in whole sentences that fit ``limit``, so the executive summary stays on
    one page without cutting a sentence (governance.kernel.formatting.fit)."""
    return fmt.fit(text, limit)


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
        impact.append(f"revenue impact {money(figures['revenue_impact'])}")
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
            label = fmt.label(change["tier"]) + " policy"
            if change["version"]:
                label += f" v{change['version']}"
            changed.append(f"{label}: {_clip(change['summary'], 110)}.")
        elif item["status"] == "DONE":
            changed.append(f"{_clip(item['title'], 150)} (done).")
    asks: list[Any] = []
    overdue = sorted((i for i in items if i["overdue"]), key=lambda i: i["due_date"])
    if overdue:
        first = overdue[0]
        asks.append(f"Note {_count(len(overdue), 'overdue action item')}; the oldest, “{_clip(first['title'], 90)}”, "
                    f"was due {first['due_date']:%-d %b %Y} (owner {first['owner']}). Ask for revised dates.")
    pending = [i["policy_change"] for i in items if i["policy_change"] and i["policy_change"]["status"] == "PENDING"]
    if len(pending) == 1:
        change = pending[0]
        asks.append(f"Endorse the proposed change to the {fmt.label(change['tier'])} policy: "
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
    extra = data.get("extra") or {}
    derived = [{"kind": "Approve" if ask.startswith("Endorse") else "Note", "text": ask} for ask in asks]
    # Asks entered on the incident come first: they are what its owners put to the committee.
    asks = [{"kind": a["kind_label"], "text": a["text"]} for a in extra.get("asks", [])] + derived
    if not asks:
        asks.append({"kind": "Note", "text": "No decision is requested; the committee is asked to note this report."})
    narrative = extra.get("narrative") or {}
    counts = [f"{c['count']:,} {c['label'].lower().replace(' affected', '')} affected "
              f"({c['source_label'][0].lower()}{c['source_label'][1:]}: {_clip(c['source_detail'], 70)})" for c in extra.get("impact_counts", [])]
    counted = {c["measure"] for c in extra.get("impact_counts", [])}
    if "DECISIONS" in counted:
        impact = [line for line in impact if "decisions affected" not in line]
    if extra and not counted:
        counts.append("decisions and customers affected: not yet counted")
    obligations = []
    for r in extra.get("remediations", []):
        who = f" for {r['customers']:,} customers" if r["customers"] is not None else ""
        obligations.append(f"Remediation{who}: {_clip(r['action'], 80)} — {r['status_label'].lower()}"
                           + (f", due {r['due_date']:%-d %b %Y}" if r["due_date"] and r["status"] != "DONE" else "")
                           + ".")
    remediated = (extra.get("harm") or {}).get("remediated_customers")
    if remediated is not None and len(extra.get("remediations", [])) > 1:
        obligations.append(f"Customers covered by remediation in all: {remediated:,}.")
    for n in extra.get("notifications", []):
        if n["sent_at"]:
            state = f"sent {timezone.localtime(n['sent_at']):%-d %b %Y}"
        else:
            state = ("OVERDUE, " if n["overdue"] else "not yet sent, ") + \
                f"due {timezone.localtime(n['due_at']):%-d %b %Y %H:%M %Z}"
        basis = ""
        obligations.append(f"Notification to {n['recipient']}{basis}: {state}.")
    return {
        "facts": " · ".join(facts),
        "what": _clip(narrative.get("what") or incident["summary"], 650) or "No summary has been written yet.",
        "root_cause": _clip(narrative.get("root_cause", ""), 330),
        "impact": _clip(incident["impact_text"], 260 if extra else 420),
        "impact_figures": impact,
        "counts": counts,
        "obligations": obligations,
        "status": " ".join(status),
        "changed": changed[:4] + ([f"and {len(changed) - 4} more (see Mechanisms introduced)."] if len(changed) > 4 else []),
        "asks": _asks_read(asks),
    }


def _asks_read(asks: list[dict]) -> list[dict]:
    """An ask that already opens with its verb ("Decide whether …") is printed with the verb in bold rather than
    the verb twice."""
    out = []
    for ask in asks:
        verb = ask["kind"]
        if ask["text"].lower().startswith(verb.lower() + " "):
            out.append({"kind": verb, "text": ask["text"][len(verb) + 1:], "joined": True})
        else:
            out.append({**ask, "joined": False})
    return out


def restricted_not_shown(count: int) -> str:
    """The one sentence an outsider's pack says about what it leaves out: a single total, nothing else."""
    return (f"{_count(count, 'restricted matter')} in this period {'is' if count == 1 else 'are'} not shown "
            "(matters under legal privilege).")


def pack_summary(data: dict) -> dict:
    """The governance pack's first page: counts for its bullet points and the asks, entered and derived."""
    extra = data.get("extra") or {}
    monitors = extra.get("fairness_monitors") or []
    waivers = extra.get("waivers") or []
    asks = [{"kind": a["kind_label"], "text": a["text"]} for a in extra.get("asks") or []]
    overdue = data["overdue"]
    if overdue:
        asks.append({"kind": "Note", "text": f"{_count(len(overdue), 'action item')} overdue; the oldest is "
                     f"{overdue[0]['days']} days late (incident #{overdue[0]['incident']}). Ask owners for revised dates."})
    pending = [c for c in data["policy_changes"] if c["status"] == "PENDING"]
    if pending:
        asks.append({"kind": "Approve", "text": f"Endorse {_count(len(pending), 'proposed policy change')} awaiting "
                     "a second approval (see Policy changes)."})
    missing = [m for m in monitors if m["state"] == "MISSING"]
    if missing:
        asks.append({"kind": "Decide", "text": "Decide whether " + ", ".join(
            f"#{m['launch']} {m['model']}" for m in missing[:3]) + " may continue without a fairness guardrail."})
    soon = [w for w in waivers if w["days_left"] < 30]
    if soon:
        asks.append({"kind": "Decide", "text": f"Decide whether to renew {_count(len(soon), 'waiver')} expiring "
                     "within 30 days or require the waived items to pass."})
    hidden = data.get("restricted_not_shown") or 0
    if hidden:
        asks.append({"kind": "Note", "text": f"{restricted_not_shown(hidden)} This pack was prepared for a reader "
                     "outside their circle; the committee's complete pack, with any decision they ask for, is "
                     "prepared by Legal or Compliance."})
    if not asks:
        asks.append({"kind": "Note", "text": "No decision is requested; the committee is asked to note this pack."})
    return {"pack_asks": _asks_read(asks), "restricted_note": restricted_not_shown(hidden) if hidden else "",
            "waivers_soon": len(soon), "fairness_missing": len(missing),
            "fairness_breached": sum(1 for m in monitors if m["state"] == "BREACHED"),
            "unvalidated_tier1": sum(1 for m in extra.get("inventory") or [] if m["tier"] == "TIER_1"
                                     and m.get("in_programme", True) and not m["validated"])}


def money(value) -> str:
    """An amount with its currency and sign: ``−18,000 USD``."""
    from django.conf import settings

    return f"{value:+,.0f} {getattr(settings, 'REPORT_CURRENCY', 'USD')}".replace("-", "−")


@cached_chart
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


@cached_chart
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


def present(data: dict, *, digest: str, generated_at: datetime, requested_by: str, audit_head=None,
            document_version: int | None = None) -> dict:
    """Everything the PDF template needs besides the data: charts, derived wording, the frame's facts.

    ``audit_head`` is the audit chain's head the report was generated against; printed on the cover, it is an
    anchor outside the database (``verify_audit_log --head``). It is not part of the content hash, which would
    otherwise change with every event."""
    context = {"data": data, "content_hash": digest, "generated_at": generated_at, "requested_by": requested_by,
               "audit_head": audit_head, "document": document_identifier(data, document_version)}
    kind = data["kind"]
    if kind == ReportKind.LAUNCH_DOSSIER:
        evaluation = data["evaluation"] or {}
        fairness = evaluation.get("fairness")
        charts: dict[str, str | int] = {}
        if fairness:
            charts["selection"] = pdf.svg_image(group_intervals_chart(fairness, metric="selection_rate"))
            if any(g.get("air") for g in fairness.get("groups", [])):
                charts["air"] = pdf.svg_image(group_intervals_chart(fairness, metric="air"))
            scores = fairness.get("scores") or {}
            if reliability_groups(scores):
                charts["reliability"] = pdf.svg_image(reliability_chart(scores))
                charts["reliability_shown"] = len(reliability_groups(scores))
        extra = data.get("extra") or {}
        # Figures someone reported (not recomputed by Gatehouse) first: past the first 60 the dossier only counts
        # them, and a file with three attributes and their intersections computes hundreds.
        provenance = extra.get("provenance") or {}
        metrics = sorted((evaluation.get("metrics") or {}).items(),
                         key=lambda kv: ((provenance.get(kv[0]) or {}).get("source") == "computed", kv[0]))
        context.update(charts=charts, metrics=metrics[:60], more_metrics=max(0, len(metrics) - 60),
                       metric_rows=metric_rows(metrics[:60], extra.get("provenance") or {}),
                       comparison_rows=comparison_rows(extra.get("comparison") or []),
                       perf_keys=("selection_rate", "tpr", "fpr"),
                       guardrails=_with_sparklines(data["rollout"]["guardrails"]) if data["rollout"] else [])
    elif kind == ReportKind.INCIDENT_REPORT:
        incident = data["incident"]
        # A rolled-back launch is no longer what serves the model: monitor what does (reporting.gather_extras).
        now_serving = (data.get("extra") or {}).get("monitoring_now")
        monitoring = now_serving if now_serving and now_serving.get("launch") else data["monitoring"]
        marks = [("began", incident["began_at"]), ("detected", incident["detected_at"]),
                 ("contained", incident["mitigated_at"]), ("resolved", incident["resolved_at"])]
        context.update(
            summary=executive_summary(data), residual=residual_risk(data),
            timeline_svg=pdf.svg_image(timeline_chart(data["timeline"], marks=marks)),
            monitoring=monitoring,
            guardrails=_with_sparklines(monitoring["guardrails"]) if monitoring else [],
            open_items=sum(1 for i in data["action_items"] if i["open"]),
            overdue_items=sum(1 for i in data["action_items"] if i["overdue"]))
    else:
        trend = data["trend"]
        context.update(pack_summary(data))
        context.update(
            trend_svg=pdf.svg_image(duration_trend_svg(
                [(t["detected_at"], t["time_to_detect"]) for t in trend if t["time_to_detect"] is not None],
                [(t["detected_at"], t["time_to_resolve"]) for t in trend if t["time_to_resolve"] is not None])),
            latency_svg=pdf.svg_image(latency_chart(data["latency"])))
    return {"template": TEMPLATES[kind], "context": context, "title": report_title(data),
            "classification": classification(data)}


SOURCE_LABELS = {"computed": "Computed", "reported": "Reported", "overridden": "Reported, replacing the computed"}


def metric_rows(metrics: list[tuple[str, object]], provenance: dict) -> list[dict]:
    """Each metric with its label, its value with its unit, and where it came from."""
    rows = []
    for key, value in metrics:
        source = provenance.get(key) or {"source": "reported", "text": "reported"}
        shown = fmt.metric_value(value, key) if isinstance(value, int | float) \
            else str(value)
        rows.append({"key": key, "label": fmt.metric_label(key), "value": shown, "source": source["source"],
                     "source_label": SOURCE_LABELS.get(source["source"], source["source"]), "text": source["text"]})
    return rows


def comparison_rows(comparison: list[dict]) -> list[dict]:
    out = []
    for row in comparison:
        unit = fmt.metric_unit(row["metric"])
        change = fmt.quantity(row["change"], unit)
        out.append({"label": fmt.metric_label(row["metric"]),
                    "previous": fmt.quantity(row["previous"], unit),
                    "current": fmt.quantity(row["current"], unit),
                    "change": change if change.startswith("−") or change == "0" else "+" + change})
    return out


def render(data: dict[str, Any], *, generated_at: datetime | None = None, requested_by: str = "",
           audit_head: Head | None = None,
           document_version: int | None = None, archival: bool = False,
           attachments: list[tuple[str, bytes, str]] | None = None) -> tuple[pdf.Pdf, str]:
    """Data to PDF in one step (the management command and the benchmark use the pieces too)."""
    digest = content_hash(data)
    doc = present(data, digest=digest, generated_at=generated_at or timezone.now(), requested_by=requested_by,
                  audit_head=audit_head or chain_head(), document_version=document_version)
    return pdf.render_pdf(doc["template"], doc["context"], title=doc["title"], classification=doc["classification"],
                          archival=archival, attachments=attachments), digest


# -- services ----------------------------------------------------------------------------------------------
