from django.apps import AppConfig


class PostmortemsConfig(AppConfig):
    name = "postmortems"
    verbose_name = "Incidents and postmortems"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from governance.dashboard import register_panel

        from .selectors import dashboard_panels

        register_panel(dashboard_panels)
