"""URLs of the readiness API (the gate, receipt keys, launches). Routing only."""

from django.urls import include, path

from . import api

urlpatterns = [
    path("gate/", api.Gate.as_view(), name="api-gate"),
    path("", include("readiness.deploy.urls")),
    path("keys/", api.ReceiptKeys.as_view(), name="api-receipt-keys"),
    path("receipts/verify/", api.ReceiptVerify.as_view(), name="api-receipt-verify"),
    path("launches/", api.LaunchList.as_view(), name="api-launches"),
    path("launches/<int:pk>/", api.LaunchDetail.as_view(), name="api-launch-detail"),
    path("launches/<int:pk>/evaluations/", api.EvaluationCreate.as_view(), name="api-launch-evaluations"),
    path("launches/<int:pk>/evaluations/<int:evaluation_id>/groups.csv", api.EvaluationGroupsCsv.as_view(),
         name="api-evaluation-groups-csv"),
    path("launches/<int:pk>/observations/", api.ObservationsCreate.as_view(), name="api-launch-observations"),
    path("launches/<int:pk>/advance/", api.Advance.as_view(), name="api-launch-advance"),
    path("launches/<int:pk>/rollback/", api.Rollback.as_view(), name="api-launch-rollback"),
]
