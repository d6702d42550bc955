"""Domain errors: raised by services, shown next to a form field or mapped once to a 4xx answer.

Every error carries a stable ``code`` (snake_case, part of the API's answer) besides its message: callers, scripts
and tests tell errors apart by the code, and by ``field`` for a refused input, never by the wording.
"""

from django.core.management.base import CommandError


class DomainError(Exception):
    """A rule of the domain refused the request. ``field`` names the input at fault, when one is."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    def as_dict(self) -> dict[str, str]:
        body = {"code": self.code, "detail": self.message}
        if self.field:
            body["field"] = self.field
        return body


class ValidationFailed(DomainError):
    code = "invalid"


class PermissionDenied(DomainError):
    status_code = 403
    code = "permission_denied"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    """The request is well-formed but the object's current state does not allow it."""

    status_code = 409
    code = "conflict"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"


class CommandFailed(CommandError):
    """A management command refused or failed. ``code`` says why, as a domain error's does; ``reasons`` lists the
    codes of the individual findings when a check found several. The exit status is ``returncode`` (1 unless
    a command documents another)."""

    def __init__(self, message: str, *, code: str, reasons: tuple[str, ...] = (), returncode: int = 1):
        super().__init__(message, returncode=returncode)
        self.code = code
        self.reasons = reasons
