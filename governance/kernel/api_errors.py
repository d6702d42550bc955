"""Every API error becomes a 4xx JSON body that names the field and the problem, in one place."""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DatabaseError, DataError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from governance.kernel.errors import DomainError

log = logging.getLogger(__name__)


def _flatten(detail: object, prefix: str = "") -> list[dict[str, str | None]]:
    """DRF's nested error dicts -> a list of {"field", "detail"}."""
    if isinstance(detail, dict):
        items = []
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            items.extend(_flatten(value, f"{prefix}.{name}" if prefix and name else (name or prefix)))
        return items
    if isinstance(detail, list):
        if all(not isinstance(v, dict | list) for v in detail):
            return [{"field": prefix or None, "detail": " ".join(str(v) for v in detail)}]
        items = []
        for index, value in enumerate(detail):
            items.extend(_flatten(value, f"{prefix}[{index}]"))
        return items
    return [{"field": prefix or None, "detail": str(detail)}]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, Http404):
        return Response({"code": "not_found", "detail": "Not found."}, status=404)
    if isinstance(exc, DjangoPermissionDenied):
        return Response({"code": "permission_denied", "detail": str(exc) or "Permission denied."}, status=403)
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        first = errors[0] if errors else {"field": None, "detail": "Invalid input."}
        body = {"code": "invalid", "detail": first["detail"], "errors": errors}
        if first["field"]:
            body["field"] = first["field"]
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig):
        return Response({"code": "payload_too_large", "detail": str(exc)}, status=413)
    if isinstance(exc, SuspiciousOperation):
        return Response({"code": "invalid", "detail": str(exc) or "The request was refused."}, status=400)
    if isinstance(exc, DataError):
        # A value the database cannot represent (out of range, malformed) is the caller's input, not our fault.
        log.warning("database refused a value: %s", exc)
        return Response({"code": "invalid", "detail": "A value is out of range or cannot be stored."}, status=400)
    if isinstance(exc, OperationalError | InterfaceError) or type(exc) is DatabaseError:
        log.error("database unavailable: %s", exc)
        return Response({"code": "unavailable", "detail": "The database is unavailable; try again shortly."},
                        status=503, headers={"Retry-After": "30"})
    response = drf_exception_handler(exc, context)
    if response is not None:
        detail = response.data.get("detail") if isinstance(response.data, dict) else response.data
        code = getattr(getattr(exc, "detail", None), "code", None) or "error"
        response.data = {"code": code, "detail": str(detail)}
        return response
    return None
