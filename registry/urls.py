"""URLs of the registry: the MLflow webhook, a model's guard mode, and where an alias pointed on a day. Routing only."""

from django.urls import path

from . import views

app_name = "registry"
urlpatterns = [
    path("registry/mlflow/webhook/", views.mlflow_webhook, name="mlflow_webhook"),
    path("models/<slug:slug>/registry/guard/", views.guard_mode, name="guard_mode"),
    path("models/<slug:slug>/registry/alias-on-day/", views.alias_on_day, name="alias_on_day"),
]
