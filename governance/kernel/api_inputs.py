"""Declared inputs for the API: the bases every body serializer, query serializer and FilterSet derives from, and
the field types that refuse what a plain DRF field would quietly accept (NaN and infinity, a time without a zone,
a JSON value that is not an object).

Anything not declared is refused with a 400 that names it (``unknown_field`` in a body, ``unknown_parameter`` in a
query string), so a misspelt filter or field is never silently ignored. Nothing here knows any app's records or
rules: it parses and refuses, and the services decide.
"""

import datetime
import math
from collections.abc import Iterable, Mapping, Set
from typing import Any

import django_filters
from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import APIException, ErrorDetail, ValidationError
from rest_framework.settings import api_settings

from governance.kernel import input_guard

UNKNOWN_FIELD = "unknown_field"
UNKNOWN_PARAMETER = "unknown_parameter"
EMPTY_PARAMETER = "empty_parameter"
NOT_FINITE = "not_finite"
NAIVE_DATETIME = "naive_datetime"
NOT_AN_OBJECT = "not_an_object"

# Codes that name the problem precisely enough to become the answer's top-level ``code``; every other
# validation error answers ``invalid`` with the field's own code in ``errors``.
NAMED_CODES = frozenset({UNKNOWN_FIELD, UNKNOWN_PARAMETER, NOT_FINITE, NAIVE_DATETIME, NOT_AN_OBJECT})

# DRF's own query parameter choosing the renderer (``?format=json``), read before any view runs.
FORMAT_PARAMETERS = frozenset(filter(None, [api_settings.URL_FORMAT_OVERRIDE]))
# Query parameters every paginated list takes besides its filters (governance.kernel.input_guard.Pagination).
PAGINATION_PARAMETERS = frozenset({"limit", "offset"}) | FORMAT_PARAMETERS


def _refuse_unknown(names: Iterable[object], declared: Set[str], *, code: str, word: str) -> None:
    unknown = sorted(str(name) for name in names if name not in declared)
    if unknown:
        expected = ", ".join(sorted(declared)) or "none"
        raise ValidationError({name: [ErrorDetail(f"Unknown {word} {name!r}; expected: {expected}.", code=code)]
                               for name in unknown})


class StrictSerializer(serializers.Serializer[Any]):
    """A body serializer that refuses fields it does not declare, naming each (code ``unknown_field``)."""

    unknown_code = UNKNOWN_FIELD
    unknown_word = "field"
    passthrough: frozenset[str] = frozenset()
    # A rule across fields that ``validate`` enforces, stated for the OpenAPI schema beside it (governance.kernel.
    # api_schema): JSON Schema keywords merged into the serializer's object schema, e.g. an ``anyOf`` of ``required``.
    schema_rules: Mapping[str, Any] = {}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            declared = {name for name, field in self.fields.items() if not field.read_only}
            _refuse_unknown(data.keys(), declared | self.passthrough, code=self.unknown_code, word=self.unknown_word)
            _refuse_non_strings(data, self.fields)
        return super().to_internal_value(data)


# The JSON types each declared field takes. DRF reads leniently ("5" or 5.0 as an integer, 1 or "yes" as true, 0
# as the text "0"), so a value of the wrong type that the schema refuses would be accepted. Form and query values
# are all strings (QueryDict), so the rule is for JSON bodies.
_JSON_TYPES: tuple[tuple[type, tuple[type, ...], str], ...] = (
    (serializers.BooleanField, (bool,), "a boolean"),
    (serializers.CharField, (str,), "a string"),
    (serializers.DateTimeField, (str,), "a string"),
    (serializers.DateField, (str,), "a string"),
    (serializers.IntegerField, (int,), "an integer"),
    (serializers.FloatField, (int, float), "a number"),
    (serializers.ChoiceField, (str,), "a string"),
    (serializers.SlugRelatedField, (str,), "a string"),
    (serializers.PrimaryKeyRelatedField, (int,), "an integer"),
)


def _json_type_refusal(field: serializers.Field[Any, Any, Any, Any], value: object) -> str | None:
    if value is None:
        return None  # allow_null decides
    if isinstance(field, JSONObjectField):
        return None if isinstance(value, dict) else "an object"
    if isinstance(field, serializers.MultipleChoiceField):
        return None
    if isinstance(field, FiniteFloatField) and isinstance(value, str) and _spells_non_finite(value):
        return None  # the only way JSON can send NaN or infinity: the field refuses it as not_finite
    for kind, types, word in _JSON_TYPES:
        if isinstance(field, kind):
            if isinstance(field, serializers.ChoiceField) and not all(isinstance(c, str) for c in field.choices):
                return None
            wrong = not isinstance(value, types) or (isinstance(value, bool) and bool not in types)
            return word if wrong else None
    return None


def _spells_non_finite(text: str) -> bool:
    try:
        return len(text) <= 40 and not math.isfinite(float(text))
    except ValueError:
        return False


def _refuse_non_strings(data: Mapping[Any, Any], fields: Mapping[str, serializers.Field[Any, Any, Any, Any]]) -> None:
    """Each field of a JSON body takes its own JSON type: a number for a text, a string for a number or a boolean,
    text for an object are refused (code ``incorrect_type``), as the schema refuses them."""
    if isinstance(data, QueryDict):
        return
    wrong = {}
    for name, field in fields.items():
        if field.read_only or name not in data:
            continue
        expected = _json_type_refusal(field, data[name])
        if expected:
            code = NOT_AN_OBJECT if isinstance(field, JSONObjectField) else "incorrect_type"
            wrong[name] = [ErrorDetail(f"Expected {expected}, not {type(data[name]).__name__}.", code=code)]
    if wrong:
        raise ValidationError(wrong)


class StrictQuerySerializer(StrictSerializer):
    """Query parameters declared as a serializer (where a FilterSet does not fit, e.g. the gate): an undeclared
    parameter is refused with code ``unknown_parameter``."""

    unknown_code = UNKNOWN_PARAMETER
    unknown_word = "query parameter"
    passthrough = FORMAT_PARAMETERS


class StrictListQuery(StrictQuerySerializer):
    """A list's query parameters when it has no filters: only the page window (``limit``, ``offset``)."""

    passthrough = PAGINATION_PARAMETERS


class StrictFilterSet(django_filters.FilterSet):  # type: ignore[misc]  # django-filter ships no types
    """A list endpoint's filters: an undeclared query parameter is refused with code ``unknown_parameter``, and a
    value a filter cannot take is refused by DjangoFilterBackend with a 400 naming the filter."""

    passthrough = PAGINATION_PARAMETERS

    def is_valid(self) -> bool:
        _refuse_unknown(self.data.keys(), set(self.filters) | self.passthrough, code=UNKNOWN_PARAMETER,
                        word="query parameter")
        # ``?status=`` would otherwise mean "no filter" and answer everything: a filter given must have a value.
        empty = sorted(name for name in self.filters if name in self.data and self.data.get(name) == "")
        if empty:
            raise ValidationError({name: [ErrorDetail(f"Query parameter {name!r} is empty; give a value or leave it "
                                                      "out.", code=EMPTY_PARAMETER)] for name in empty})
        return bool(super().is_valid())


def validated(serializer_class: type[serializers.Serializer[Any]], data: Any, **context: Any) -> dict[str, Any]:
    """The input checked by its declared serializer; a 400 naming every fault otherwise."""
    serializer = serializer_class(data=data, context=context)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class FiniteFloatField(serializers.FloatField):
    """A number that is neither NaN nor infinite (nor a boolean, which JSON keeps apart from numbers)."""

    default_error_messages = {
        "not_finite": "Must be a finite number (not NaN or infinity).",
        "invalid": "A valid number is required.",
    }

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int | float) or (isinstance(data, str) and len(data) <= self.MAX_STRING_LENGTH):
            try:
                number = float(data)
            except (TypeError, ValueError, OverflowError):
                number = 0.0  # not a number at all: the plain field's refusal below says so
            if not math.isfinite(number):
                self.fail(NOT_FINITE)
        return super().to_internal_value(data)


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO-8601 time with its zone: a naive time is refused (code ``naive_datetime``) rather than read in the
    server's zone, since the sender's zone cannot be guessed."""

    default_error_messages = {NAIVE_DATETIME: "Give a time zone, e.g. 2026-05-01T12:00:00Z."}

    def to_internal_value(self, value: Any) -> Any:
        if isinstance(value, datetime.datetime):
            naive = timezone.is_naive(value)
        elif isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None
            naive = parsed is not None and parsed.tzinfo is None
        else:
            naive = False
        if naive:
            self.fail(NAIVE_DATETIME)
        return super().to_internal_value(value)


@extend_schema_field(OpenApiTypes.OBJECT)
class JSONObjectField(serializers.JSONField):
    """A JSON object: given as an object in a JSON body, or as JSON text in a form or multipart field. Anything
    else (a list, a number, text that is not JSON) is refused with code ``not_an_object``."""

    default_error_messages = {NOT_AN_OBJECT: "Must be a JSON object."}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str | bytes):
            try:
                data = input_guard.loads(data)
            except APIException:  # not JSON, nested too deep, or holding a NUL character
                self.fail(NOT_AN_OBJECT)
        if not isinstance(data, dict):
            self.fail(NOT_AN_OBJECT)
        return super().to_internal_value(data)
