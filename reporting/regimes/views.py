"""The examiner's file of a model: its regimes' coverage, requirement by requirement, the form that declares the
regimes, and the evidence bundles: asked for, listed, downloaded. Thin: selectors and services do the work."""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from governance.inventory.models import MLModel
from governance.kernel import web
from governance.kernel.errors import NotFound, PermissionDenied
from governance.kernel.models import User
from governance.kernel.permissions import can
from governance.kernel.storage import stored_file_response
from governance.kernel.web import deny_unless, redirect_to_place, refusal_shown, say
from reporting.bundle import records
from reporting.models import BundleStatus
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
        "bundles": records.model_bundles(model, request.user),
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
    """Ask for the signed bundle; a worker builds it and the file page lists it for download when ready."""
    model = _model(slug)
    deny_unless(request.user, "evidence.export", model)
    regime = (request.POST.get("regime") or "").strip() or None
    with refusal_shown(request, place="bundle") as refused:
        asked = records.request_bundle(model, actor=cast(User, request.user), regime=regime)
    if not refused:
        say(request, messages.SUCCESS, f"Evidence bundle #{asked.bundle.pk} is being built; it is listed below for "
                                       "download when ready." if asked.created else
            f"Evidence bundle #{asked.bundle.pk}, asked for the same view, is already being built.", place="bundle")
    return redirect_to_place(_file_url(model), "bundle")


def bundle_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A ready bundle streamed from the store, after the check that the reader's view is its requester's: 404 to
    whoever may not export the model's evidence, 403 ``bundle_view_differs`` to an exporter who sees other
    restricted matters (JSON to a client that asks for it)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    try:
        bundle = records.readable_bundle(request.user, pk)
    except NotFound:
        raise Http404("No such evidence bundle.") from None
    except PermissionDenied as refusal:
        if "application/json" in request.headers.get("Accept", ""):
            return JsonResponse(refusal.as_dict(), status=refusal.status_code)
        return web.permission_denied(request, refusal)
    if bundle.status != BundleStatus.READY:
        raise Http404("This evidence bundle is not ready.")
    return stored_file_response(bundle.file, filename=bundle.filename or f"evidence-bundle-{bundle.pk}.zip",
                                content_type="application/zip", sha256=bundle.sha256, as_attachment=True)
