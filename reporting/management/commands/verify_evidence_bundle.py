"""``python manage.py verify_evidence_bundle FILE.zip [--jwks KEYS.json]``: check an evidence bundle offline.

Opens no database connection and makes no network call (reporting.bundle.verify): every hash, the manifest's
signature, the audit segment against its anchors, the receipts. Exits non-zero naming the file at fault.
``--jwks`` pins the signing keys to a key set got from Gatehouse (``GET /api/v1/keys/``) instead of the bundle's.
"""

from pathlib import Path

from django.core.management.base import BaseCommand

from governance.kernel.errors import CommandFailed
from reporting.bundle.verify import BundleInvalid, verify_bundle


class Command(BaseCommand):
    help = "Verify an evidence bundle with no database and no network; name the file at fault if it fails."
    requires_system_checks: list[str] = []  # the checks read the database settings; this command needs none
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("bundle", help="the bundle's zip file")
        parser.add_argument("--jwks", default=None, help="a key set to verify the signature with")

    def handle(self, *args, bundle, jwks=None, **options):
        try:
            keys = Path(jwks).read_bytes() if jwks else None
        except OSError as error:
            raise CommandFailed(f"Cannot read {jwks}: {error}", code="unreadable") from None
        try:
            result = verify_bundle(Path(bundle), jwks=keys)
        except BundleInvalid as error:
            raise CommandFailed(f"The bundle does not verify: {error}", code=error.code, reasons=(error.path,)) \
                from None
        withheld = ", ".join(f"{n} {kind}" for kind, n in result.withheld.items()) or "none"
        self.stdout.write(self.style.SUCCESS(
            f"{bundle}: verified. Model {result.model}; {result.files} files hash as signed by key "
            f"{result.signing_key}; audit segment of {result.events} events ({result.events_in_full} in full) "
            f"links to its head; anchors matched: {len(result.anchors)}; receipts verified: {result.receipts}; "
            f"timestamps verified: {result.timestamps_checked}; restricted records left out: {withheld}."))
        for note in result.notes:
            self.stdout.write(f"note: {note}")
