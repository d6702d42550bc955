from django.apps import AppConfig


class PostmortemsConfig(AppConfig):
    name = "postmortems"
    verbose_name = "Incidents and postmortems"
    default_auto_field = "django.db.models.BigAutoField"
