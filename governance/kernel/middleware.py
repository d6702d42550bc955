"""Middleware of the kernel layer: ``Cache-Control: no-store`` for signed-in answers. Imports nothing
above the kernel.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers, patch_cache_control


def no_store_when_signed_in(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Pages and API answers for a signed-in person or token are never stored by a browser or a shared cache:
    the back button on a shared machine must not show a restricted incident after sign-out."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
            patch_cache_control(response, private=True)
        return response

    return middleware


# gunicorn.conf.py lets request lines up to gunicorn's maximum (8190 bytes) through; the application answers
# JSON 414 above this, so a client gets the same error format as for any other refused request.
MAX_REQUEST_TARGET = 8000


def refuse_long_request_targets(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """A path and query longer than MAX_REQUEST_TARGET get a JSON 414 naming the limit, before any view runs."""

    def middleware(request: HttpRequest) -> HttpResponse:
        length = len(request.get_full_path())
        if length > MAX_REQUEST_TARGET:
            return JsonResponse({"code": "uri_too_long", "detail": (
                f"The request path and query are {length} characters; the limit is {MAX_REQUEST_TARGET}. "
                "Send long input in a POST body.")}, status=414)
        return get_response(request)

    return middleware
