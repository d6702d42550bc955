from django.apps import AppConfig


class ReadinessConfig(AppConfig):
    name = "readiness"
    verbose_name = "Launch readiness"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from governance.dashboard import register_panel

        from .dashboard import launch_panels

        register_panel(launch_panels)
