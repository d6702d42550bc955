"""``manage.py generate_signing_key``: make a new Ed25519 receipt signing key and print it. Writes nothing
to the database.
"""

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management.base import BaseCommand

from governance.kernel.signing import key_id, private_key_pem


class Command(BaseCommand):
    help = ("Make a new Ed25519 receipt signing key. Put the PEM in the file GATE_SIGNING_KEY_FILE names (or the "
            "one-line form in GATE_SIGNING_KEY); on rotation, move the old key to GATE_RETIRED_KEYS.")

    def handle(self, *args, **options):
        key = Ed25519PrivateKey.generate()
        pem = private_key_pem(key)
        one_line = "".join(pem.strip().splitlines()[1:-1])
        self.stderr.write(f"kid {key_id(key.public_key())}; one-line form for GATE_SIGNING_KEY: {one_line}")
        self.stdout.write(pem, ending="")
