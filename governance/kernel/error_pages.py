"""Django's last-resort error answers, in JSON under /api/ (with the API's ``code`` and ``detail``) and as pages
elsewhere: an unknown API path, a refused request or a server error never answers a CI client with HTML."""

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from governance.kernel import web
from governance.kernel.input_guard import is_api


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request) and isinstance(exception, RequestDataTooBig):
        return JsonResponse({"code": "payload_too_large", "detail": str(exception)}, status=413)
    if is_api(request):
        return JsonResponse({"code": "invalid", "detail": "The request could not be read."}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"code": "permission_denied", "detail": str(exception) or "Permission denied."},
                            status=403)
    return web.permission_denied(request, exception)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"code": "not_found", "detail": f"No API endpoint at {request.path}."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return JsonResponse({"code": "internal_error", "detail": "Gatehouse failed to answer; the error is logged."},
                            status=500)
    return defaults.server_error(request)
