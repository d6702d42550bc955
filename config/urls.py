from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.health import healthz
from dashboard.views import dashboard

urlpatterns = [
    path("", dashboard, name="dashboard"),
    path("healthz", healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(template_name="registration/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("governance.urls")),
    path("", include("readiness.urls")),
    path("", include("postmortems.urls")),
    path("", include("reporting.urls")),
    path("api/v1/", include("config.api_urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
]

handler400 = "governance.kernel.error_pages.bad_request"
handler403 = "governance.kernel.error_pages.permission_denied"
handler404 = "governance.kernel.error_pages.not_found"
handler500 = "governance.kernel.error_pages.server_error"
