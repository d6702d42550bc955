"""Bearer-token authentication for CI and monitoring."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from governance.kernel.canonical import sha256_hex
from governance.kernel.models import ApiToken
from governance.kernel.prepared import Prepared
from governance.kernel.principals import TokenPrincipal

if TYPE_CHECKING:
    from rest_framework.request import Request


# Every API call reads its token: both reads are compiled once per thread (governance.kernel.prepared).
_TOKEN_FIELDS = tuple(field.attname for field in ApiToken._meta.concrete_fields)
_token_statement = Prepared(lambda prefix: ApiToken.objects.filter(prefix=prefix).values_list(*_TOKEN_FIELDS)[:1],
                            prefix="text")
_allowed_statement = Prepared(
    lambda token: ApiToken.allowed_models.through.objects.filter(apitoken_id=token).values_list("mlmodel_id"),
    token="int")


def _token(prefix: str) -> ApiToken | None:
    rows = _token_statement.rows(prefix=prefix)
    return ApiToken.from_db("default", _TOKEN_FIELDS, rows[0]) if rows else None


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[TokenPrincipal, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header: use 'Bearer <token>'.",
                                               code="malformed_authorization")
        return self.authenticate_secret(parts[1])

    def authenticate_secret(self, secret: str) -> tuple[TokenPrincipal, ApiToken]:
        pieces = secret.split("_")
        if len(pieces) < 3:
            raise exceptions.AuthenticationFailed("Invalid token.", code="invalid_token")
        token = _token(pieces[1])
        if token is None or not hmac.compare_digest(token.secret_hash, sha256_hex(secret)):
            raise exceptions.AuthenticationFailed("Invalid token.", code="invalid_token")
        now = timezone.now()
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This token has been revoked.", code="token_revoked")
        if token.expires_at is not None and token.expires_at <= now:
            raise exceptions.AuthenticationFailed("This token has expired.", code="token_expired")
        model_ids = frozenset(pk for (pk,) in _allowed_statement.rows(token=token.pk)) or None
        # last_used_at is informational; avoid a write per request by updating at most once a minute.
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return TokenPrincipal(token=token, scopes=frozenset(token.scopes), model_ids=model_ids), token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]  # drf-spectacular's __init_subclass__ is unannotated
    target_class = "governance.kernel.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A Gatehouse API token (gth_...)."}
