from django.apps import AppConfig


class ReadinessConfig(AppConfig):
    name = "readiness"
    verbose_name = "Launch readiness"
    default_auto_field = "django.db.models.BigAutoField"
