import json
import sys

from django.core.management.base import BaseCommand, CommandError

from readiness.gate import verify_receipt


class Command(BaseCommand):
    help = "Check a gate receipt's signature and print the verdict it carries (reads stdin when no argument)."

    def add_arguments(self, parser):
        parser.add_argument("receipt", nargs="?")

    def handle(self, *args, receipt=None, **options):
        receipt = receipt or sys.stdin.read()
        verdict = verify_receipt(receipt)
        if verdict is None:
            raise CommandError("Receipt signature is NOT valid for this Gatehouse's GATE_RECEIPT_KEY.")
        self.stdout.write(json.dumps(verdict, indent=2, sort_keys=True))
        self.stderr.write(self.style.SUCCESS(f"Valid receipt: {verdict['decision']} for {verdict['model']} "
                                             f"{verdict['version']} → {verdict['stage']}"))
