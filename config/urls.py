from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from dashboard.views import dashboard
from governance.kernel import sso


def healthz(request):
    """Liveness for load balancers; also the baseline the gate benchmark compares against."""
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("", dashboard, name="dashboard"),
    path("healthz", healthz, name="healthz"),
    path("login/", sso.LoginPage.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("sso/login/", sso.Login.as_view(), name="sso_login"),
    path("sso/callback/", sso.Callback.as_view(), name="sso_callback"),
    path("admin/", admin.site.urls),
    path("", include("governance.urls")),
    path("", include("readiness.urls")),
    path("", include("postmortems.urls")),
    path("", include("reporting.urls")),
    path("api/v1/", include("config.api_urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

handler403 = "governance.kernel.web.permission_denied"
