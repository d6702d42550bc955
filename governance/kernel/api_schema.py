"""The OpenAPI schema documents every answer an operation can give, errors included, in one place: every
error the API produces has the same body (``code``, ``detail``, and ``field``/``errors`` for invalid input)."""

from typing import Any, Literal

from drf_spectacular import openapi
from drf_spectacular.plumbing import force_instance
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from governance.kernel.api_inputs import StrictSerializer


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
        if "{" in self.path:
            statuses.append("404")
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
        return schema

    def _get_response_bodies(self, direction: Literal["request", "response"] = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for status in self._error_statuses():
            if status not in responses:
                responses[status] = self._get_response_for_code(  # type: ignore[no-untyped-call]  # drf-spectacular leaves it unannotated
                    OpenApiResponse(ErrorOut, description=ERRORS[status]), status, direction=direction)
        return dict(sorted(responses.items()))
