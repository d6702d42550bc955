"""``manage.py mlflow_alias``: map a tier's rollout stage to an MLflow alias, or list the mappings,
through the registry services.
"""

from django.core.management.base import BaseCommand, CommandError

from governance.kernel.errors import DomainError
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
                raise CommandError("Give a tier, a stage and an alias.")
            try:
                set_alias_mapping(actor=SystemActor("mlflow_alias"), tier=tier, stage=stage, alias=alias)
            except DomainError as error:
                raise CommandError(error.message) from None
        for mapping in AliasMapping.objects.all():
            self.stdout.write(str(mapping))
