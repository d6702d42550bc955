"""``manage.py print_signing_keys``: the public keys that verify gate receipts. Reads only."""

import json

from django.core.management.base import BaseCommand

from governance.kernel.signing import keyring, public_key_pem


class Command(BaseCommand):
    help = "Print the public keys that verify gate receipts: the JWKS served at /api/v1/keys/, or PEM."

    def add_arguments(self, parser):
        parser.add_argument("--pem", action="store_true", help="PEM public keys with their ids and status")

    def handle(self, *args, pem=False, **options):
        ring = keyring()
        if not pem:
            self.stdout.write(json.dumps(ring.jwks(), indent=2))
            return
        for key in ring.published.values():
            self.stdout.write(f"# kid {key.kid} ({key.status})\n{public_key_pem(key.key)}")
