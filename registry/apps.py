"""The registry app's configuration: connects alias actuation to readiness's stage and rollback signals
and registers its tasks.
"""

from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "MLflow Model Registry"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from governance.inventory.signals import model_page_context
        from readiness.models import LaunchRequest
        from readiness.signals import launch_rolled_back, stage_entered

        from . import receivers, tasks  # noqa: F401 - tasks: registered in every process, found by name

        stage_entered.connect(receivers.stage_entered, sender=LaunchRequest, dispatch_uid="registry.stage_entered")
        launch_rolled_back.connect(receivers.launch_rolled_back, sender=LaunchRequest,
                                   dispatch_uid="registry.launch_rolled_back")
        model_page_context.connect(receivers.model_registry_section, dispatch_uid="registry.model_page_context")
