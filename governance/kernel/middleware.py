"""Middleware of the kernel layer: ``Cache-Control: no-store`` for signed-in answers. Imports nothing
above the kernel.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
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
