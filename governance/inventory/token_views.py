"""The API tokens page: Compliance or an administrator issues a token (scopes, model limit, expiry) and sees its
secret once, and revokes tokens. Every act goes through governance.kernel.services, which audits it."""

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from governance.inventory.models import MLModel
from governance.kernel.models import ApiToken, User
from governance.kernel.reauth import sso_proof
from governance.kernel.services import issue_api_token, revoke_api_token
from governance.kernel.web import deny_unless, reauth_context, refusal_shown, say

TOKENS_SHOWN = 200


class IssueTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Say what uses it, e.g. “credit-line CI”.")
    scopes = forms.MultipleChoiceField(choices=ApiToken.Scope.choices, widget=forms.CheckboxSelectMultiple)
    models = forms.ModelMultipleChoiceField(queryset=MLModel.objects.order_by("name"), required=False,
                                            help_text="Leave empty for every model.")
    expires_days = forms.IntegerField(min_value=1, max_value=3650, required=False, label="Expires after (days)",
                                      help_text="Leave empty for no expiry.")
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
                               strip=False, help_text="Re-enter your password to issue the token.")

    def __init__(self, *args: Any, sso: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if sso:  # confirmed with the identity provider instead (governance.kernel.reauth)
            del self.fields["password"]


def _page(request: HttpRequest, form: IssueTokenForm, *, secret: str = "", issued: ApiToken | None = None,
          status: int = 200) -> HttpResponse:
    tokens = list(ApiToken.objects.select_related("created_by").prefetch_related("allowed_models")
                  .order_by("revoked_at", "name")[:TOKENS_SHOWN])
    return render(request, "governance/token_list.html", {
        "form": form, "tokens": tokens, "secret": secret, "issued": issued, **reauth_context(request),
    }, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    deny_unless(request.user, "token.manage")
    sso = bool(getattr(request.user, "uses_sso", False))
    form = IssueTokenForm(request.POST if request.method == "POST" else None, sso=sso)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            with refusal_shown(request, form=form) as refused:
                token, secret = issue_api_token(
                    actor=cast(User, request.user), name=data["name"], scopes=data["scopes"], models=list(data["models"]),
                    expires_days=data["expires_days"], password=data.get("password"), sso_proof=sso_proof(request),
                    request=request)
            if not refused:
                # Shown in this answer only: the secret is stored as a hash and cannot be shown again.
                response = _page(request, IssueTokenForm(sso=sso), secret=secret, issued=token)
                response["Cache-Control"] = "no-store"
                return response
        return _page(request, form, status=400)
    return _page(request, form)


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    deny_unless(request.user, "token.manage")
    token = get_object_or_404(ApiToken, pk=token_id)
    with refusal_shown(request, place="tokens") as refused:
        revoke_api_token(token, actor=cast(User, request.user))
    if not refused:
        say(request, messages.SUCCESS, f"Token {token.name!r} revoked; it no longer works.", place="tokens")
    return redirect(f"{reverse('governance:token_list')}#fb-tokens")
