"""``manage.py seed_examples``: create the demo people and the documented stories; idempotent."""

from django.core.management.base import BaseCommand

from examples.seed import seed_all


class Command(BaseCommand):
    help = "Create the demo people and the documented example stories. Running it twice changes nothing."

    def handle(self, *args, **options):
        summary = seed_all()
        if options.get("verbosity", 1):
            self.stdout.write(self.style.SUCCESS(f"Seeded: {summary}"))
