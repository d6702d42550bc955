"""The site's URLs: each app's pages, sign-in, the admin, the API and its schema. Routing only, no logic."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.health import healthz
from dashboard.views import dashboard
from governance.kernel import sso


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema, as plain JSON unless YAML is asked for (``?format=yaml`` or ``Accept:
    application/yaml``): a browser shows JSON in the tab, where it would download an OpenAPI media type."""

    renderer_classes = [OpenApiJsonRenderer2, OpenApiJsonRenderer, OpenApiYamlRenderer, OpenApiYamlRenderer2]

urlpatterns = [
    path("", dashboard, name="dashboard"),
    path("healthz", healthz, name="healthz"),
    path("login/", sso.LoginPage.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("sso/login/", sso.Login.as_view(), name="sso_login"),
    path("sso/callback/", sso.Callback.as_view(), name="sso_callback"),
    path("admin/", admin.site.urls),
    path("", include("governance.urls")),
    path("", include("governance.validation.urls")),
    path("", include("readiness.urls")),
    path("", include("postmortems.urls")),
    path("", include("reporting.urls")),
    path("", include("registry.urls")),
    path("api/v1/", include("config.api_urls")),
    path("api/v1/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
]

handler400 = "governance.kernel.error_pages.bad_request"
handler403 = "governance.kernel.error_pages.permission_denied"
handler404 = "governance.kernel.error_pages.not_found"
handler500 = "governance.kernel.error_pages.server_error"
