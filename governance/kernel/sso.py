"""Single sign-on with the company's identity provider (OpenID Connect), through mozilla-django-oidc.

Configured by environment (see config/settings.py and the README): the issuer, whose discovery document names
the endpoints; the client id and secret; the scopes; the claim that carries the person's groups; and a mapping
from group names to Gatehouse roles. A person is who the provider's issuer and subject say, is created on first
sign-in, and holds exactly the roles their groups map to, applied at every sign-in and audited.

Re-authentication ("step-up") before a signature, a policy approval or a waiver is an authorization request with
``prompt=login`` and ``max_age=0``; the callback checks the ID token's ``auth_time`` against the moment the
step-up began and leaves a proof in the session (governance.kernel.reauth) instead of logging anyone in anew.
"""

import logging
import re
import time
from collections.abc import Iterable
from typing import Any

import requests
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from governance.kernel.models import User
from governance.kernel.principals import SystemActor
from governance.kernel.reauth import SESSION_KEY
from governance.kernel.services import save_unique, sync_roles_from_groups

logger = logging.getLogger(__name__)

STEP_UP_KEY = "gatehouse_sso_step_up"
ENDPOINTS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}


class ProviderUnavailable(Exception):
    """The identity provider could not be reached or answered nonsense."""


def enabled() -> bool:
    return bool(getattr(settings, "OIDC_ISSUER", ""))


def discovery() -> dict[str, Any]:
    """The provider's discovery document, fetched once and kept for an hour."""
    issuer = settings.OIDC_ISSUER.rstrip("/")
    key = f"gatehouse:oidc-discovery:{issuer}"
    document: dict[str, Any] | None = cache.get(key)
    if document is None:
        try:
            response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=settings.OIDC_TIMEOUT)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise ProviderUnavailable(f"{issuer} did not answer its discovery request ({type(exc).__name__}).") from exc
        missing = [name for name in ENDPOINTS.values() if not document.get(name)]
        if missing:
            raise ProviderUnavailable(f"{issuer}'s discovery document lacks {', '.join(missing)}.")
        if document.get("issuer", "").rstrip("/") != issuer:
            raise ProviderUnavailable(f"{issuer}'s discovery document names another issuer.")
        cache.set(key, document, 3600)
    return document


def _setting(attr: str, *args: Any) -> Any:
    if attr in ENDPOINTS:
        return discovery()[ENDPOINTS[attr]]
    return import_from_settings(attr, *args)


def role_mapping() -> dict[str, str]:
    return dict(getattr(settings, "OIDC_ROLE_GROUPS", {}))


def roles_for_groups(groups: Iterable[str]) -> set[str]:
    mapping = role_mapping()
    return {mapping[g] for g in groups if g in mapping}


class Backend(OIDCAuthenticationBackend):
    """Signs people in by the provider's issuer and subject; keeps their names and roles in step with it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Endpoints are resolved on use, not here: Django builds every backend for every password login, and an
        # unreachable provider must not break local sign-in.
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None
        self.UserModel = User

    get_settings = staticmethod(_setting)

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        if not enabled() or request is None or "code" not in request.GET:
            return None
        self.OIDC_OP_TOKEN_ENDPOINT = _setting("OIDC_OP_TOKEN_ENDPOINT")
        self.OIDC_OP_USER_ENDPOINT = _setting("OIDC_OP_USER_ENDPOINT")
        self.OIDC_OP_JWKS_ENDPOINT = _setting("OIDC_OP_JWKS_ENDPOINT")
        return super().authenticate(request, **kwargs)

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        payload: dict[str, Any] = super().verify_token(token, **kwargs)
        issuer = settings.OIDC_ISSUER.rstrip("/")
        if str(payload.get("iss", "")).rstrip("/") != issuer:
            raise SuspiciousOperation("The ID token was issued by another provider.")
        audience = payload.get("aud")
        if self.OIDC_RP_CLIENT_ID not in (audience if isinstance(audience, list) else [audience]):
            raise SuspiciousOperation("The ID token is meant for another client.")
        if int(payload.get("exp", 0)) < time.time() - 60:
            raise SuspiciousOperation("The ID token has expired.")
        self._id_claims = payload
        return payload

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> User:
        claims = {**payload, **self.get_userinfo(access_token, id_token, payload)}
        if claims.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The provider's user information names someone else.")
        issuer, subject = settings.OIDC_ISSUER.rstrip("/"), str(payload.get("sub", ""))
        if not subject:
            raise SuspiciousOperation("The ID token names no subject.")
        step_up = self.request.session.get(STEP_UP_KEY)
        if step_up:
            return self._confirm_step_up(step_up, issuer, subject, payload)
        groups = claims.get(settings.OIDC_GROUPS_CLAIM) or []
        if isinstance(groups, str):
            groups = [groups]
        user = User.objects.filter(sso_issuer=issuer, sso_subject=subject).first()
        if user is None:
            user = self._create(issuer, subject, claims)
        else:
            self._refresh_names(user, claims)
        sync_roles_from_groups(user, roles_for_groups(groups), groups=groups, actor=SystemActor("single sign-on"))
        return user

    def _create(self, issuer: str, subject: str, claims: dict[str, Any]) -> User:
        base = re.sub(r"[^\w.@+-]", "", str(claims.get("preferred_username") or claims.get("email") or subject))
        base = (base or "person")[:140]
        username, n = base, 1
        while User.objects.filter(username=username).exists():
            n += 1
            username = f"{base}-{n}"
        user = User(username=username, sso_issuer=issuer, sso_subject=subject,
                    first_name=str(claims.get("given_name", ""))[:150], last_name=str(claims.get("family_name", ""))[:150],
                    email=str(claims.get("email", ""))[:254])
        user.set_unusable_password()
        save_unique(user, field="username", message="That person already exists.")
        from governance.kernel import audit

        audit.record("person.created", user, actor=SystemActor("single sign-on"), after={
            "username": user.username, "name": user.get_full_name(), "source": "identity provider",
            "issuer": issuer, "subject": subject,
        })
        return user

    def _refresh_names(self, user: User, claims: dict[str, Any]) -> None:
        fields = {"first_name": str(claims.get("given_name", user.first_name))[:150],
                  "last_name": str(claims.get("family_name", user.last_name))[:150],
                  "email": str(claims.get("email", user.email))[:254]}
        changed = {k: v for k, v in fields.items() if getattr(user, k) != v}
        if changed:
            User.objects.filter(pk=user.pk).update(**changed)
            for k, v in changed.items():
                setattr(user, k, v)

    def _confirm_step_up(self, step_up: Any, issuer: str, subject: str, payload: dict[str, Any]) -> User:
        """The person re-authenticated before an act: prove it in the session, as the same person only."""
        del self.request.session[STEP_UP_KEY]
        user = User.objects.filter(pk=step_up.get("user")).first()
        if user is None or (user.sso_issuer, user.sso_subject) != (issuer, subject):
            raise SuspiciousOperation("Someone else authenticated at the provider than the person signed in.")
        auth_time = payload.get("auth_time")
        if not isinstance(auth_time, int | float) or auth_time < step_up["started"] - settings.SSO_CLOCK_SKEW:
            self.request.session[SESSION_KEY] = {"refused": "stale"}
            return user
        self.request.session[SESSION_KEY] = {"iss": issuer, "sub": subject, "auth_time": int(auth_time)}
        return user


def _unavailable(request: HttpRequest, error: Exception) -> HttpResponse:
    logger.warning("Single sign-on failed: %s", error)
    return render(request, "registration/sso_unavailable.html", {"detail": str(error)}, status=503)


class Login(OIDCAuthenticationRequestView):
    """Start signing in at the provider (or, with ``?step_up=1``, re-authenticating the signed-in person)."""

    get_settings = staticmethod(_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # endpoints are looked up per request (see Backend.__init__)
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    def get(self, request: HttpRequest) -> HttpResponse:
        if not enabled():
            return render(request, "registration/sso_unavailable.html",
                          {"detail": "Single sign-on is not configured here."}, status=404)
        try:
            self.OIDC_OP_AUTH_ENDPOINT = _setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except ProviderUnavailable as error:
            return _unavailable(request, error)
        if request.GET.get("step_up"):
            if not (request.user.is_authenticated and request.user.uses_sso):
                return HttpResponseRedirect(settings.LOGIN_URL)
            request.session[STEP_UP_KEY] = {"user": request.user.pk, "started": int(time.time())}
            request.session.pop(SESSION_KEY, None)
        else:
            request.session.pop(STEP_UP_KEY, None)
        return super().get(request)

    def get_extra_params(self, request: HttpRequest) -> dict[str, str]:
        if request.GET.get("step_up"):
            return {"prompt": "login", "max_age": "0"}
        return {}


class Callback(OIDCAuthenticationCallbackView):
    """The provider's answer: sign the person in, or record their fresh authentication, or explain the failure."""

    def get(self, request: HttpRequest) -> HttpResponse:
        step_up = bool(request.session.get(STEP_UP_KEY))
        previous_user = request.user.pk if request.user.is_authenticated else None
        try:
            response = super().get(request)
        except ProviderUnavailable as error:
            return _unavailable(request, error)
        except requests.RequestException as error:
            return _unavailable(request, ProviderUnavailable(f"the provider did not complete the sign-in "
                                                             f"({type(error).__name__})."))
        except SuspiciousOperation as error:
            logger.warning("Single sign-on refused: %s", error)
            return render(request, "registration/sso_unavailable.html",
                          {"detail": "The identity provider's answer could not be accepted. Sign in again."},
                          status=400)
        if step_up and previous_user and request.user.pk != previous_user:
            auth.logout(request)
        return response

    @property
    def success_url(self) -> str:
        next_url = self.request.session.get("oidc_login_next")
        if next_url and url_has_allowed_host_and_scheme(next_url, allowed_hosts={self.request.get_host()},
                                                        require_https=self.request.is_secure()):
            return next_url
        return super().success_url


class LoginPage(auth_views.LoginView):
    """The sign-in page: the provider's button where single sign-on is configured, the password form where local
    passwords are on (refused with a clear message where they are off)."""

    template_name = "registration/login.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "sso_enabled": enabled(),
                "sso_name": settings.OIDC_PROVIDER_NAME, "local_passwords": settings.LOCAL_PASSWORDS,
                "sso_failed": self.request.GET.get("sso") == "failed"}

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.LOCAL_PASSWORDS:
            return render(request, self.template_name, self.get_context_data(), status=403)
        return super().post(request, *args, **kwargs)
