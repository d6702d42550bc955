"""``manage.py mlflow_link``: link a Gatehouse model to a registered model in MLflow, through the registry
services.
"""

from django.core.management.base import BaseCommand

from governance.kernel.errors import CommandFailed, DomainError
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
            raise CommandFailed(f"Unknown model slug {slug!r}.", code="unknown_model")
        try:
            link = link_model(model, actor=SystemActor("mlflow_link"), registered_model=registered_model)
        except DomainError as error:
            raise CommandFailed(error.message, code=error.code) from None
        self.stdout.write(f"Linked {link}.")
