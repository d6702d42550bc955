"""The API's URLs under /api/v1/: each app's API views gathered in one place. Routing only, no logic."""

from django.urls import include, path

from governance.inventory import api as governance_api
from governance.validation import api as validation_api
from reporting import api as report_api
from reporting.regimes import api as file_api

urlpatterns = [
    path("models/", governance_api.ModelListCreate.as_view(), name="api-models"),
    path("models/<slug:slug>/", governance_api.ModelDetail.as_view(), name="api-model-detail"),
    path("models/<slug:slug>/versions/", governance_api.VersionCreate.as_view(), name="api-model-versions"),
    path("models/<slug:slug>/coverage/", file_api.ModelCoverage.as_view(), name="api-model-coverage"),
    path("models/<slug:slug>/regimes/", file_api.ModelRegimes.as_view(), name="api-model-regimes"),
    path("models/<slug:slug>/evidence-bundle/", file_api.EvidenceBundle.as_view(), name="api-model-evidence-bundle"),
    path("models/<slug:slug>/validations/", validation_api.ModelValidations.as_view(), name="api-model-validations"),
    path("models/<slug:slug>/revalidation-needs/", validation_api.ModelRevalidationNeeds.as_view(),
         name="api-model-revalidation-needs"),
    path("models/<slug:slug>/materiality/", validation_api.ModelMateriality.as_view(), name="api-model-materiality"),
    path("models/<slug:slug>/is-model/", validation_api.ModelIsModel.as_view(), name="api-model-is-model"),
    path("models/<slug:slug>/validation-waivers/", validation_api.ModelWaiverCreate.as_view(),
         name="api-model-validation-waivers"),
    path("revalidation-needs/<int:need_id>/dismiss/", validation_api.RevalidationNeedDismiss.as_view(),
         name="api-revalidation-need-dismiss"),
    path("validations/<int:validation_id>/", validation_api.ValidationDetail.as_view(), name="api-validation-detail"),
    path("validations/<int:validation_id>/findings/", validation_api.FindingCreate.as_view(),
         name="api-validation-findings"),
    path("validations/<int:validation_id>/sign/", validation_api.ValidationSign.as_view(), name="api-validation-sign"),
    path("findings/<int:finding_id>/", validation_api.FindingDetail.as_view(), name="api-finding-detail"),
    path("findings/<int:finding_id>/remediate/", validation_api.FindingRemediate.as_view(),
         name="api-finding-remediate"),
    path("findings/<int:finding_id>/retest/", validation_api.FindingRetest.as_view(), name="api-finding-retest"),
    path("findings/<int:finding_id>/delegate/", validation_api.FindingDelegate.as_view(), name="api-finding-delegate"),
    path("findings/<int:finding_id>/reopen/", validation_api.FindingReopen.as_view(), name="api-finding-reopen"),
    path("evidence-bundles/<int:pk>/", file_api.EvidenceBundleDetail.as_view(), name="api-evidence-bundle-detail"),
    path("reports/", report_api.ReportListCreate.as_view(), name="api-reports"),
    path("reports/<int:pk>/", report_api.ReportDetail.as_view(), name="api-report-detail"),
    path("", include("readiness.api_urls")),
    path("", include("postmortems.api_urls")),
]
