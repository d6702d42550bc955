"""The OpenAPI schema documents every answer an operation can give, errors included, in one place: every
error the API produces has the same body (``code``, ``detail``, and ``field``/``errors`` for invalid input).

It also states every rule the input layer enforces, so that a client (or a fuzzer) that follows the schema is never
refused and one that breaks it always is: no text holds a NUL character (governance.kernel.input_guard); a filter
given must have a value (StrictFilterSet); a strict body takes no undeclared field; and a rule across fields that
a serializer checks in ``validate`` is declared beside it as ``schema_rules`` (``oneOf``/``anyOf`` of ``required``
sets), which a query serializer carries as one exploded object parameter, since OpenAPI has no rule across
separate parameters."""

import copy
from typing import Any, Literal

from drf_spectacular import openapi
from drf_spectacular.plumbing import build_parameter_type, force_instance, is_basic_serializer
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from governance.kernel.api_inputs import StrictSerializer

# Every text the API reads refuses a NUL character (input_guard.check_strings); ECMA-262 and Python read it alike.
NO_NUL_PATTERN = r"^[^\x00]*$"
# Formats whose values cannot hold a NUL character, so the pattern would add nothing.
_FORMATTED = frozenset({"date", "date-time", "binary", "uuid", "uri", "email", "ipv4", "ipv6", "byte"})


RULES_KEY = "x-gatehouse-rules"


def _merge_rules(node: Any) -> None:
    if isinstance(node, dict):
        rules = node.pop(RULES_KEY, None)
        for child in list(node.values()):
            _merge_rules(child)
        if rules:
            node.update(rules)
            refuse_nul(node)
    elif isinstance(node, list):
        for child in node:
            _merge_rules(child)


def apply_schema_rules(result: dict[str, Any], generator: Any, request: Any, public: Any) -> dict[str, Any]:
    """Postprocessing hook, after the enum hook: each serializer's ``schema_rules`` into its object schema."""
    _merge_rules(result)
    return result


def refuse_nul(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with the no-NUL pattern on every free text inside it (a pattern of its own already decides)."""
    if not isinstance(schema, dict):
        return schema
    if schema.get("type") == "string" and not ({"pattern", "enum"} & set(schema)) \
            and schema.get("format") not in _FORMATTED:
        schema["pattern"] = NO_NUL_PATTERN
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            refuse_nul(schema[key])
    for child in (schema.get("properties") or {}).values():
        refuse_nul(child)
    for key in ("oneOf", "anyOf", "allOf"):
        for child in schema.get(key) or []:
            refuse_nul(child)
    return schema


class ErrorItem(serializers.Serializer[Any]):
    field = serializers.CharField(allow_null=True)
    detail = serializers.CharField()
    code = serializers.CharField(help_text="Stable machine-readable reason for this field, e.g. required, "
                                           "invalid_choice, unknown_parameter, not_finite, naive_datetime")


class ErrorOut(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="Stable machine-readable reason, e.g. invalid, not_found, conflict, "
                                           "unknown_parameter, unknown_field, not_finite, naive_datetime")
    detail = serializers.CharField(help_text="What went wrong, for a person")
    field = serializers.CharField(required=False, help_text="The input at fault, when one is")
    errors = ErrorItem(many=True, required=False, help_text="Every invalid field, for validation errors")  # type: ignore[assignment]  # the answer's field is named like Serializer.errors


ERRORS = {
    "400": "Invalid input: a parameter or field is missing, malformed or out of range",
    "401": "No credentials, or a token that is unknown, expired or revoked",
    "403": "The caller may not do this (role, scope or model limit)",
    "404": "No such object, or not visible to the caller",
    "409": "The object's state does not allow this, or the Idempotency-Key was used for another request",
    "413": "The body or an uploaded file is over the size limit",
    "415": "The body's content type is not accepted",
    "503": "The database is unavailable; retry later",
}


class AutoSchema(openapi.AutoSchema):
    def _error_statuses(self) -> list[str]:
        statuses = ["400", "401", "403", "503"]
        if "{" in self.path or self.method in ("POST", "PUT", "PATCH"):
            statuses.append("404")  # the path's object, or an object a body names (a model, a version, a person)
        if self.method in ("POST", "PUT", "PATCH"):
            statuses += ["409", "413", "415"]
        return statuses

    def _map_serializer(self, serializer: Any, direction: Any, bypass_extensions: bool = False) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_serializer(serializer, direction, bypass_extensions)  # type: ignore[no-untyped-call]  # drf-spectacular leaves it unannotated
        # A strict body refuses every field it does not declare (unknown_field): the schema says so, so that no
        # client (or fuzzer) takes an extra property for one the server ignores.
        instance = force_instance(serializer)  # type: ignore[no-untyped-call]  # drf-spectacular leaves it unannotated
        if (direction == "request" and isinstance(instance, StrictSerializer) and not instance.passthrough
                and schema.get("type") == "object"):
            schema["additionalProperties"] = False
        if direction == "request":
            rules = getattr(instance, "schema_rules", None)
            if rules and schema.get("type") == "object":
                # Merged by apply_schema_rules once drf-spectacular has named the enums, which would otherwise
                # turn a branch's one-value enums into shared components.
                schema[RULES_KEY] = copy.deepcopy(dict(rules))
            refuse_nul(schema)
        return schema

    def _map_serializer_field(self, field: Any, direction: Any, bypass_extensions: bool = False) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_serializer_field(field, direction, bypass_extensions)  # type: ignore[no-untyped-call]  # drf-spectacular leaves it unannotated
        if (isinstance(field, serializers.ListField | serializers.ListSerializer) and not field.allow_empty
                and schema.get("type") == "array"):
            schema["minItems"] = max(1, schema.get("minItems", 0))  # "This list may not be empty."
        return schema

    def _process_override_parameters(self, direction: str = "request") -> dict[Any, Any]:
        result: dict[Any, Any] = super()._process_override_parameters(direction)  # type: ignore[no-untyped-call]  # drf-spectacular leaves it unannotated
        for parameter in self.get_override_parameters():
            instance = force_instance(parameter) if is_basic_serializer(parameter) else None  # type: ignore[no-untyped-call]
            if instance is None or not getattr(instance, "schema_rules", None):
                continue
            # A rule across query parameters: one object parameter, exploded into the same query string.
            mapped = self._map_serializer(instance, "request")
            for name in mapped.get("properties", {}):
                result.pop((name, OpenApiParameter.QUERY), None)
            name = getattr(instance, "schema_name", type(instance).__name__)
            result[name, OpenApiParameter.QUERY] = build_parameter_type(
                name=name, schema=mapped, location=OpenApiParameter.QUERY, required=True, style="form", explode=True,
                description=(type(instance).__doc__ or "").strip() or None)
        return result

    def _get_filter_parameters(self) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super()._get_filter_parameters()  # type: ignore[no-untyped-call]  # drf-spectacular leaves it unannotated
        for parameter in parameters:
            schema = parameter.get("schema") or {}
            if schema.get("type") == "string" and "enum" not in schema:
                schema.setdefault("minLength", 1)  # StrictFilterSet: ``?model=`` is refused, not read as "any"
            refuse_nul(schema)
        return parameters

    def _get_response_bodies(self, direction: Literal["request", "response"] = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for status in self._error_statuses():
            if status not in responses:
                responses[status] = self._get_response_for_code(  # type: ignore[no-untyped-call]  # drf-spectacular leaves it unannotated
                    OpenApiResponse(ErrorOut, description=ERRORS[status]), status, direction=direction)
        return dict(sorted(responses.items()))
