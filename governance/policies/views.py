"""Policy pages: the rules per tier, their history, and changes waiting for a second person."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Case, When
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from governance.inventory.models import RiskTier
from governance.kernel import formatting as fmt
from governance.kernel import visibility
from governance.kernel.permissions import can
from governance.kernel.reauth import sso_proof
from governance.kernel.roles import Role
from governance.kernel.web import (
    deny_unless,
    field_without,
    reauth_context,
    redirect_to_place,
    refusal_shown,
    say,
)
from governance.policies import services as policies
from governance.policies.defaults import CATEGORIES
from governance.policies.models import PolicyChange, TierPolicy

HISTORY_PER_PAGE = 20


class ChecklistItemChangeForm(forms.Form):
    key = forms.SlugField(max_length=80, help_text="Short identifier, e.g. vendor_change_notice.")
    title = forms.CharField(max_length=200)
    category = forms.ChoiceField(choices=list(CATEGORIES.items()))
    kind = forms.ChoiceField(choices=[("MANUAL", "Manual attestation"), ("AUTOMATIC", "Automatic rule")])
    rule = forms.CharField(required=False, max_length=200, help_text="Automatic items only, e.g. psi.max <= 0.2")
    blocking = forms.BooleanField(required=False, initial=True)
    guidance = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="Why this item matters.")
    rationale = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Why change the policy")


class RolesChangeForm(forms.Form):
    required_roles = forms.MultipleChoiceField(choices=[(r, Role(r).label) for r in Role.values if r != "VIEWER"],
                                               widget=forms.CheckboxSelectMultiple)
    rationale = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Why change the policy")


class ThresholdsChangeForm(forms.Form):
    air_floor = forms.FloatField(label="Adverse-impact ratio floor")
    eo_max_diff = forms.FloatField(label="Equal-opportunity difference limit")
    psi_act = forms.FloatField(label="PSI act level")
    psi_watch = forms.FloatField(label="PSI watch level")
    min_group_count = forms.IntegerField(label="Minimum rows per group")
    null_rate_tolerance = forms.FloatField(label="Null-rate change tolerance")
    rationale = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Why change the policy")


FORMS = {"ADD_CHECKLIST_ITEM": ChecklistItemChangeForm, "SET_REQUIRED_ROLES": RolesChangeForm,
         "SET_THRESHOLDS": ThresholdsChangeForm}


@login_required
def policy_list(request):
    deny_unless(request.user, "policy.view")
    policies.ensure_default_policies()
    rows = TierPolicy.objects.select_related("current").order_by("tier")
    pending = PolicyChange.objects.filter(status=PolicyChange.Status.PENDING).select_related("policy", "proposed_by")
    return render(request, "governance/policy_list.html", {"policies": rows, "pending": pending})


@login_required
def policy_detail(request, tier):
    if tier not in RiskTier.values:
        from django.http import Http404

        raise Http404("No such tier.")
    policy = policies.get_policy(tier)
    # Ten years of a tier's history is read a page at a time: pending changes (what awaits a decision) first.
    version_page = Paginator(policy.versions.select_related("change__proposed_by", "change__decided_by")
                             .order_by("-number"), HISTORY_PER_PAGE).get_page(request.GET.get("versions"))
    pending_first = Case(When(status=PolicyChange.Status.PENDING, then=0), default=1)
    change_page = Paginator(policy.changes.select_related("proposed_by", "decided_by")
                            .order_by(pending_first, "-proposed_at", "-pk"), HISTORY_PER_PAGE
                            ).get_page(request.GET.get("changes"))
    changes = list(change_page)
    hidden = visibility.hidden_incident_ids(request.user) if any(c.source_incident_id for c in changes) else set()
    for change in changes:
        # Why an incident's action item proposed a change is that incident's content; what the policy says is not.
        change.shown_rationale = visibility.redact(change.rationale, change.source_incident_id, hidden)
    return render(request, "governance/policy_detail.html", {
        "policy": policy, "content": policy.current.content,  # type: ignore[union-attr]  # a tier policy always has a version in force
        "versions": list(version_page), "changes": changes, "version_page": version_page, "change_page": change_page,
        "categories": CATEGORIES, "can_propose": can(request.user, "policy.propose"),
        "can_approve": can(request.user, "policy.approve"), **reauth_context(request),
    })


@login_required
@require_http_methods(["GET", "POST"])
def propose(request, tier, operation):
    deny_unless(request.user, "policy.propose")
    policy = get_object_or_404(TierPolicy, tier=tier)
    form_class = FORMS.get(operation)
    if form_class is None:
        from django.http import Http404

        raise Http404("Unknown change.")
    initial = {}
    if operation == "SET_THRESHOLDS":
        initial = dict(policy.current.thresholds)  # type: ignore[union-attr]  # a tier policy always has a version in force
    elif operation == "SET_REQUIRED_ROLES":
        initial = {"required_roles": policy.current.required_roles}  # type: ignore[union-attr]  # a tier policy always has a version in force
    form = form_class(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        rationale = data.pop("rationale")
        payload = data if operation != "SET_REQUIRED_ROLES" else {"required_roles": data["required_roles"]}
        with refusal_shown(request, form=form, adapt=field_without("payload.")) as refused:
            policies.propose_change(policy, actor=request.user, operation=operation, payload=payload,
                                    rationale=rationale)
        if not refused:
            say(request, messages.SUCCESS, "Change proposed. It takes effect when a second person from Compliance "
                                           "or Model Risk approves it.", place="changes")
            return redirect_to_place(reverse("governance:policy_detail", args=[tier]), "changes")
    return render(request, "governance/policy_propose.html", {
        "form": form, "policy": policy, "operation": PolicyChange.Operation(operation).label,
    })


@login_required
@require_POST
def decide(request, change_id):
    change = get_object_or_404(PolicyChange.objects.select_related("policy"), pk=change_id)
    note = request.POST.get("note", "")
    place = f"change-{change.pk}"
    with refusal_shown(request, place=place):
        if request.POST.get("decision") == "approve":
            version = policies.approve_change(change, actor=request.user, note=note,
                                              password=request.POST.get("password"), sso_proof=sso_proof(request),
                                              request=request)
            say(request, messages.SUCCESS, f"Approved. The {fmt.tier(change.policy.tier, short=True)} policy is now "
                                           f"version {version.number}.", place=place)
        else:
            policies.reject_change(change, actor=request.user, note=note)
            say(request, messages.SUCCESS, "Change rejected.", place=place)
    return redirect_to_place(reverse("governance:policy_detail", args=[change.policy.tier]), place)
