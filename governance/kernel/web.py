"""What every web view shares: a service's refusal shown beside its field or as a message (one place for every
page's ``DomainError``), a permission check that answers 403, and the 403 page itself. Views in every app use
these; nothing here knows any app's records or rules."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render

from governance.kernel.errors import DomainError
from governance.kernel.permissions import can
from governance.kernel.principals import Requester


def form_error(form: BaseForm, error: DomainError) -> None:
    """Show a service's refusal next to the field it names (or above the form)."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


class refusal_shown:  # noqa: N801 - used as a statement (``with refusal_shown(...)``), named like one
    """Run a service call; if the service refuses (a ``DomainError``), show the refusal and carry on instead of
    answering 500. With a form the refusal goes beside the field it names (``form_error``); without one it becomes
    an error message for the next page, beside ``place`` (``say``). True afterwards when the call was refused::

        with refusal_shown(request, form=form) as refused:
            launch = services.create_launch(...)
        if not refused:
            return redirect(launch)

    ``adapt`` renames the error's field first, for forms whose fields are named differently from the service's.
    """

    def __init__(self, request: HttpRequest, *, form: BaseForm | None = None, place: str = "",
                 adapt: Callable[[DomainError], DomainError] | None = None) -> None:
        self.request, self.form, self.place, self.adapt = request, form, place, adapt
        self.error: DomainError | None = None

    def __enter__(self) -> refusal_shown:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> bool:
        if not isinstance(exc, DomainError):
            return False
        self.error = self.adapt(exc) if self.adapt else exc
        if self.form is not None:
            form_error(self.form, self.error)
        else:
            say(self.request, messages.ERROR, self.error.message, place=self.place)
        return True

    def __bool__(self) -> bool:
        return self.error is not None


def field_without(prefix: str) -> Callable[[DomainError], DomainError]:
    """An ``adapt`` for ``refusal_shown``: the service names a nested key (``payload.threshold``), the form's field
    carries the bare name (``threshold``)."""
    def adapt(error: DomainError) -> DomainError:
        if error.field and error.field.startswith(prefix):
            error.field = error.field.removeprefix(prefix)
        return error
    return adapt


def deny_unless(user: Requester, action: str, obj: object = None) -> None:
    if not can(user, action, obj):
        raise PermissionDenied(f"You may not {action.replace('.', ' ')}.")



def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = str(exception) if exception else "You do not have permission to do that."
    return render(request, "403.html", {"message": message}, status=403)


PLACE_TAG = "at-"


def say(request: HttpRequest, level: int, message: str, *, place: str = "") -> None:
    """Queue a message for the next page, shown beside the control that caused it: the page renders
    ``{% feedback place %}`` next to that control, and base.html shows only messages without a place."""
    messages.add_message(request, level, message, extra_tags=f"{PLACE_TAG}{place}" if place else "")


def redirect_to_place(url: str, place: str) -> HttpResponseRedirect:
    """Back to a page, scrolled to the feedback beside the control (its id is ``fb-<place>``)."""
    return redirect(f"{url}#fb-{place}")


def reauth_context(request: HttpRequest) -> dict[str, object]:
    """What the re-authentication box on signing, approving and waiving pages shows."""
    from datetime import UTC, datetime

    from django.conf import settings

    from governance.kernel.reauth import max_age_seconds, sso_proof

    proof = sso_proof(request) or {}
    fresh = None
    if proof.get("auth_time"):
        at = datetime.fromtimestamp(int(proof["auth_time"]), tz=UTC)
        if (datetime.now(tz=UTC) - at).total_seconds() <= max_age_seconds():
            fresh = at
    return {"reauth_fresh": fresh, "sso_name": settings.OIDC_PROVIDER_NAME}
