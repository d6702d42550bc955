"""``manage.py sync_mlflow``: bring new MLflow versions in, check aliases and retry alias changes, through
the registry services.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from governance.kernel.errors import CommandFailed, DomainError
from registry import mlflow, services
from registry.models import RegistryLink


class Command(BaseCommand):
    help = ("Bring new MLflow versions of linked models into Gatehouse, check governed aliases, and retry alias "
            "changes MLflow has not taken yet (what the periodic Celery tasks run).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", help="Only this Gatehouse model (slug)")

    def handle(self, *args: Any, model: str | None = None, **options: Any) -> None:
        if not mlflow.enabled():
            raise CommandFailed("The MLflow integration is off: set MLFLOW_TRACKING_URI (and MLFLOW_TRACKING_TOKEN "
                               "if the server needs one).", code="mlflow_off")
        links = RegistryLink.objects.select_related("model").order_by("pk")
        if model:
            links = links.filter(model__slug=model)
            if not links:
                raise CommandFailed(f"{model!r} is not linked to MLflow (see `manage.py mlflow_link`).", code="not_linked")
        failed = False
        for link in links:
            try:
                summary = services.sync_link(link)
            except DomainError as error:
                failed = True
                self.stderr.write(f"{link.registered_model}: {error.message}")
                continue
            self.stdout.write(f"{link.registered_model}: " + ", ".join(f"{k} {v}" for k, v in summary.items()))
        retried = services.retry_pending()
        self.stdout.write("alias changes: " + ", ".join(f"{k} {v}" for k, v in retried.items()))
        if failed:
            raise CommandFailed("Some registered models could not be synced; nothing was written for them.", code="sync_failed")
