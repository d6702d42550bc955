"""The validator's pages: a model's model risk (materiality, the is-a-model decision, validations, revalidation
needs, findings, waivers), one validation with its findings, one finding with who may clear it, and the queue of
work across models. Views parse and call ``services``; every read is a selector."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from governance.inventory import services as inventory
from governance.inventory.materiality import REQUIREMENTS, Materiality
from governance.inventory.models import MLModel
from governance.kernel import clock, visibility
from governance.kernel.models import User
from governance.kernel.permissions import can
from governance.kernel.reauth import sso_proof
from governance.kernel.web import deny_unless, reauth_context, redirect_to_place, refusal_shown, say
from governance.validation import selectors, services
from governance.validation.forms import (
    CODE_LABELS,
    CompleteValidationForm,
    DelegateForm,
    DismissNeedForm,
    FindingForm,
    GateWaiverForm,
    IsModelForm,
    MaterialityForm,
    RemediateForm,
    ReopenForm,
    RetestForm,
    RevokeWaiverForm,
    StartValidationForm,
)
from governance.validation.models import (
    Finding,
    FindingStatus,
    GateWaiver,
    RevalidationNeed,
    ScopeArea,
    Validation,
    ValidationStatus,
)

PER_PAGE = 20


class Request(HttpRequest):
    """A request past ``login_required``: its user is a person."""

    user: User


def _model(slug: str) -> MLModel:
    return get_object_or_404(MLModel.objects.select_related("owner", "materiality_set_by", "is_model_decided_by"),
                             slug=slug)


def _validation(validation_id: int) -> Validation:
    try:
        return selectors.validation_detail(validation_id)
    except Validation.DoesNotExist:
        raise Http404("No such validation.") from None


def _finding(finding_id: int) -> Finding:
    try:
        return selectors.finding_detail(finding_id)
    except Finding.DoesNotExist:
        raise Http404("No such finding.") from None


def _shown_findings(request: Request, findings: list[Finding]) -> list[Finding]:
    """Why an incident re-opened a finding is that incident's content: shown only to who may see the incident."""
    hidden = (visibility.hidden_incident_ids(request.user) if any(f.source_incident_id for f in findings)
              else set())
    for finding in findings:
        finding.shown_reopen_reason = visibility.redact(  # type: ignore[attr-defined]  # read by the templates
            finding.reopen_reason, finding.source_incident_id, hidden)
    return findings


# --- The queue --------------------------------------------------------------------------------------------------

@login_required
def validation_list(request: Request) -> HttpResponse:
    deny_unless(request.user, "validation.view")
    pages: dict[str, Any] = {name: Paginator(qs, PER_PAGE).get_page(request.GET.get(name)) for name, qs in (
        ("needs", selectors.open_needs_queue()), ("findings", selectors.open_findings_queue()),
        ("open", selectors.validations_queue()), ("signed", selectors.recent_validations()))}
    return render(request, "validation/validation_list.html", {
        "pages": pages, "findings": _shown_findings(request, list(pages["findings"].object_list)), "today": clock.today(),
        "can_dismiss": can(request.user, "validation.perform")})


@login_required
@require_POST
def need_dismiss(request: Request, need_id: int) -> HttpResponse:
    """Model Risk dismisses a revalidation need from the queue or the model's page, and returns there."""
    need = get_object_or_404(RevalidationNeed.objects.select_related("model"), pk=need_id)
    deny_unless(request.user, "validation.perform", need.model)
    form = DismissNeedForm(request.POST)
    back = (reverse("validation:validation_list") if request.POST.get("back") == "queue"
            else _risk_url(need.model))
    if not form.is_valid():
        say(request, messages.ERROR, "Give the reason the revalidation need is dismissed.", place="needs")
        return redirect_to_place(back, "needs")
    with refusal_shown(request, place="needs") as refused:
        services.dismiss_revalidation_need(need, actor=request.user, reason=form.cleaned_data["reason"])
    if not refused:
        say(request, messages.SUCCESS, f"Revalidation need dismissed: {need.get_trigger_display().lower()}.",
            place="needs")
    return redirect_to_place(back, "needs")


# --- A model's model risk -----------------------------------------------------------------------------------------

@login_required
def model_risk(request: Request, slug: str) -> HttpResponse:
    model = _model(slug)
    deny_unless(request.user, "validation.view", model)
    requirement = REQUIREMENTS[Materiality(model.materiality)] if model.materiality else None
    validations = Paginator(selectors.model_validations(model), PER_PAGE).get_page(request.GET.get("validations"))
    needs = Paginator(selectors.model_open_needs(model), PER_PAGE).get_page(request.GET.get("needs"))
    findings = Paginator(selectors.model_open_findings(model), PER_PAGE).get_page(request.GET.get("findings"))
    reasons = selectors.gate_reasons(model.slug)
    return render(request, "validation/model_risk.html", {
        "model": model, "requirement": requirement,
        "required_scope": [ScopeArea(a).label for a in requirement.scope] if requirement else [],
        "validations": validations, "needs": needs, "findings": findings,
        "shown_findings": _shown_findings(request, list(findings)),
        "waivers": list(selectors.model_waivers(model)), "reasons": reasons, "today": clock.today(),
        "waivable": [r for r in reasons if r["code"] in CODE_LABELS],
        "can_validate": can(request.user, "validation.perform", model),
        "can_classify": can(request.user, "model.classify", model),
        "can_waive": can(request.user, "validation.waive", model),
        "can_dismiss": can(request.user, "validation.perform", model),
    })


@login_required
@require_http_methods(["GET", "POST"])
def materiality_set(request: Request, slug: str) -> HttpResponse:
    model = _model(slug)
    deny_unless(request.user, "model.classify", model)
    form = MaterialityForm(request.POST or None, sso=request.user.uses_sso, initial={
        "exposure": model.materiality_exposure, "purpose": model.materiality_purpose,
        "reason": model.materiality_reason})
    if request.method == "POST" and form.is_valid():
        with refusal_shown(request, form=form) as refused:
            data = form.cleaned_data
            model = inventory.set_materiality(model, actor=request.user, exposure=data["exposure"],
                                              purpose=data["purpose"], reason=data["reason"],
                                              password=data.get("password"), sso_proof=sso_proof(request),
                                              request=request)
        if not refused:
            say(request, messages.SUCCESS, f"Materiality set: {model.get_materiality_display()}.", place="materiality")
            return redirect_to_place(_risk_url(model), "materiality")
    return render(request, "validation/model_form.html", {
        "form": form, "model": model, "title": f"Materiality of {model.name}", "submit": "Set materiality",
        "help": "Materiality is exposure × purpose. It sets the scope a validation must cover, how long a "
                "validation stays current and the laxest risk tier the model may carry."},
        status=400 if form.is_bound else 200)


@login_required
@require_http_methods(["GET", "POST"])
def is_model_decide(request: Request, slug: str) -> HttpResponse:
    model = _model(slug)
    deny_unless(request.user, "model.classify", model)
    initial = {"reason": model.is_model_reason}
    if model.is_model is not None:
        initial["is_model"] = "yes" if model.is_model else "no"
    form = IsModelForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        with refusal_shown(request, form=form) as refused:
            inventory.decide_is_model(model, actor=request.user, **form.cleaned_data)
        if not refused:
            say(request, messages.SUCCESS, "Decision recorded.", place="is-model")
            return redirect_to_place(_risk_url(model), "is-model")
    return render(request, "validation/model_form.html", {
        "form": form, "model": model, "title": f"Is {model.name} a model?", "submit": "Record the decision",
        "help": "A model applies statistical, economic or mathematical theory to turn inputs into estimates used "
                "for decisions (SR 11-7 section III). The decision and its reason are kept in the inventory."},
        status=400 if form.is_bound else 200)


@login_required
@require_http_methods(["GET", "POST"])
def waive(request: Request, slug: str) -> HttpResponse:
    model = _model(slug)
    deny_unless(request.user, "validation.waive", model)
    form = GateWaiverForm(request.POST or None, sso=request.user.uses_sso,
                          initial={"code": request.GET.get("code"),
                                   "expires_at": clock.now() + timedelta(days=30)})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with refusal_shown(request, form=form) as refused:
            services.waive_gate_reason(model, actor=request.user, code=data["code"], reason=data["reason"],
                                       expires_at=data["expires_at"], password=data.get("password"),
                                       sso_proof=sso_proof(request))
        if not refused:
            say(request, messages.SUCCESS, f"“{CODE_LABELS[data['code']]}” waived.", place="waivers")
            return redirect_to_place(_risk_url(model), "waivers")
    return render(request, "validation/waive_form.html", {"form": form, "model": model, **reauth_context(request)},
                  status=400 if form.is_bound else 200)


@login_required
@require_POST
def waiver_revoke(request: Request, slug: str, waiver_id: int) -> HttpResponse:
    waiver = get_object_or_404(GateWaiver.objects.select_related("model"), pk=waiver_id, model__slug=slug)
    deny_unless(request.user, "validation.waive", waiver.model)
    form = RevokeWaiverForm(request.POST)
    if not form.is_valid():
        say(request, messages.ERROR, "Give the reason the waiver is revoked.", place="waivers")
    else:
        with refusal_shown(request, place="waivers") as refused:
            services.revoke_gate_waiver(waiver, actor=request.user, reason=form.cleaned_data["reason"])
        if not refused:
            say(request, messages.SUCCESS, "Waiver revoked.", place="waivers")
    return redirect_to_place(_risk_url(waiver.model), "waivers")


def _risk_url(model: MLModel) -> str:
    return reverse("validation:model_risk", args=[model.slug])


# --- Validations -----------------------------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def validation_start(request: Request, slug: str) -> HttpResponse:
    model = _model(slug)
    deny_unless(request.user, "validation.perform", model)
    versions = list(model.versions.order_by("-created_at", "-pk").values_list("pk", "version")[:50])
    requirement = REQUIREMENTS[Materiality(model.materiality)] if model.materiality else None
    form = StartValidationForm(request.POST or None, versions=[(str(pk), v) for pk, v in versions],
                               initial={"scope": list(requirement.scope) if requirement else []})
    if request.method == "POST" and form.is_valid():
        version_pk = form.cleaned_data["version"]
        version = model.versions.filter(pk=version_pk).first() if version_pk else None
        with refusal_shown(request, form=form) as refused:
            validation = services.start_validation(model, actor=request.user, scope=form.cleaned_data["scope"],
                                                   version=version)
        if not refused:
            messages.success(request, "Validation opened. Record its findings, then sign it.")
            return redirect(validation)
    return render(request, "validation/validation_start.html", {"form": form, "model": model,
                                                                 "requirement": requirement},
                  status=400 if form.is_bound else 200)


@login_required
def validation_detail(request: Request, validation_id: int) -> HttpResponse:
    validation = _validation(validation_id)
    deny_unless(request.user, "validation.view", validation.model)
    is_validator = validation.validator_id == request.user.pk and validation.status == ValidationStatus.IN_PROGRESS
    return render(request, "validation/validation_detail.html", {
        "validation": validation, "model": validation.model,
        "scope": [ScopeArea(a).label for a in validation.scope],
        "findings": _shown_findings(request, list(validation.findings.all())),
        "needs": list(validation.resolved_needs.all()), "today": clock.today(),
        "may_record": is_validator and can(request.user, "validation.perform", validation.model),
    })


@login_required
@require_http_methods(["GET", "POST"])
def finding_add(request: Request, validation_id: int) -> HttpResponse:
    validation = _validation(validation_id)
    deny_unless(request.user, "validation.perform", validation.model)
    form = FindingForm(request.POST or None, initial={"due_date": clock.today() + timedelta(days=30)})
    if request.method == "POST" and form.is_valid():
        with refusal_shown(request, form=form) as refused:
            finding = services.add_finding(validation, actor=request.user, **form.cleaned_data)
        if not refused:
            say(request, messages.SUCCESS, f"Finding “{finding.title}” recorded.", place="findings")
            return redirect_to_place(validation.get_absolute_url(), "findings")
    return render(request, "validation/finding_form.html", {"form": form, "validation": validation,
                                                             "model": validation.model},
                  status=400 if form.is_bound else 200)


@login_required
@require_http_methods(["GET", "POST"])
def validation_complete(request: Request, validation_id: int) -> HttpResponse:
    validation = _validation(validation_id)
    deny_unless(request.user, "validation.perform", validation.model)
    form = CompleteValidationForm(request.POST or None, request.FILES or None,
                                  sso=request.user.uses_sso)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with refusal_shown(request, form=form) as refused:
            services.complete_validation(validation, actor=request.user, outcome=data["outcome"],
                                         summary=data["summary"], report=data["report"],
                                         password=data.get("password"), sso_proof=sso_proof(request))
        if not refused:
            messages.success(request, "Validation signed.")
            return redirect(validation)
    open_findings = sum(1 for f in validation.findings.all() if f.status != FindingStatus.CLOSED)
    return render(request, "validation/validation_complete.html", {
        "form": form, "validation": validation, "model": validation.model, "open_findings": open_findings,
        **reauth_context(request)}, status=400 if form.is_bound else 200)


# --- Findings --------------------------------------------------------------------------------------------------------

@login_required
def finding_detail(request: Request, finding_id: int) -> HttpResponse:
    finding = _finding(finding_id)
    deny_unless(request.user, "validation.view", finding.model)
    _shown_findings(request, [finding])
    user = request.user
    is_validator = finding.validation.validator_id == user.pk
    context: dict[str, Any] = {
        "finding": finding, "model": finding.model, "validation": finding.validation, "today": clock.today(),
        "may_remediate": services.may_remediate(finding, user) and finding.status == FindingStatus.OPEN,
        "may_delegate": finding.owner_id == user.pk and finding.status != FindingStatus.CLOSED,
        "may_retest": is_validator and finding.status == FindingStatus.REMEDIATED
                      and can(user, "validation.perform", finding.model),
        "may_reopen": finding.status != FindingStatus.OPEN and can(user, "validation.perform", finding.model),
    }
    context.update(remediate_form=RemediateForm(prefix="r"), retest_form=RetestForm(prefix="t"),
                   delegate_form=DelegateForm(prefix="d", initial={"delegate": finding.delegate_id}),
                   reopen_form=ReopenForm(prefix="o", initial={"due_date": clock.today() + timedelta(days=30)}))
    return render(request, "validation/finding_detail.html", context)


def _finding_post(request: Request, finding_id: int, form_class: Any, prefix: str, place: str,
                  call: Any, done: str) -> HttpResponse:
    finding = _finding(finding_id)
    deny_unless(request.user, "validation.view", finding.model)
    form = form_class(request.POST, prefix=prefix)
    if not form.is_valid():
        first = next(iter(form.errors.items()))
        say(request, messages.ERROR, f"{form.fields[first[0]].label or first[0]}: {first[1][0]}"
            if first[0] in form.fields else first[1][0], place=place)
    else:
        with refusal_shown(request, place=place) as refused:
            call(finding, form.cleaned_data)
        if not refused:
            say(request, messages.SUCCESS, done, place=place)
    return redirect_to_place(finding.get_absolute_url(), place)


@login_required
@require_POST
def finding_remediate(request: Request, finding_id: int) -> HttpResponse:
    return _finding_post(request, finding_id, RemediateForm, "r", "remediate",
                         lambda f, d: services.remediate_finding(f, actor=request.user, evidence=d["evidence"]),
                         "Remediation recorded; the validator re-tests it next.")


@login_required
@require_POST
def finding_retest(request: Request, finding_id: int) -> HttpResponse:
    return _finding_post(request, finding_id, RetestForm, "t", "retest",
                         lambda f, d: services.retest_finding(f, actor=request.user, passed=d["passed"],
                                                              note=d["note"]),
                         "Re-test recorded.")


@login_required
@require_POST
def finding_delegate(request: Request, finding_id: int) -> HttpResponse:
    return _finding_post(request, finding_id, DelegateForm, "d", "delegate",
                         lambda f, d: services.delegate_finding(f, actor=request.user, delegate=d["delegate"]),
                         "Delegate recorded.")


@login_required
@require_POST
def finding_reopen(request: Request, finding_id: int) -> HttpResponse:
    return _finding_post(request, finding_id, ReopenForm, "o", "reopen",
                         lambda f, d: services.reopen_finding(f, actor=request.user, reason=d["reason"],
                                                              due_date=d["due_date"]),
                         "Finding re-opened.")
