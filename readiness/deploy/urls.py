"""URLs of the deploy-tool contracts, under /api/v1/gate/<tool>/. Routing only."""

from django.urls import path

from . import argo, flagger

urlpatterns = [
    path("gate/argo/", argo.ArgoWebMetric.as_view(), name="api-gate-argo"),
    path("gate/kargo/", argo.KargoCheck.as_view(), name="api-gate-kargo"),
    path("gate/flagger/<str:hook>/", flagger.FlaggerWebhook.as_view(), name="api-gate-flagger"),
]
