"""Inventory pages: the model list, a model with its versions, and the forms that register and edit them."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from governance.inventory import selectors, services
from governance.inventory.forms import (
    FeatureForm,
    InventoryFilterForm,
    MLModelForm,
    ModelVersionForm,
    ProxyRiskAssessmentForm,
)
from governance.inventory.models import Feature, MLModel, ModelVersion
from governance.inventory.signals import model_page_context
from governance.kernel.permissions import can, require
from governance.kernel.reauth import sso_proof
from governance.kernel.web import deny_unless, reauth_context, refusal_shown

VERSIONS_PER_PAGE = 10
MODELS_PER_PAGE = 50


@login_required
def model_list(request):
    form = InventoryFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    models = selectors.inventory(
        tier=filters.get("tier"), owner=filters.get("owner"), unassessed=filters.get("unassessed"),
        q=filters.get("q"),
    )
    page = Paginator(models, MODELS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "governance/model_list.html", {
        "form": form, "models": list(page), "page": page, "can_create": can(request.user, "model.create"),
    })


@login_required
def model_detail(request, slug):
    try:
        model = selectors.model_detail(slug)
    except MLModel.DoesNotExist:
        raise Http404("No such model.") from None
    context: dict[str, Any] = {"launches": [], "live_launches": []}
    sections: list[dict[str, Any]] = []
    for _receiver, extra in model_page_context.send(sender=MLModel, model=model, user=request.user,
                                                    launch_page=request.GET.get("launches"), query=request.GET):
        answer: dict[str, Any] = dict(extra or {})  # type: ignore[arg-type]  # django-stubs types an answer as str; these are dicts
        sections += answer.pop("model_sections", [])
        context.update(answer)
    # Newest first, a page at a time: a model retrained weekly has hundreds of versions, each with its card.
    versions = Paginator(selectors.model_versions(model), VERSIONS_PER_PAGE).get_page(request.GET.get("versions"))
    return render(request, "governance/model_detail.html", {
        **context,
        "model_sections": sections,
        "model": model,
        "version_page": versions,
        "versions": versions.object_list,
        "can_launch": can(request.user, "launch.create", model),
        "can_edit": can(request.user, "model.edit", model),
        "can_assess": can(request.user, "feature.assess_proxy_risk", model),
    })


@login_required
@require_http_methods(["GET", "POST"])
def model_create(request):
    deny_unless(request.user, "model.create")
    form = MLModelForm(request.POST or None, initial={"owner": request.user})
    if request.method == "POST" and form.is_valid():
        with refusal_shown(request, form=form) as refused:
            model = services.create_model(actor=request.user, **form.cleaned_data)
        if not refused:
            messages.success(request, f"{model.name} added to the inventory.")
            return redirect(model)
    return render(request, "governance/model_form.html", {"form": form, "title": "Add a model"})


@login_required
@require_http_methods(["GET", "POST"])
def model_edit(request, slug):
    model = get_object_or_404(MLModel, slug=slug)
    deny_unless(request.user, "model.edit", model)
    form = MLModelForm(request.POST or None, instance=model, sso=bool(getattr(request.user, "uses_sso", False)))
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k not in ("slug", "password")}
        with refusal_shown(request, form=form) as refused:
            model = services.update_model(model, actor=request.user, password=form.cleaned_data.get("password"),
                                          sso_proof=sso_proof(request), request=request, **data)
        if not refused:
            messages.success(request, "Changes saved.")
            return redirect(model)
    return render(request, "governance/model_form.html", {"form": form, "title": f"Edit {model.name}",
                                                          "model": model, **reauth_context(request)})


@login_required
@require_http_methods(["GET", "POST"])
def version_create(request, slug):
    model = get_object_or_404(MLModel, slug=slug)
    deny_unless(request.user, "version.create", model)
    form = ModelVersionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with refusal_shown(request, form=form) as refused:
            version = services.create_version(model, actor=request.user, **form.cleaned_data)
        if not refused:
            messages.success(request, f"Version {version.version} registered. Add its features below.")
            return redirect("governance:feature_add", slug=model.slug, version=version.version)
    return render(request, "governance/version_form.html", {"form": form, "model": model})


@login_required
@require_http_methods(["GET", "POST"])
def feature_add(request, slug, version):
    mv = get_object_or_404(ModelVersion.objects.select_related("model"), model__slug=slug, version=version)
    deny_unless(request.user, "feature.edit", mv)
    form = FeatureForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with refusal_shown(request, form=form) as refused:
            services.add_feature(mv, actor=request.user, **form.cleaned_data)
        if not refused:
            messages.success(request, f"Feature {form.cleaned_data['name']} added.")
            if "add_another" in request.POST:
                return redirect("governance:feature_add", slug=slug, version=version)
            return redirect(mv.model)
    return render(request, "governance/feature_form.html", {"form": form, "version": mv, "model": mv.model})


@login_required
@require_http_methods(["GET", "POST"])
def feature_edit(request, slug, version, feature_id):
    feature = get_object_or_404(
        Feature.objects.select_related("version__model"), pk=feature_id, version__model__slug=slug,
        version__version=version,
    )
    deny_unless(request.user, "feature.edit", feature.version)
    form = FeatureForm(request.POST or None, instance=feature)
    if request.method == "POST" and form.is_valid():
        with refusal_shown(request, form=form) as refused:
            services.update_feature(feature, actor=request.user, **form.cleaned_data)
        if not refused:
            messages.success(request, "Feature updated.")
            return redirect(feature.version.model)
    return render(request, "governance/feature_form.html", {
        "form": form, "version": feature.version, "model": feature.version.model, "feature": feature,
    })


@login_required
@require_http_methods(["GET", "POST"])
def feature_assess(request, slug, version, feature_id):
    """The proxy-risk assessment of one third-party feature: its own form, for Compliance, Legal and Model Risk."""
    feature = get_object_or_404(
        Feature.objects.select_related("version__model", "proxy_risk_assessed_by"), pk=feature_id,
        version__model__slug=slug, version__version=version,
    )
    deny_unless(request.user, "feature.assess_proxy_risk", feature.version)
    form = ProxyRiskAssessmentForm(request.POST or None, initial={"status": feature.proxy_risk_status,
                                                                  "reference": feature.proxy_risk_ref})
    if request.method == "POST" and form.is_valid():
        with refusal_shown(request, form=form) as refused:
            services.assess_proxy_risk(feature, actor=request.user, **form.cleaned_data)
        if not refused:
            messages.success(request, f"Proxy-risk assessment of {feature.name} recorded.")
            return redirect(f"{feature.version.model.get_absolute_url()}#v-{feature.version.version}")
    return render(request, "governance/feature_assess.html", {
        "form": form, "feature": feature, "version": feature.version, "model": feature.version.model,
    }, status=400 if form.is_bound else 200)


__all__ = ["model_list", "model_detail", "model_create", "model_edit", "version_create", "feature_add",
           "feature_edit", "feature_assess", "require"]
