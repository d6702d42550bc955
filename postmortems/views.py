"""Pages of incidents and postmortems. Thin: parse, call a service or selector, render or redirect.

An incident the person may not see answers 404, never 403, so a restricted matter's existence does not leak.
"""

import json
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from governance.kernel.permissions import can, incident_visible_to, roles_of
from governance.kernel.web import deny_unless, field_without, redirect_to_place, refusal_shown, say

from . import charts, exports, obligations, selectors, services
from .blameless import check_text
from .forms import (
    ActionItemForm,
    ActionItemUpdateForm,
    AmendForm,
    AskForm,
    FactorForm,
    ImpactCountForm,
    IncidentEditForm,
    IncidentFilterForm,
    IncidentForm,
    NotificationForm,
    PolicyChangeForm,
    PostmortemForm,
    RemediationForm,
    ReviewForm,
    TimelineEventForm,
    TransitionForm,
)
from .models import NARRATIVE_FIELDS, ActionItem, Incident, Postmortem, PostmortemStatus


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _incident_or_404(user, pk) -> Incident:
    try:
        return selectors.incident_detail(user, pk)
    except Incident.DoesNotExist:
        raise Http404("No such incident.") from None


def _url_of(obj):
    """The object's page, or None while the app that owns it has not routed that page."""
    if obj is None:
        return None
    try:
        return obj.get_absolute_url()
    except NoReverseMatch:
        return None


def _now_minute():
    return timezone.localtime().replace(second=0, microsecond=0)


# --- incidents ----------------------------------------------------------------------------------------

@login_required
def incident_list(request):
    deny_unless(request.user, "incident.view")
    form = IncidentFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    incidents = selectors.incident_list(request.user, status=filters.get("status"),
                                        severity=filters.get("severity"), q=filters.get("q"))
    page = Paginator(incidents.prefetch_related("models"), 50).get_page(request.GET.get("page"))
    return render(request, "postmortems/incident_list.html", {
        "form": form, "page": page, "incidents": page.object_list,
        "can_create": can(request.user, "incident.create"),
    })


@login_required
@require_http_methods(["GET", "POST"])
def incident_create(request):
    deny_unless(request.user, "incident.create")
    form = IncidentForm(request.POST or None, initial={"severity": "SEV2"})
    if request.method == "POST" and form.is_valid():
        with refusal_shown(request, form=form) as refused:
            incident = services.open_incident(actor=request.user, **form.service_arguments())
        if not refused:
            messages.success(request, f"Incident #{incident.pk} opened.")
            return redirect(incident)
    return render(request, "postmortems/incident_form.html", {"form": form, "title": "Open an incident"})


def _detail_context(request, incident, **forms) -> dict:
    user = request.user
    try:
        postmortem = incident.postmortem
    except Postmortem.DoesNotExist:
        postmortem = None
    previous = incident.recurrence_of
    recurrences = selectors.later_recurrences(user, incident)
    return {
        "incident": incident,
        "rows": selectors.timeline_rows(incident.timeline.all(), launch=incident.launch),
        "factors": incident.factors.all(),
        "items": incident.action_items.all(),
        "postmortem": postmortem,
        "recurrence_of": previous if previous is not None and incident_visible_to(user, previous) else None,
        "recurrences": recurrences,
        "same_cause": selectors.earlier_with_same_cause(user, incident),
        "recurrence_window": selectors.recurrence_window(incident, recurrences),
        "launch_url": _url_of(incident.launch),
        "can_edit": can(user, "incident.edit", incident),
        "can_edit_items": can(user, "action_item.edit", incident),
        "can_write_postmortem": can(user, "postmortem.edit", incident),
        "timeline_form": forms.get("timeline_form") or TimelineEventForm(initial={"at": _now_minute()}),
        "factor_form": forms.get("factor_form") or FactorForm(),
        "item_form": forms.get("item_form") or ActionItemForm(initial={"due_date": timezone.localdate()},
                                                              auto_id=ITEM_IDS),
        "transition_form": TransitionForm(),
        "harm": obligations.harm_totals(incident.impact_counts.all(), incident.remediations.all()),
        "now": timezone.now(),
        **{f"{kind}_form": forms.get(f"{kind}_form") or form_class(initial=OBLIGATION_INITIAL.get(kind),
                                                                    auto_id=f"id_{kind}_%s")
           for kind, (form_class, _call, _label) in OBLIGATION_FORMS.items()},
    }


@login_required
def incident_detail(request, pk):
    incident = _incident_or_404(request.user, pk)
    deny_unless(request.user, "incident.view", incident)
    return render(request, "postmortems/incident_detail.html", _detail_context(request, incident))


@login_required
@require_http_methods(["GET", "POST"])
def incident_edit(request, pk):
    incident = _incident_or_404(request.user, pk)
    deny_unless(request.user, "incident.edit", incident)
    initial = {name: getattr(incident, name) for name in (
        "title", "severity", "detection_source", "began_at", "detected_at", "mitigated_at", "resolved_at", "summary",
        "impact_text", "fair_lending", "consumer_harm", "restricted", "launch")}
    initial.update(IncidentEditForm.initial_figures(incident.impact_figures or {}))
    initial.update(models=list(incident.models.all()), members=list(incident.members.all()))
    form = IncidentEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        with refusal_shown(request, form=form) as refused:
            services.update_incident(incident, actor=request.user, **form.service_arguments())
        if not refused:
            messages.success(request, "Incident updated.")
            return redirect(incident)
    return render(request, "postmortems/incident_form.html", {"form": form, "incident": incident,
                                                              "title": f"Edit incident #{incident.pk}"})


@login_required
@require_POST
def incident_transition(request, pk):
    incident = _incident_or_404(request.user, pk)
    deny_unless(request.user, "incident.edit", incident)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        say(request, messages.ERROR, "Choose a status (and a valid time).", place="incident-actions")
        return redirect_to_place(incident.get_absolute_url(), "incident-actions")
    with refusal_shown(request, place="incident-actions") as refused:
        incident = services.transition_incident(incident, actor=request.user, to=form.cleaned_data["to"],
                                                at=form.cleaned_data["at"])
    if not refused:
        say(request, messages.SUCCESS, f"Incident is now {incident.get_status_display().lower()}.",
            place="incident-actions")
    return redirect_to_place(incident.get_absolute_url(), "incident-actions")


@login_required
@require_POST
def timeline_add(request, pk):
    """Adds an event; answers htmx with the timeline partial, and a plain form post with a redirect."""
    incident = _incident_or_404(request.user, pk)
    deny_unless(request.user, "incident.edit", incident)
    form = TimelineEventForm(request.POST)
    added = False
    if form.is_valid():
        with refusal_shown(request, form=form) as refused:
            services.add_timeline_event(incident, actor=request.user, **form.cleaned_data)
        if not refused:
            added = True
    if _is_htmx(request):
        incident = selectors.incident_detail(request.user, pk)
        context = _detail_context(request, incident, timeline_form=None if added else form)
        return render(request, "postmortems/_timeline.html", {**context, "added": added})
    if added:
        say(request, messages.SUCCESS, "Timeline event added.", place="timeline")
        return redirect_to_place(reverse("postmortems:incident_detail", args=[pk]), "timeline")
    return render(request, "postmortems/incident_detail.html", _detail_context(request, incident, timeline_form=form))


@login_required
@require_POST
def factor_add(request, pk):
    incident = _incident_or_404(request.user, pk)
    deny_unless(request.user, "incident.edit", incident)
    form = FactorForm(request.POST)
    if form.is_valid():
        with refusal_shown(request, form=form) as refused:
            services.add_contributing_factor(incident, actor=request.user, **form.cleaned_data)
        if not refused:
            say(request, messages.SUCCESS, "Contributing factor added.", place="factors")
            return redirect_to_place(reverse("postmortems:incident_detail", args=[pk]), "factors")
    return render(request, "postmortems/incident_detail.html", _detail_context(request, incident, factor_form=form))


@login_required
@require_POST
def action_item_add(request, pk):
    incident = _incident_or_404(request.user, pk)
    deny_unless(request.user, "action_item.edit", incident)
    form = ActionItemForm(request.POST, auto_id=ITEM_IDS)
    if form.is_valid():
        with refusal_shown(request, form=form) as refused:
            services.add_action_item(incident, actor=request.user, **form.cleaned_data)
        if not refused:
            say(request, messages.SUCCESS, "Action item added.", place="action-items")
            return redirect_to_place(reverse("postmortems:incident_detail", args=[pk]), "action-items")
    return render(request, "postmortems/incident_detail.html", _detail_context(request, incident, item_form=form))


def _count(incident, *, actor, count_from_observations, measure, count, source_detail):
    if count_from_observations:
        return obligations.count_affected_decisions(incident, actor=actor)
    return obligations.enter_affected_count(incident, actor=actor, measure=measure, count=count,
                                            source_detail=source_detail)


# kind -> (form, the service the API calls too, what the success message says)
# The action item form shares the incident page with the timeline form (both ask for a kind): its own ids.
ITEM_IDS = "id_item_%s"

OBLIGATION_FORMS = {
    "count": (ImpactCountForm, _count, "Impact count recorded."),
    "remediation": (RemediationForm, obligations.add_remediation, "Remediation recorded."),
    "notification": (NotificationForm, obligations.add_notification, "Regulatory notification recorded."),
    "ask": (AskForm, obligations.add_incident_ask, "Ask to the committee recorded."),
}
OBLIGATION_INITIAL = {"notification": {"due_at": None}}


@login_required
@require_POST
def obligation_add(request, pk, kind):
    """Records an impact count, remediation, regulatory notification or committee ask from the incident page."""
    if kind not in OBLIGATION_FORMS:
        raise Http404("No such record.")
    incident = _incident_or_404(request.user, pk)
    deny_unless(request.user, "incident.edit", incident)
    form_class, call, success = cast(tuple[Any, Any, str], OBLIGATION_FORMS[kind])
    # Four forms share the incident page with the timeline form: each kind's ids carry its name, so none repeats.
    form = form_class(request.POST, auto_id=f"id_{kind}_%s")
    if form.is_valid():
        with refusal_shown(request, form=form) as refused:
            call(incident, actor=request.user, **form.cleaned_data)
        if not refused:
            say(request, messages.SUCCESS, success, place="obligations")
            return redirect_to_place(reverse("postmortems:incident_detail", args=[pk]), "obligations")
    return render(request, "postmortems/incident_detail.html",
                  _detail_context(request, incident, **{f"{kind}_form": form}), status=400)


def _item_or_404(user, pk, item_pk) -> ActionItem:
    try:
        return selectors.action_item_page(user, pk, item_pk)
    except (Incident.DoesNotExist, ActionItem.DoesNotExist):
        raise Http404("No such action item.") from None


@login_required
@require_http_methods(["GET", "POST"])
def action_item(request, pk, item_pk):
    item = _item_or_404(request.user, pk, item_pk)
    deny_unless(request.user, "incident.view", item)
    can_edit = can(request.user, "action_item.edit", item)
    form = ActionItemUpdateForm(initial={name: getattr(item, name) for name in (
        "title", "kind", "owner", "due_date", "priority", "status")})
    policy_form = PolicyChangeForm(initial={"tier": _tier_of(item), "blocking": True})
    if request.method == "POST":
        deny_unless(request.user, "action_item.edit", item)
        if "propose" in request.POST:
            policy_form = PolicyChangeForm(request.POST)
            if policy_form.is_valid():
                data = policy_form.cleaned_data
                with refusal_shown(request, form=policy_form, adapt=field_without("payload.")) as refused:
                    services.propose_policy_change_for_action_item(
                        item, actor=request.user, tier=data["tier"], operation=data["operation"],
                        payload=policy_form.payload(), rationale=data["rationale"])
                if not refused:
                    messages.success(request, "Policy change proposed. It takes effect when a second person "
                                              "approves it.")
                    return redirect(item)
        else:
            form = ActionItemUpdateForm(request.POST)
            if form.is_valid():
                with refusal_shown(request, form=form) as refused:
                    services.update_action_item(item, actor=request.user, **form.cleaned_data)
                if not refused:
                    messages.success(request, "Action item updated.")
                    return redirect(item)
    return render(request, "postmortems/action_item.html", {
        "item": item, "incident": item.incident, "form": form, "policy_form": policy_form, "can_edit": can_edit,
        "can_propose": can_edit and can(request.user, "policy.propose") and (
            item.policy_change is None or item.policy_change.status in ("REJECTED", "WITHDRAWN")),
    })


def _tier_of(item: ActionItem) -> str:
    launch = item.incident.launch
    return launch.version.model.risk_tier if launch is not None else "TIER_1"


# --- postmortems --------------------------------------------------------------------------------------

def _postmortem_or_none(user, pk):
    """(incident, postmortem or None); 404 when the incident is not visible."""
    try:
        postmortem = selectors.postmortem_page(user, pk)
    except Incident.DoesNotExist:
        raise Http404("No such incident.") from None
    except Postmortem.DoesNotExist:
        return _incident_or_404(user, pk), None
    return postmortem.incident, postmortem


def _postmortem_context(request, incident, postmortem, **forms) -> dict:
    user = request.user
    context = {"incident": incident, "postmortem": postmortem,
               "can_edit": can(user, "postmortem.edit", incident)}
    if postmortem is None:
        return context
    reviews = list(postmortem.reviews.all())
    current = [r for r in reviews if r.round == postmortem.review_round]
    already = any(r.reviewer_id == user.pk for r in current)
    can_review = (postmortem.status == PostmortemStatus.IN_REVIEW and postmortem.author_id != user.pk
                  and not already and can(user, "postmortem.review", incident))
    findings = selectors.blameless_findings(postmortem)
    context.update({
        "sections": [(name, label, text, findings[name]) for name, label, text in postmortem.sections],
        "finding_count": sum(len(f) for f in findings.values()),
        "current_reviews": current,
        "earlier_reviews": [r for r in reviews if r.round != postmortem.review_round],
        "amendments": postmortem.amendments.all(),
        "can_review": can_review,
        "review_form": forms.get("review_form") or ReviewForm(roles=roles_of(user)),
        "amend_form": forms.get("amend_form") or AmendForm(),
        "is_author": postmortem.author_id == user.pk,
    })
    return context


@login_required
@require_http_methods(["GET", "POST"])
def postmortem(request, pk):
    """GET shows the document (with the blameless findings reviewers need); POST starts the draft."""
    incident, document = _postmortem_or_none(request.user, pk)
    deny_unless(request.user, "incident.view", incident)
    if request.method == "POST":
        deny_unless(request.user, "postmortem.edit", incident)
        with refusal_shown(request) as refused:
            services.start_postmortem(incident, actor=request.user)
        if refused:
            return redirect(incident)
        return redirect("postmortems:postmortem_edit", pk=pk)
    return render(request, "postmortems/postmortem.html", _postmortem_context(request, incident, document))


def _findings_by_field(texts: dict) -> dict:
    names = selectors.known_person_names()
    return {name: check_text(text or "", known_names=names) for name, text in texts.items()}


@login_required
@require_http_methods(["GET", "POST"])
def postmortem_edit(request, pk):
    incident, document = _postmortem_or_none(request.user, pk)
    deny_unless(request.user, "postmortem.edit", incident)
    if document is None:
        return redirect("postmortems:postmortem", pk=pk)
    if document.status == PostmortemStatus.PUBLISHED:
        messages.info(request, "This postmortem is published; change it through an amendment.")
        return redirect("postmortems:postmortem", pk=pk)
    check_url = reverse("postmortems:postmortem_check", args=[pk])
    form = PostmortemForm(request.POST or None, check_url=check_url,
                          initial={name: getattr(document, name) for name in NARRATIVE_FIELDS})
    if request.method == "POST" and form.is_valid():
        with refusal_shown(request, form=form) as refused:
            document = services.edit_postmortem(document, actor=request.user, **form.cleaned_data)
            if "submit" in request.POST:
                services.submit_postmortem(document, actor=request.user)
        if not refused:
            if "submit" in request.POST:
                messages.success(request, "Submitted for review.")
                return redirect("postmortems:postmortem", pk=pk)
            messages.success(request, "Draft saved.")
            return redirect("postmortems:postmortem_edit", pk=pk)
    texts = {name: (form[name].value() or "") for name in NARRATIVE_FIELDS}
    return render(request, "postmortems/postmortem_edit.html", {
        "incident": incident, "postmortem": document, "form": form, "findings": _findings_by_field(texts),
        "texts": texts,
    })


@login_required
@require_POST
def postmortem_check(request, pk):
    """The live blameless check (htmx): findings for the one section named in ``field``."""
    incident, document = _postmortem_or_none(request.user, pk)
    deny_unless(request.user, "postmortem.edit", incident)
    field = request.POST.get("field")
    if field not in NARRATIVE_FIELDS:
        return HttpResponse("", status=400)
    text = request.POST.get(field, "")
    findings = _findings_by_field({field: text})[field]
    return render(request, "postmortems/_findings.html", {"findings": findings, "checked": bool(text.strip())})


def _postmortem_step(request, pk, step, success: str):
    """Submit or publish: the same checks around a different service call."""
    incident, document = _postmortem_or_none(request.user, pk)
    deny_unless(request.user, "postmortem.edit", incident)
    if document is None:
        raise Http404("No postmortem yet.")
    with refusal_shown(request) as refused:
        step(document, actor=request.user)
    if not refused:
        messages.success(request, success)
    return redirect("postmortems:postmortem", pk=pk)


@login_required
@require_POST
def postmortem_submit(request, pk):
    return _postmortem_step(request, pk, services.submit_postmortem, "Submitted for review.")


@login_required
@require_POST
def postmortem_review(request, pk):
    incident, document = _postmortem_or_none(request.user, pk)
    deny_unless(request.user, "postmortem.review", incident)
    if document is None:
        raise Http404("No postmortem yet.")
    form = ReviewForm(request.POST, roles=roles_of(request.user))
    if form.is_valid():
        with refusal_shown(request, form=form) as refused:
            services.review_postmortem(document, actor=request.user, **form.cleaned_data)
        if not refused:
            messages.success(request, "Review recorded.")
            return redirect("postmortems:postmortem", pk=pk)
    return render(request, "postmortems/postmortem.html",
                  _postmortem_context(request, incident, document, review_form=form))


@login_required
@require_POST
def postmortem_publish(request, pk):
    return _postmortem_step(request, pk, services.publish_postmortem, "Postmortem published.")


@login_required
@require_POST
def postmortem_amend(request, pk):
    incident, document = _postmortem_or_none(request.user, pk)
    deny_unless(request.user, "postmortem.edit", incident)
    if document is None:
        raise Http404("No postmortem yet.")
    form = AmendForm(request.POST)
    if form.is_valid():
        with refusal_shown(request, form=form) as refused:
            services.amend_published_postmortem(document, actor=request.user, **form.cleaned_data)
        if not refused:
            messages.success(request, "Amendment recorded.")
            return redirect("postmortems:postmortem", pk=pk)
    return render(request, "postmortems/postmortem.html",
                  _postmortem_context(request, incident, document, amend_form=form))


@login_required
def postmortem_export(request, pk, fmt):
    try:
        document = selectors.export_bundle(request.user, pk)
    except (Incident.DoesNotExist, Postmortem.DoesNotExist):
        raise Http404("No such postmortem.") from None
    deny_unless(request.user, "incident.view", document.incident)
    name = f"incident-{pk}-postmortem"
    if fmt == "md":
        response = HttpResponse(exports.as_markdown(document), content_type="text/markdown; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.md"'
    else:
        response = HttpResponse(json.dumps(exports.as_json(document), indent=2, ensure_ascii=False),
                                content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.json"'
    return response


# --- follow-through -----------------------------------------------------------------------------------

@login_required
def insights(request):
    deny_unless(request.user, "incident.view")
    data = selectors.follow_through(request.user)
    return render(request, "postmortems/insights.html", {
        **data,
        "trend_svg": charts.duration_trend_svg(data["ttd"], data["ttr"]),
        "categories_svg": charts.factor_categories_svg(data["categories"]),
    })
