"""``python manage.py export_evidence_bundle --model SLUG [--regime NAME] [--as USERNAME] -o FILE.zip``

The model's signed evidence bundle (reporting.bundle.export). With ``--as`` it is gathered as that person may see
it (they must be allowed to export: Compliance, Legal or Model Risk); without, as Gatehouse itself, restricted
incidents included, like ``render_report``: whoever runs it has the database anyway.
"""

from pathlib import Path

from django.core.management.base import BaseCommand

from governance.inventory.models import MLModel
from governance.kernel.errors import CommandFailed, DomainError
from governance.kernel.models import User
from governance.kernel.principals import Actor, SystemActor
from reporting.bundle.export import export_evidence_bundle


class Command(BaseCommand):
    help = "Write a model's signed evidence bundle (reports, records, receipts, audit segment, keys) to a zip."

    def add_arguments(self, parser):
        parser.add_argument("--model", required=True, help="the model's slug")
        parser.add_argument("--regime", default=None, help="one regime's coverage instead of every declared one's")
        parser.add_argument("--as", dest="username", default=None, help="gather as this person may see it")
        parser.add_argument("-o", "--output", required=True, help="where to write the zip")

    def handle(self, *args, model, regime, username, output, **options):
        found = MLModel.objects.filter(slug=model).first()
        if found is None:
            raise CommandFailed(f"No model {model!r}.", code="model_not_found")
        actor: Actor = SystemActor("export_evidence_bundle")
        if username:
            person = User.objects.filter(username=username, is_active=True).first()
            if person is None:
                raise CommandFailed(f"No active person {username!r}.", code="person_not_found")
            actor = person
        try:
            bundle = export_evidence_bundle(found, actor=actor, regime=regime)
        except DomainError as error:
            raise CommandFailed(f"{error.field + ': ' if error.field else ''}{error.message}", code=error.code) from None
        target = Path(output)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(bundle.content)
        if options.get("verbosity", 1):
            withheld = ", ".join(f"{n} {kind}" for kind, n in bundle.manifest["withheld"].items()) or "nothing"
            self.stdout.write(self.style.SUCCESS(
                f"{len(bundle.manifest['files'])} files, {len(bundle.content):,} bytes, sha256 {bundle.sha256}; "
                f"left out as restricted: {withheld} → {target}"))
