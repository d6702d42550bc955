"""The examiner's file of a model: its regimes' coverage, requirement by requirement, the form that declares the
regimes, and the evidence bundle's download. Thin: selectors and services do the work."""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from governance.inventory.models import MLModel
from governance.kernel.models import User
from governance.kernel.permissions import can
from governance.kernel.web import deny_unless, redirect_to_place, refusal_shown, say
from reporting.regimes import coverage, crosswalk, services


class DeclareRegimesForm(forms.Form):
    regimes = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple,
                                        label="Regimes this model falls under")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["regimes"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(r.name, r.title) for r in crosswalk.regimes().values()]


def _model(slug: str) -> MLModel:
    model = MLModel.objects.select_related("owner").filter(slug=slug).first()
    if model is None:
        raise Http404("No such model.")
    return model


@login_required
@require_GET
def examiner_file(request: HttpRequest, slug: str) -> HttpResponse:
    model = _model(slug)
    deny_unless(request.user, "model.view", model)
    file = coverage.model_coverage(model, viewer=request.user)
    declared = [c.regime.name for c in file.regimes]
    return render(request, "reporting/examiner_file.html", {
        "model": model, "file": file, "form": DeclareRegimesForm(initial={"regimes": declared}),
        "can_declare": can(request.user, "regime.declare", model),
        "can_export": can(request.user, "evidence.export", model),
    })


@login_required
@require_POST
def declare(request: HttpRequest, slug: str) -> HttpResponse:
    model = _model(slug)
    deny_unless(request.user, "regime.declare", model)
    form = DeclareRegimesForm(request.POST)
    if not form.is_valid():
        say(request, messages.ERROR, "Choose regimes from the list.", place="regimes")
        return redirect_to_place(_file_url(model), "regimes")
    with refusal_shown(request, place="regimes") as refused:
        names = services.declare_regimes(model, actor=cast(User, request.user), regimes=form.cleaned_data["regimes"])
    if not refused:
        say(request, messages.SUCCESS, f"{model.name} now falls under {len(names)} regime(s).", place="regimes")
    return redirect_to_place(_file_url(model), "regimes")


def _file_url(model: MLModel) -> str:
    from django.urls import reverse

    return reverse("reporting:examiner_file", args=[model.slug])


@login_required
@require_POST
def evidence_bundle(request: HttpRequest, slug: str) -> HttpResponse:
    """The signed bundle as a download; a refusal goes back to the file page beside the form."""
    from django.http import HttpResponse as Download

    from reporting.bundle.export import export_evidence_bundle

    model = _model(slug)
    deny_unless(request.user, "evidence.export", model)
    regime = (request.POST.get("regime") or "").strip() or None
    bundle = None
    with refusal_shown(request, place="bundle"):
        bundle = export_evidence_bundle(model, actor=cast(User, request.user), regime=regime)
    if bundle is None:
        return redirect_to_place(_file_url(model), "bundle")
    response = Download(bundle.content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{bundle.filename}"'
    return response
