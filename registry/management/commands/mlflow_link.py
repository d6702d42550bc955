"""``manage.py mlflow_link``: link a Gatehouse model to a registered model in MLflow, through the registry
services.
"""

from django.core.management.base import BaseCommand, CommandError

from governance.kernel.errors import DomainError
from governance.kernel.principals import SystemActor
from governance.models import MLModel
from registry.services import link_model


class Command(BaseCommand):
    help = "Link a Gatehouse model (by slug) to a registered model in MLflow (by name)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("registered_model")

    def handle(self, *args, slug, registered_model, **options):
        model = MLModel.objects.filter(slug=slug).first()
        if model is None:
            raise CommandError(f"Unknown model slug {slug!r}.")
        try:
            link = link_model(model, actor=SystemActor("mlflow_link"), registered_model=registered_model)
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Linked {link}.")
