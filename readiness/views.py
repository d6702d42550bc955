"""The launch pages: parse the request, call a readiness service or selector, render or redirect. No
rule is decided here. May not import above the readiness layer.
"""

from collections import OrderedDict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from governance.kernel.permissions import can, roles_of
from governance.kernel.reauth import sso_proof
from governance.kernel.web import deny_unless, reauth_context, redirect_to_place, refusal_shown, say
from governance.policies.defaults import CATEGORIES
from governance.validation.selectors import gate_reasons as model_risk_reasons

from . import pending, selectors, services
from .forms import (
    AttestForm,
    LaunchCreateForm,
    LaunchFilterForm,
    MemoForm,
    PendingDecisionForm,
    ReasonForm,
    SignOffForm,
    WaiverForm,
)
from .models import (
    ChecklistItem,
    ItemKind,
    ItemSource,
    LaunchRequest,
    LaunchStatus,
    PendingDecision,
    PendingStatus,
)
from .rollout_context import rollout_context

# A bank's history holds tens of thousands of launches: the list shows them a page at a time.
LAUNCHES_PER_PAGE = 50


def _launch_or_404(pk):
    try:
        return selectors.launch_detail(pk)
    except LaunchRequest.DoesNotExist:
        raise Http404("No such launch.") from None


@login_required
def launch_list(request):
    form = LaunchFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    launches: QuerySet[LaunchRequest] | list[LaunchRequest]
    launches = selectors.launch_list(status=filters.get("status"), tier=filters.get("tier"), q=filters.get("q"))
    if filters.get("mine"):
        # only launches in review can await a signature: filter there before the per-person check
        launches = selectors.awaiting_signature(request.user, launches.filter(status=LaunchStatus.IN_REVIEW))
    page = Paginator(launches, LAUNCHES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "readiness/launch_list.html", {
        "form": form, "page": page, "launches": page.object_list, "can_create": can(request.user, "launch.create"),
    })


@login_required
@require_http_methods(["GET", "POST"])
def launch_create(request):
    deny_unless(request.user, "launch.create")
    initial = {}
    if request.GET.get("version", "").isdigit():
        initial["version"] = request.GET["version"]
    form = LaunchCreateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        with refusal_shown(request, form=form) as refused:
            launch = services.create_launch(form.cleaned_data["version"], actor=request.user,
                                            title=form.cleaned_data["title"], summary=form.cleaned_data["summary"])
        if not refused:
            messages.success(request, "Launch created. Complete the decision memo and the checklist, then send it "
                                      "for review.")
            return redirect(launch)
    return render(request, "readiness/launch_create.html", {"form": form})


@login_required
def launch_detail(request, pk):
    launch = _launch_or_404(pk)
    deny_unless(request.user, "launch.view", launch)
    now = timezone.now()
    items = list(launch.items.all())
    signoffs = list(launch.signoffs.all())
    gaps = services.approval_gaps(launch, signoffs=signoffs, items=items, now=now)
    groups: OrderedDict[str, list[ChecklistItem]] = OrderedDict()
    may_attest = launch.is_editable and can(request.user, "checklist.attest", launch)
    for item in items:
        item.ok = services.blocking_item_ok(item, now)
        item.may_attest = may_attest and item.kind == ItemKind.MANUAL and (
            item.source != ItemSource.CONDITION or services.can_confirm_condition(item, launch, request.user))
        item.valid_waiver = next((w for w in item.waivers.all() if w.is_valid(now)), None)
        groups.setdefault(CATEGORIES.get(item.category, item.category.title()), []).append(item)
    current = {s.role: s for s in signoffs if not s.stale}
    roles_table = [{"role": r, "signoff": current.get(r)} for r in launch.required_roles]
    evaluation = launch.latest_evaluations[0] if launch.latest_evaluations else None
    tool_calls, calls_total = selectors.tool_calls(launch.pk)
    context = {
        "launch": launch, "groups": groups, "items": items, "gaps": gaps, "roles_table": roles_table,
        "signoffs": signoffs, "stale_signoffs": [s for s in signoffs if s.stale],
        "evaluation": evaluation,
        "can_edit": launch.is_editable and can(request.user, "launch.edit", launch),
        "can_attest": may_attest,
        "can_waive": launch.is_editable and can(request.user, "checklist.waive", launch)
        and launch.author_id != request.user.pk,
        "can_sign": services.signing_refusal(launch, actor=request.user, signoffs=signoffs) is None,
        "is_author": launch.author_id == request.user.pk,
        # Conditions are outside the content hash, so attesting them stales nothing.
        "pending_manual": [i for i in items if i.kind == ItemKind.MANUAL and i.status == "PENDING"
                           and i.source != ItemSource.CONDITION],
        "audit_events": selectors.audit_trail(launch, request.user),
        "rollback_reason": selectors.rollback_reason(request.user, launch),
        # What the gate's model-risk check says of this model now (one query): the launch page says why it stops.
        "model_risk_reasons": model_risk_reasons(launch.version.model.slug, now=now),
        "tool_calls": tool_calls, "earlier_tool_calls": calls_total - len(tool_calls),
        "pending_decisions": [
            {"pending": p, "stale": p.content_hash != launch.content_hash,
             "may_decide": p.status == PendingStatus.PENDING and p.content_hash == launch.content_hash
             and p.role in roles_of(request.user) and launch.author_id != request.user.pk}
            for p in selectors.pending_decisions(launch.pk)[0]],
    }
    context.update(_rollout_context(request, launch, now))
    context.update(_evaluation_context(evaluation))
    return render(request, "readiness/launch_detail.html", context)


def _rollout_context(request, launch, now):
    """Filled in by the rollout views (stage bar, guardrails, controls)."""

    return rollout_context(request, launch, now)


def _evaluation_context(evaluation):
    from .evaluation_views import evaluation_context

    return evaluation_context(evaluation)


@login_required
@require_http_methods(["GET", "POST"])
def memo_edit(request, pk):
    launch = get_object_or_404(LaunchRequest.objects.select_related("version__model"), pk=pk)
    deny_unless(request.user, "launch.edit", launch)
    form = MemoForm(request.POST or None, instance=launch)
    if request.method == "POST" and form.is_valid():
        with refusal_shown(request, form=form) as refused:
            services.update_memo(launch, actor=request.user, **form.cleaned_data)
        if not refused:
            messages.success(request, "Decision memo saved.")
            return redirect(launch)
    return render(request, "readiness/memo_form.html", {"form": form, "launch": launch})


LAUNCH_ACTIONS = "launch-actions"


def post_action(request, pk, action, success, *, place: str = LAUNCH_ACTIONS):
    """Run a service on a launch from a button: its refusal becomes an error message beside the button (the
    page comes back scrolled to it), never a 500."""
    launch = get_object_or_404(LaunchRequest, pk=pk)
    with refusal_shown(request, place=place) as refused:
        result = action(launch)
    if not refused:
        say(request, messages.SUCCESS, success(result) if callable(success) else success, place=place)
    return redirect_to_place(launch.get_absolute_url(), place)


@login_required
@require_POST
def launch_submit(request, pk):
    return post_action(request, pk, lambda launch: services.submit_for_review(launch, actor=request.user),
                        "Sent for review; the signers have been notified.")


@login_required
@require_POST
def launch_withdraw(request, pk):
    form = ReasonForm(request.POST)
    reason = form.data.get("reason", "")
    return post_action(request, pk, lambda launch: services.withdraw(launch, actor=request.user, reason=reason),
                        "Launch withdrawn.")


@login_required
@require_POST
def ask_resign(request, pk):
    def message(asked: int) -> str:
        if not asked:
            return "Everyone whose signature is stale has already been asked to sign this content."
        return f"Asked {asked} {'person' if asked == 1 else 'people'} to sign again."

    return post_action(request, pk, lambda launch: services.ask_to_resign(launch, actor=request.user), message,
                       place="signoffs")


@login_required
@require_POST
def launch_revise(request, pk):
    return post_action(request, pk, lambda launch: services.revise(launch, actor=request.user),
                        "Back to draft. Address the rejection, then send it for review again.")


@login_required
@require_http_methods(["GET", "POST"])
def sign(request, pk):
    launch = _launch_or_404(pk)
    refusal = services.signing_refusal(launch, actor=request.user)
    if refusal is not None:
        say(request, messages.ERROR, refusal.message, place="signoffs")
        return redirect_to_place(launch.get_absolute_url(), "signoffs")
    signed = {s.role for s in launch.signoffs.all() if not s.stale}
    roles = [r for r in launch.required_roles if r in roles_of(request.user) and r not in signed]
    form = SignOffForm(request.POST or None, roles=roles, initial={"content_hash": launch.content_hash},
                       sso=request.user.uses_sso)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with refusal_shown(request, form=form) as refused:
            services.sign_off(launch, actor=request.user, role=data["role"], decision=data["decision"],
                              password=data.get("password"), sso_proof=sso_proof(request),
                              content_hash=data["content_hash"],
                              conditions=data["conditions"], dissent=data["dissent"], comment=data["comment"],
                              request=request)
        if not refused:
            launch.refresh_from_db()
            say(request, messages.SUCCESS, f"Signed. The launch is {launch.get_status_display().lower()}.",
                place="signoffs")
            return redirect_to_place(launch.get_absolute_url(), "signoffs")
    items = list(launch.items.all())
    return render(request, "readiness/sign_form.html", {
        "form": form, "launch": launch, "items": items, **reauth_context(request),
        "gaps": services.approval_gaps(launch, signoffs=list(launch.signoffs.all()), items=items),
    })


def _item_or_404(pk, item_id):
    return get_object_or_404(ChecklistItem.objects.select_related("launch__version__model"), pk=item_id,
                             launch_id=pk)


@login_required
@require_http_methods(["GET", "POST"])
def attest(request, pk, item_id):
    item = _item_or_404(pk, item_id)
    deny_unless(request.user, "checklist.attest", item.launch)
    form = AttestForm(request.POST or None, initial={"outcome": "PASS", "evidence_url": item.evidence_url,
                                                      "evidence_text": item.evidence_text})
    if request.method == "POST" and form.is_valid():
        with refusal_shown(request, form=form) as refused:
            services.attest_item(item, actor=request.user, **form.cleaned_data)
        if not refused:
            say(request, messages.SUCCESS, f"“{item.title}” recorded.", place=f"item-{item.pk}")
            return redirect_to_place(item.launch.get_absolute_url(), f"item-{item.pk}")
    return render(request, "readiness/attest_form.html", {"form": form, "item": item, "launch": item.launch})


@login_required
@require_http_methods(["GET", "POST"])
def waive(request, pk, item_id):
    item = _item_or_404(pk, item_id)
    deny_unless(request.user, "checklist.waive", item.launch)
    form = WaiverForm(request.POST or None, sso=request.user.uses_sso)
    if request.method == "POST" and form.is_valid():
        with refusal_shown(request, form=form) as refused:
            services.waive_item(item, actor=request.user, reason=form.cleaned_data["reason"],
                                expires_at=form.cleaned_data["expires_at"], password=form.cleaned_data.get("password"),
                                sso_proof=sso_proof(request), request=request)
        if not refused:
            say(request, messages.SUCCESS, f"“{item.title}” waived.", place=f"item-{item.pk}")
            return redirect_to_place(item.launch.get_absolute_url(), f"item-{item.pk}")
    return render(request, "readiness/waiver_form.html", {"form": form, "item": item, "launch": item.launch,
                                                          **reauth_context(request)})



@login_required
@require_POST
def decide_pending(request, pk, pending_id):
    launch = _launch_or_404(pk)
    deny_unless(request.user, "launch.view", launch)
    question = get_object_or_404(PendingDecision, pk=pending_id, launch=launch)
    form = PendingDecisionForm(request.POST)
    if not form.is_valid():
        say(request, messages.ERROR, "Choose allow or deny.", place="deploy-decisions")
        return redirect_to_place(launch.get_absolute_url(), "deploy-decisions")
    data = form.cleaned_data
    with refusal_shown(request, place="deploy-decisions") as refused:
        pending.decide(question, actor=request.user, allow=data["decision"] == "allow", comment=data["comment"],
                       password=data.get("password"), sso_proof=sso_proof(request), request=request)
    if not refused:
        say(request, messages.SUCCESS, "Decided. Every waiting deploy tool receives it on its next call.",
            place="deploy-decisions")
    return redirect_to_place(launch.get_absolute_url(), "deploy-decisions")
