"""The registry's endpoints: the MLflow webhook (verify the signature, then hand the payload to the services), the
guard's mode for a model, and where an alias pointed on a given day."""

import json
from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from governance.kernel.errors import DomainError
from governance.kernel.models import User
from governance.kernel.permissions import can
from governance.kernel.reauth import sso_proof
from governance.kernel.web import deny_unless, reauth_context, redirect_to_place, refusal_shown, say

from . import selectors, services
from .forms import TIER_DEFAULT, AliasOnDayForm, GuardModeForm
from .models import RegistryLink


@csrf_exempt
@require_POST
def mlflow_webhook(request):
    """MLflow's registry webhooks (model version created, alias created or deleted, tags): verify, then sync."""
    try:
        services.verify_webhook(
            body=request.body, delivery_id=request.headers.get("X-MLflow-Delivery-Id", ""),
            timestamp=request.headers.get("X-MLflow-Timestamp", ""),
            signature=request.headers.get("X-MLflow-Signature", ""), secret=settings.MLFLOW_WEBHOOK_SECRET)
        try:
            payload = json.loads(request.body)
        except ValueError:
            return JsonResponse({"code": "invalid", "detail": "The body is not JSON."}, status=400)
        link = services.receive_webhook(payload, delivery_id=request.headers.get("X-MLflow-Delivery-Id", ""))
    except DomainError as error:
        return JsonResponse(error.as_dict(), status=error.status_code)
    return JsonResponse({"status": "sync queued" if link else "ignored: not linked"}, status=202 if link else 200)


def _link(slug: str) -> RegistryLink:
    link = RegistryLink.objects.select_related("model").filter(model__slug=slug).first()
    if link is None:
        raise Http404("This model is not linked to MLflow.")
    return link


@login_required
@require_http_methods(["GET", "POST"])
def guard_mode(request: HttpRequest, slug: str) -> HttpResponse:
    """What the guard does with a hand move of this model's aliases: shown to everyone who may see the model,
    changed by Compliance or Model Risk."""
    link = _link(slug)
    deny_unless(request.user, "model.view", link.model)
    if request.method == "POST":
        deny_unless(request.user, "registry.guard_mode", link.model)
    sso = bool(getattr(request.user, "uses_sso", False))
    form = GuardModeForm(request.POST if request.method == "POST" else None, sso=sso,
                         initial={"mode": link.guard_mode or TIER_DEFAULT})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            with refusal_shown(request, form=form) as refused:
                link = services.set_guard_mode(link, actor=cast(User, request.user), mode=form.service_mode(),
                                               password=form.cleaned_data.get("password"),
                                               sso_proof=sso_proof(request), request=request)
            if not refused:
                say(request, messages.SUCCESS, f"The guard of {link.registered_model} now does: "
                                               f"{link.effective_guard_mode_label.lower()}.", place="registry")
                return redirect_to_place(link.model.get_absolute_url(), "registry")
        status = 400
    return render(request, "registry/guard_mode.html", {
        "link": link, "form": form, "can_set": can(request.user, "registry.guard_mode", link.model),
        **reauth_context(request)}, status=status)


@login_required
@require_GET
def alias_on_day(request: HttpRequest, slug: str) -> HttpResponse:
    """Which version a governed alias pointed at on a day, answered from the alias history."""
    link = _link(slug)
    deny_unless(request.user, "model.view", link.model)
    aliases = sorted(services.governed_aliases(link))
    form = AliasOnDayForm(request.GET or None, aliases=aliases)
    answer, status = None, 200
    if form.is_bound:
        if form.is_valid():
            answer = selectors.alias_on_day(link, form.cleaned_data["alias"], form.cleaned_data["date"])
        else:
            status = 400
    return render(request, "registry/alias_on_day.html", {"link": link, "form": form, "answer": answer},
                  status=status)
