"""A postmortem as Markdown (ready for a wiki) and as JSON. Pure functions over a fetched postmortem
(see selectors.export_bundle, which also decides who may have it)."""

from django.conf import settings
from django.utils import timezone

from governance.kernel.canonical import to_plain

from .models import NARRATIVE_FIELDS


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z") if value else "—"


def _hours(delta) -> float | None:
    return round(delta.total_seconds() / 3600, 2) if delta is not None else None


def _duration(delta) -> str:
    from governance.templatetags.gatehouse import duration

    return duration(delta)


def as_dict(postmortem) -> dict:
    incident = postmortem.incident
    return {
        "incident": {
            "id": incident.pk,
            "title": incident.title,
            "severity": incident.severity,
            "status": incident.status,
            "restricted": incident.restricted,
            "fair_lending": incident.fair_lending,
            "consumer_harm": incident.consumer_harm,
            "detection_source": incident.detection_source,
            "began_at": incident.began_at,
            "detected_at": incident.detected_at,
            "mitigated_at": incident.mitigated_at,
            "resolved_at": incident.resolved_at,
            "closed_at": incident.closed_at,
            "time_to_detect_hours": _hours(incident.time_to_detect),
            "time_to_mitigate_hours": _hours(incident.time_to_mitigate),
            "time_to_resolve_hours": _hours(incident.time_to_resolve),
            "impact_figures": incident.impact_figures,
            "models": [m.slug for m in incident.models.all()],
            "launch": incident.launch_id,
            "url": f"{settings.SITE_URL}{incident.get_absolute_url()}",
        },
        "postmortem": {
            "status": postmortem.status,
            "author": postmortem.author.display_name,
            "published_at": postmortem.published_at,
            "sections": {name: getattr(postmortem, name) for name in NARRATIVE_FIELDS},
        },
        "timeline": [{"at": e.at, "kind": e.kind, "text": e.text, "author": e.author_label}
                     for e in incident.timeline.all()],
        "contributing_factors": [{"category": f.category, "description": f.description}
                                 for f in incident.factors.all()],
        "action_items": [{
            "title": i.title, "kind": i.kind, "owner": i.owner.display_name, "due_date": i.due_date,
            "priority": i.priority, "status": i.status, "completed_at": i.completed_at,
            "policy_change": ({"id": i.policy_change.pk, "tier": i.policy_change.policy.tier,
                               "operation": i.policy_change.operation, "status": i.policy_change.status}
                              if i.policy_change else None),
        } for i in incident.action_items.all()],
        "reviews": [{"reviewer": r.reviewer.display_name, "role": r.role, "decision": r.decision,
                     "comment": r.comment, "round": r.round, "at": r.created_at} for r in postmortem.reviews.all()],
        "amendments": [{"field": a.field, "before": a.before, "after": a.after, "reason": a.reason,
                        "author": a.author.display_name, "at": a.created_at} for a in postmortem.amendments.all()],
    }


def as_json(postmortem) -> dict:
    """The export as JSON-ready data (datetimes as ISO strings)."""
    return to_plain(as_dict(postmortem))


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def as_markdown(postmortem) -> str:
    incident = postmortem.incident
    lines = [f"# Postmortem: {incident.title}", ""]
    if incident.restricted:
        lines += ["> **Restricted — legally privileged.** Share only with the incident's named members, Legal and "
                  "Compliance.", ""]
    status = postmortem.get_status_display()
    if postmortem.published_at:
        status += f" {_when(postmortem.published_at)}"
    flags = [name for name, on in (("fair lending", incident.fair_lending), ("consumer harm", incident.consumer_harm))
             if on]
    lines += [
        f"*Incident #{incident.pk} · {incident.severity} · {incident.get_status_display()} · postmortem {status}*",
        "",
        "| | |", "|---|---|",
        f"| Detected | {_when(incident.detected_at)} ({incident.get_detection_source_display()}) |",
        f"| Began | {_when(incident.began_at)} |",
        f"| Time to detect | {_duration(incident.time_to_detect)} |",
        f"| Time to mitigate | {_duration(incident.time_to_mitigate)} |",
        f"| Time to resolve | {_duration(incident.time_to_resolve)} |",
        f"| Models | {_cell(', '.join(m.name for m in incident.models.all()) or '—')} |",
        f"| Regulatory flags | {', '.join(flags) or 'none'} |",
        "",
    ]
    for _name, label, text in postmortem.sections:
        lines += [f"## {label}", "", text.strip() or "_Not written._", ""]
    lines += ["## Timeline", ""]
    for event in incident.timeline.all():
        lines.append(f"- **{_when(event.at)}** ({event.get_kind_display()}): {_cell(event.text)}")
    if not incident.timeline.all():
        lines.append("_No events recorded._")
    lines += ["", "## Contributing factors", ""]
    for factor in incident.factors.all():
        lines.append(f"- **{factor.get_category_display()}**: {_cell(factor.description)}")
    if not incident.factors.all():
        lines.append("_None recorded._")
    lines += ["", "## Action items", "", "| Action | Kind | Owner | Due | Priority | Status | Policy change |",
              "|---|---|---|---|---|---|---|"]
    for item in incident.action_items.all():
        change = (f"{item.policy_change.summary} ({item.policy_change.policy.tier}, "
                  f"{item.policy_change.get_status_display().lower()})" if item.policy_change else "—")
        lines.append(f"| {_cell(item.title)} | {item.get_kind_display()} | {_cell(item.owner.display_name)} | "
                     f"{item.due_date:%Y-%m-%d} | {item.priority} | {item.get_status_display()} | {_cell(change)} |")
    reviews = list(postmortem.reviews.all())
    if reviews:
        lines += ["", "## Reviews", ""]
        for review in reviews:
            comment = f": {_cell(review.comment)}" if review.comment else ""
            lines.append(f"- {review.reviewer.display_name} ({review.get_role_display()}), "
                         f"{review.get_decision_display().lower()}{comment}")
    amendments = list(postmortem.amendments.all())
    if amendments:
        lines += ["", "## Amendments", ""]
        for amendment in amendments:
            lines.append(f"- {_when(amendment.created_at)}, {amendment.author.display_name} amended "
                         f"*{amendment.field.replace('_', ' ')}*: {_cell(amendment.reason)}")
    lines += ["", f"_Exported from Gatehouse {_when(timezone.now())}: "
                  f"{settings.SITE_URL}{incident.get_absolute_url()}_", ""]
    return "\n".join(lines)
