"""The postmortems app's configuration: opens an incident when readiness signals a rollback. May connect
only to signals of its own layer or below.
"""

from django.apps import AppConfig


class PostmortemsConfig(AppConfig):
    name = "postmortems"
    verbose_name = "Incidents and postmortems"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from governance.kernel import visibility
        from postmortems import receivers
        from postmortems.models import Incident
        from readiness.signals import launch_rolled_back

        visibility.register_incident_model(Incident)
        launch_rolled_back.connect(receivers.open_rollback_incident, dispatch_uid="postmortems.rollback_incident")
