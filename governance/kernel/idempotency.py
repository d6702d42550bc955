"""Idempotency-Key support for API POSTs: a retried request gets the first answer and stores nothing twice.

The record is written in the same transaction as the work, so a request either leaves both or neither;
a concurrent duplicate blocks on the unique key and then replays the winner's answer. Error answers are
not kept, so a retry after a fixed mistake can succeed.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from rest_framework.response import Response

from governance.kernel.errors import Conflict, ValidationFailed
from governance.kernel.models import IdempotencyRecord
from governance.kernel.principals import actor_label

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

HEADER = "Idempotency-Key"

ViewMethod = Callable[..., Response]


class _Duplicate(Exception):
    pass


class _Discard(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _fingerprint(request: Request) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    data = request.data
    items = data.lists() if hasattr(data, "lists") else (data.items() if isinstance(data, dict) else [("", data)])
    for name, value in sorted(items, key=lambda kv: kv[0]):
        digest.update(f"{name}=".encode())
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, UploadedFile):
                for chunk in item.chunks():
                    digest.update(chunk)
                item.seek(0)
            else:
                digest.update(repr(item).encode())
        digest.update(b"\n")
    for name, upload in sorted(getattr(request, "FILES", {}).items()):
        digest.update(f"file:{name}:{upload.size}".encode())
    return digest.hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise Conflict(
            "This Idempotency-Key was already used for a different request; use a new key.", code="idempotency_conflict"
        )
    response = Response(record.body, status=record.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(method: ViewMethod) -> ViewMethod:
    @functools.wraps(method)
    def wrapper(self: APIView, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return method(self, request, *args, **kwargs)
        key = key.strip()
        if not key or len(key) > 200:
            raise ValidationFailed("Idempotency-Key must be 1 to 200 characters.", field=HEADER)
        owner = actor_label(request.user)
        fingerprint = _fingerprint(request)
        existing = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
        if existing is not None:
            return _replay(existing, fingerprint)
        try:
            with transaction.atomic():
                try:
                    record = IdempotencyRecord.objects.create(
                        owner=owner, key=key, fingerprint=fingerprint, status_code=0
                    )
                except IntegrityError:
                    raise _Duplicate from None
                response = method(self, request, *args, **kwargs)
                if not 200 <= response.status_code < 300:
                    raise _Discard(response)
                record.status_code = response.status_code
                record.body = response.data
                record.save(update_fields=["status_code", "body"])
        except _Discard as discard:
            return discard.response
        except _Duplicate:
            existing = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
            if existing is None or existing.status_code == 0:
                raise Conflict("A request with this Idempotency-Key is still being processed; retry shortly.",
                               code="idempotency_in_progress") from None
            return _replay(existing, fingerprint)
        return response

    return wrapper
