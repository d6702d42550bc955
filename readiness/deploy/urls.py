"""URLs of the deploy-tool contracts, under /api/v1/gate/<tool>/. Routing only."""

from django.urls import path

from . import argo, flagger, github, spinnaker

urlpatterns = [
    path("gate/argo/", argo.ArgoWebMetric.as_view(), name="api-gate-argo"),
    path("gate/kargo/", argo.KargoCheck.as_view(), name="api-gate-kargo"),
    path("gate/flagger/<str:hook>/", flagger.FlaggerWebhook.as_view(), name="api-gate-flagger"),
    path("gate/spinnaker/", spinnaker.SpinnakerStart.as_view(), name="api-gate-spinnaker"),
    path("gate/spinnaker/checks/<int:check>/", spinnaker.SpinnakerStatusView.as_view(),
         name="api-gate-spinnaker-status"),
    path("gate/github/", github.GitHubWebhook.as_view(), name="api-gate-github"),
]
