"""URLs of the incidents API (incidents, timelines, obligations). Routing only."""

from django.urls import path

from . import api, obligations_api

urlpatterns = [
    path("incidents/", api.IncidentListCreate.as_view(), name="api-incidents"),
    path("incidents/<int:pk>/", api.IncidentDetail.as_view(), name="api-incident-detail"),
    path("incidents/<int:pk>/timeline/", api.TimelineCreate.as_view(), name="api-incident-timeline"),
    path("incidents/<int:pk>/impact-counts/", obligations_api.ImpactCountListCreate.as_view(),
         name="api-incident-impact-counts"),
    path("incidents/<int:pk>/remediations/", obligations_api.RemediationListCreate.as_view(),
         name="api-incident-remediations"),
    path("incidents/<int:pk>/notifications/", obligations_api.NotificationListCreate.as_view(),
         name="api-incident-notifications"),
    path("incidents/<int:pk>/asks/", obligations_api.AskListCreate.as_view(), name="api-incident-asks"),
]
