"""``manage.py mlflow_alias``: map a tier's rollout stage to an MLflow alias, or list the mappings,
through the registry services.
"""

from django.core.management.base import BaseCommand

from governance.kernel.errors import CommandFailed, DomainError
from governance.kernel.principals import SystemActor
from registry.models import AliasMapping
from registry.services import set_alias_mapping


class Command(BaseCommand):
    help = ("Map a rollout stage of a tier to an MLflow alias, e.g. `mlflow_alias TIER_1 full champion`; an empty "
            "alias removes the mapping. Without arguments, list the mappings.")

    def add_arguments(self, parser):
        parser.add_argument("tier", nargs="?")
        parser.add_argument("stage", nargs="?")
        parser.add_argument("alias", nargs="?", default="")

    def handle(self, *args, tier, stage, alias, **options):
        if tier:
            if not stage:
                raise CommandFailed("Give a tier, a stage and an alias.", code="missing_arguments")
            try:
                set_alias_mapping(actor=SystemActor("mlflow_alias"), tier=tier, stage=stage, alias=alias)
            except DomainError as error:
                raise CommandFailed(error.message, code=error.code) from None
        for mapping in AliasMapping.objects.all():
            self.stdout.write(str(mapping))
