"""The reporting app's configuration: registers the report task in every process."""

from django.apps import AppConfig


class ReportingConfig(AppConfig):
    """The three PDF reports: gathering what they show, presenting it, rendering and storing the file."""

    name = "reporting"
    verbose_name = "Reports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Services find the generation task by name; make sure it is registered in every process, not only
        # in workers (where Celery's autodiscovery would import it).
        from governance.inventory.signals import model_page_context
        from reporting import tasks  # noqa: F401
        from reporting.regimes import receivers

        model_page_context.connect(receivers.model_file_section, dispatch_uid="reporting.model_file_section")
