from django.urls import path

from . import views

app_name = "governance"

urlpatterns = [
    path("models/", views.model_list, name="model_list"),
    path("models/new/", views.model_create, name="model_create"),
    path("models/<slug:slug>/", views.model_detail, name="model_detail"),
    path("models/<slug:slug>/edit/", views.model_edit, name="model_edit"),
    path("models/<slug:slug>/versions/new/", views.version_create, name="version_create"),
    path("models/<slug:slug>/versions/<str:version>/features/new/", views.feature_add, name="feature_add"),
    path("models/<slug:slug>/versions/<str:version>/features/<int:feature_id>/", views.feature_edit,
         name="feature_edit"),
]
