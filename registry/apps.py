from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "MLflow Model Registry"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from governance.dashboard import register_panel
        from governance.reports.gather import register_pack_section
        from readiness.models import LaunchRequest
        from readiness.signals import launch_rolled_back, stage_entered

        from . import receivers
        from .dashboard import registry_pack_section, registry_panels

        stage_entered.connect(receivers.stage_entered, sender=LaunchRequest, dispatch_uid="registry.stage_entered")
        launch_rolled_back.connect(receivers.launch_rolled_back, sender=LaunchRequest,
                                   dispatch_uid="registry.launch_rolled_back")
        register_panel(registry_panels)
        register_pack_section(registry_pack_section)
