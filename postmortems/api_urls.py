from django.urls import path

from . import api

urlpatterns = [
    path("incidents/", api.IncidentListCreate.as_view(), name="api-incidents"),
    path("incidents/<int:pk>/", api.IncidentDetail.as_view(), name="api-incident-detail"),
    path("incidents/<int:pk>/timeline/", api.TimelineCreate.as_view(), name="api-incident-timeline"),
]
