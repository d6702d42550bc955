"""The Lockouts page: who is locked out now, and lifting one (Compliance or an administrator)."""

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from governance.kernel import lockouts
from governance.kernel.errors import DomainError
from governance.kernel.models import User
from governance.kernel.reauth import sso_proof
from governance.kernel.throttling import address_failure_limit, cool_off_minutes, failure_limit
from governance.kernel.web import deny_unless, reauth_context, refusal_shown, say


class LiftLockoutForm(forms.Form):
    scope = forms.ChoiceField(choices=[(s, s) for s in lockouts.SCOPES], widget=forms.HiddenInput)
    username = forms.CharField(required=False, max_length=150, widget=forms.HiddenInput)
    ip_address = forms.CharField(max_length=64, widget=forms.HiddenInput)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000,
                             help_text="For example: reached the person by phone; the failures were theirs.")
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
                               strip=False, help_text="Re-enter your password to lift the lockout.")

    def __init__(self, *args: Any, sso: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if sso:  # confirmed with the identity provider instead (governance.kernel.reauth)
            del self.fields["password"]


HIDDEN = ("scope", "username", "ip_address")


def _above_the_form(error: DomainError) -> DomainError:
    """The lockout's identity travels in hidden fields: a refusal about it is shown above the form."""
    if error.field in HIDDEN:
        error.field = None
    return error


@login_required
@require_GET
def lockout_list(request: HttpRequest) -> HttpResponse:
    deny_unless(request.user, "lockout.lift")
    return render(request, "governance/lockout_list.html", {
        "lockouts": lockouts.current_lockouts(), "failure_limit": failure_limit(),
        "address_failure_limit": address_failure_limit(), "cool_off_minutes": cool_off_minutes(),
    })


@login_required
@require_http_methods(["GET", "POST"])
def lockout_lift(request: HttpRequest) -> HttpResponse:
    deny_unless(request.user, "lockout.lift")
    sso = bool(getattr(request.user, "uses_sso", False))
    form = LiftLockoutForm(request.POST if request.method == "POST" else None, sso=sso,
                           initial={k: request.GET.get(k, "") for k in ("scope", "username", "ip_address")})
    if request.method == "POST" and not form.is_valid():
        for name in HIDDEN:
            for message in form.errors.pop(name, []):
                form.add_error(None, f"This is not a lockout to lift ({name.replace('_', ' ')}: {message})")
    elif request.method == "POST":
        data = form.cleaned_data
        with refusal_shown(request, form=form, adapt=_above_the_form) as refused:
            lifted = lockouts.lift_lockout(actor=cast(User, request.user), scope=data["scope"], username=data["username"],
                                           ip_address=data["ip_address"], reason=data["reason"],
                                           password=data.get("password"), sso_proof=sso_proof(request),
                                           request=request)
        if not refused:
            who = f"{lifted.username} from {lifted.ip_address}" if lifted.username else lifted.ip_address
            say(request, messages.SUCCESS, f"Lockout of {who} lifted.", place="lockouts")
            return redirect(f"{reverse('governance:lockout_list')}#fb-lockouts")
    target = form.data if form.is_bound else form.initial
    return render(request, "governance/lockout_lift.html", {
        "form": form, "scope": target.get("scope", ""), "username": target.get("username", ""),
        "ip_address": target.get("ip_address", ""), **reauth_context(request),
    })
