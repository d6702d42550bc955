"""Hostile input stops at the door: NUL characters, JSON nested without end or larger than the limit, and page
windows the database cannot represent are refused with a 4xx before any view or query sees them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any, NoReturn

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse, QueryDict
from django.utils.datastructures import MultiValueDict
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.pagination import LimitOffsetPagination

from governance.kernel.errors import PayloadTooLarge, ValidationFailed

if TYPE_CHECKING:
    from django.http.request import _ImmutableQueryDict
    from rest_framework.parsers import DataAndFiles
    from rest_framework.request import Request
    from rest_framework.views import APIView

NUL = "\x00"


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _walk(value: object, max_depth: int) -> Iterator[tuple[str, str]]:
    """Every (path, string) inside a parsed JSON value, keys included; refuses nesting deeper than ``max_depth``.
    Iterative, so a hostile document cannot exhaust the interpreter's stack here either."""
    stack = [("", value, 0)]
    while stack:
        path, item, depth = stack.pop()
        if depth > max_depth:
            raise ParseError(f"JSON nested deeper than {max_depth} levels.")
        if isinstance(item, dict):
            for key, child in item.items():
                yield path, key
                stack.append((f"{path}.{key}" if path else key, child, depth + 1))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child, depth + 1) for i, child in enumerate(item))
        elif isinstance(item, str):
            yield path, item


def check_strings(value: object, *, max_depth: int | None = None) -> None:
    """Refuse a NUL character anywhere in ``value``: no record of Gatehouse holds one, and PostgreSQL cannot."""
    for path, text in _walk(value, max_depth or settings.API_MAX_JSON_DEPTH):
        if NUL in text:
            raise ValidationFailed("Text may not contain NUL characters.", field=path.split("[")[0] or None)


def loads(text: str | bytes) -> Any:
    """json.loads for untrusted text: strict (no NaN or Infinity), bounded depth, no NUL characters."""
    def constant(name: str) -> NoReturn:
        raise ValueError(f"{name} is not valid JSON")

    try:
        value = json.loads(text, parse_constant=constant)
    except RecursionError:
        raise ParseError(f"JSON nested deeper than {settings.API_MAX_JSON_DEPTH} levels.") from None
    except ValueError as exc:
        raise ParseError(f"JSON parse error: {exc}") from None
    check_strings(value)
    return value


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with a size limit answered by 413, a depth limit and no NUL characters."""

    def parse(self, stream: IO[Any], media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = (parser_context or {}).get("request")
        length = request.META.get("CONTENT_LENGTH", "") if request is not None else ""
        if str(length).isdigit() and limit is not None and int(length) > limit:
            raise PayloadTooLarge(f"The JSON body is {int(length):,} bytes; the limit is {limit:,}.", code="payload_too_large")
        data = stream.read(limit + 1 if limit is not None else -1) if stream is not None else b""
        if limit is not None and len(data) > limit:
            raise PayloadTooLarge(f"The JSON body is over the limit of {limit:,} bytes.", code="payload_too_large")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            raise ParseError(f"The JSON body is not valid {encoding}.") from None
        return loads(text)


def _check_form(data: QueryDict) -> None:
    for key, values in data.lists():
        for value in [key, *values]:
            if isinstance(value, str) and NUL in value:
                raise ValidationFailed("Text may not contain NUL characters.", field=key if NUL not in key else None)


class Pagination(LimitOffsetPagination):
    """LimitOffset with declared bounds: a limit or offset that is not a whole number in range is a 400, never a
    silent default and never a number the database cannot hold."""

    max_limit = 500
    max_offset = 10_000_000

    def _bounded(self, request: Request, name: str, low: int, high: int, default: int | None) -> int | None:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
            raise ValidationFailed(f"{name} must be a whole number from {low} to {high:,}.", field=name)
        return int(raw)

    def get_limit(self, request: Request) -> int | None:
        return self._bounded(request, self.limit_query_param, 1, self.max_limit, self.default_limit)

    def get_offset(self, request: Request) -> int:
        return self._bounded(request, self.offset_query_param, 0, self.max_offset, 0) or 0

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {self.limit_query_param: (1, self.max_limit), self.offset_query_param: (0, self.max_offset)}
        for parameter in parameters:
            low, high = bounds[parameter["name"]]
            parameter["schema"].update(minimum=low, maximum=high)
        return parameters


class RejectNulBytesMiddleware:
    """A NUL character in a query parameter or a form field is refused with a 400 before any view runs (the
    API's JSON and multipart bodies are checked by its parsers)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            _check_form(request.GET)
            if not is_api(request) and request.method == "POST" and request.content_type in (
                    "application/x-www-form-urlencoded", "multipart/form-data"):
                _check_form(request.POST)
        except ValidationFailed as error:
            if is_api(request):
                return JsonResponse(error.as_dict(), status=400)
            return HttpResponseBadRequest(error.message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class FormParser(parsers.FormParser):
    def parse(self, stream: IO[Any], media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> _ImmutableQueryDict:
        data = super().parse(stream, media_type, parser_context)
        _check_form(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream: IO[Any], media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None
              ) -> DataAndFiles[_ImmutableQueryDict, MultiValueDict[Any, Any]]:
        result = super().parse(stream, media_type, parser_context)
        _check_form(result.data)
        return result
