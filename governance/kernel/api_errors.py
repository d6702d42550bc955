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

from governance.kernel import api_inputs
from governance.kernel.errors import DomainError

log = logging.getLogger(__name__)

DOES_NOT_EXIST = "does_not_exist"  # DRF's relation fields: the object a body names is not there


def _code(value: object) -> str:
    return getattr(value, "code", None) or "invalid"


def flatten_errors(detail: object, prefix: str = "") -> list[dict[str, Any]]:
    """DRF's nested error dicts -> a list of {"field", "detail", "code"}."""
    if isinstance(detail, dict):
        items = []
        for key, value in detail.items():
            if isinstance(key, int):  # a list's errors by position: {index: errors}
                items.extend(flatten_errors(value, f"{prefix}[{key}]"))
                continue
            name = key if key != "non_field_errors" else ""
            items.extend(flatten_errors(value, f"{prefix}.{name}" if prefix and name else (name or prefix)))
        return items
    if isinstance(detail, list):
        if all(not isinstance(v, dict | list) for v in detail):
            return [{"field": prefix or None, "detail": " ".join(str(v) for v in detail),
                     "code": _code(detail[0]) if detail else "invalid"}]
        items = []
        for index, value in enumerate(detail):
            items.extend(flatten_errors(value, f"{prefix}[{index}]"))
        return items
    return [{"field": prefix or None, "detail": str(detail), "code": _code(detail)}]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, Http404):
        return Response({"code": "not_found", "detail": "Not found."}, status=404)
    if isinstance(exc, DjangoPermissionDenied):
        return Response({"code": "permission_denied", "detail": str(exc) or "Permission denied."}, status=403)
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        first = errors[0] if errors else {"field": None, "detail": "Invalid input.", "code": "invalid"}
        # A declared input's precise refusal (an unknown parameter, a NaN) is the answer's code; any other
        # validation error is ``invalid``, with each field's own code in ``errors``.
        code = first["code"] if first["code"] in api_inputs.NAMED_CODES else "invalid"
        answer: int = status.HTTP_400_BAD_REQUEST
        if errors and all(error["code"] == DOES_NOT_EXIST for error in errors):
            # Well-formed input naming an object that is not there (an owner, a launch): 404, as for a path's.
            code, answer = "not_found", status.HTTP_404_NOT_FOUND
        body = {"code": code, "detail": first["detail"], "errors": errors}
        if first["field"]:
            body["field"] = first["field"]
        return Response(body, status=answer)
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
