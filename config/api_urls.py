"""The API's URLs under /api/v1/: each app's API views gathered in one place. Routing only, no logic."""

from django.urls import include, path

from governance.inventory import api as governance_api
from reporting import api as report_api
from reporting.regimes import api as file_api

urlpatterns = [
    path("models/", governance_api.ModelListCreate.as_view(), name="api-models"),
    path("models/<slug:slug>/", governance_api.ModelDetail.as_view(), name="api-model-detail"),
    path("models/<slug:slug>/versions/", governance_api.VersionCreate.as_view(), name="api-model-versions"),
    path("models/<slug:slug>/coverage/", file_api.ModelCoverage.as_view(), name="api-model-coverage"),
    path("models/<slug:slug>/regimes/", file_api.ModelRegimes.as_view(), name="api-model-regimes"),
    path("models/<slug:slug>/evidence-bundle/", file_api.EvidenceBundle.as_view(), name="api-model-evidence-bundle"),
    path("reports/", report_api.ReportListCreate.as_view(), name="api-reports"),
    path("reports/<int:pk>/", report_api.ReportDetail.as_view(), name="api-report-detail"),
    path("", include("readiness.api_urls")),
    path("", include("postmortems.api_urls")),
]
