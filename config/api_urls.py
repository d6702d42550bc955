from django.urls import include, path

from governance import api as governance_api

urlpatterns = [
    path("models/", governance_api.ModelListCreate.as_view(), name="api-models"),
    path("models/<slug:slug>/", governance_api.ModelDetail.as_view(), name="api-model-detail"),
    path("models/<slug:slug>/versions/", governance_api.VersionCreate.as_view(), name="api-model-versions"),
    path("", include("readiness.api_urls")),
    path("", include("postmortems.api_urls")),
]
