"""URLs of the registry: the MLflow webhook. Routing only."""

from django.urls import path

from . import views

app_name = "registry"
urlpatterns = [
    path("registry/mlflow/webhook/", views.mlflow_webhook, name="mlflow_webhook"),
]
