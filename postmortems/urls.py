"""URLs of the incident and postmortem pages. Routing only."""

from django.urls import path

from . import views

app_name = "postmortems"

urlpatterns = [
    path("incidents/", views.incident_list, name="incident_list"),
    path("incidents/new/", views.incident_create, name="incident_create"),
    path("incidents/insights/", views.insights, name="insights"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident_detail"),
    path("incidents/<int:pk>/edit/", views.incident_edit, name="incident_edit"),
    path("incidents/<int:pk>/transition/", views.incident_transition, name="incident_transition"),
    path("incidents/<int:pk>/timeline/", views.timeline_add, name="timeline_add"),
    path("incidents/<int:pk>/factors/", views.factor_add, name="factor_add"),
    path("incidents/<int:pk>/obligations/<str:kind>/", views.obligation_add, name="obligation_add"),
    path("incidents/<int:pk>/actions/", views.action_item_add, name="action_item_add"),
    path("incidents/<int:pk>/actions/<int:item_pk>/", views.action_item, name="action_item"),
    path("incidents/<int:pk>/postmortem/", views.postmortem, name="postmortem"),
    path("incidents/<int:pk>/postmortem/edit/", views.postmortem_edit, name="postmortem_edit"),
    path("incidents/<int:pk>/postmortem/check/", views.postmortem_check, name="postmortem_check"),
    path("incidents/<int:pk>/postmortem/submit/", views.postmortem_submit, name="postmortem_submit"),
    path("incidents/<int:pk>/postmortem/review/", views.postmortem_review, name="postmortem_review"),
    path("incidents/<int:pk>/postmortem/publish/", views.postmortem_publish, name="postmortem_publish"),
    path("incidents/<int:pk>/postmortem/amend/", views.postmortem_amend, name="postmortem_amend"),
    path("incidents/<int:pk>/postmortem/export.md", views.postmortem_export, {"fmt": "md"},
         name="postmortem_export_md"),
    path("incidents/<int:pk>/postmortem/export.json", views.postmortem_export, {"fmt": "json"},
         name="postmortem_export_json"),
]
