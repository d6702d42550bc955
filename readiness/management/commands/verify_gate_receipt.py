"""``manage.py verify_gate_receipt``: check a receipt's signature and expiry and print its verdict. Reads
only; may not import above the readiness layer.
"""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from governance.kernel.errors import CommandFailed
from governance.kernel.signing import keys_from_jwks
from readiness.gate import EXPECTABLE, verify_receipt


def parse_expect(text: str) -> dict[str, str]:
    """``model=credit-line,version=5.0,stage=full,digest=ab…`` as a mapping; unknown or repeated names refused."""
    expected: dict[str, str] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in EXPECTABLE or name in expected or not value.strip():
            raise CommandFailed(f"--expect takes name=value pairs among {', '.join(EXPECTABLE)}, each once; "
                                f"{part!r} is not one", code="bad_expect")
        expected[name] = value.strip()
    return expected


class Command(BaseCommand):
    help = ("Check a gate receipt's Ed25519 signature and expiry and print the verdict it carries (reads stdin "
            "when no argument). Uses this Gatehouse's published keys, or a saved copy of /api/v1/keys/.")

    def add_arguments(self, parser):
        parser.add_argument("receipt", nargs="?")
        parser.add_argument("--keys", metavar="JWKS.json", help="a saved copy of GET /api/v1/keys/")
        parser.add_argument("--expect", metavar="model=…,version=…,stage=…,digest=…",
                            help="refuse a receipt that is not for this model, version, stage and artifact sha256")

    def handle(self, *args, receipt=None, keys=None, expect=None, **options):
        receipt = receipt or sys.stdin.read()
        expected = parse_expect(expect) if expect else None
        published = None
        if keys:
            try:
                published = keys_from_jwks(json.loads(Path(keys).read_text()))
            except (OSError, ValueError, KeyError) as error:
                raise CommandFailed(f"Cannot read the keys in {keys}: {error}", code="unreadable_keys") from error
        check = verify_receipt(receipt, keys=published, expect=expected)
        if check.status == "invalid":
            raise CommandFailed(f"Receipt is NOT valid: {check.reason}.", code="receipt_invalid", reasons=(check.code,))
        verdict = check.verdict
        assert verdict is not None  # every receipt that is not invalid carries its verdict
        self.stdout.write(json.dumps(verdict, indent=2, sort_keys=True))
        summary = (f"{verdict['decision']} for {verdict['model']} {verdict['version']} → {verdict['stage']}, "
                   f"signed by key {check.kid} ({check.key_status}), issued {verdict['issued_at']}")
        if check.status == "expired":
            raise CommandFailed(f"Receipt signature is valid but the receipt EXPIRED: {check.reason} ({summary}).", code="receipt_expired")
        self.stderr.write(self.style.SUCCESS(f"Valid receipt: {summary}, valid until {verdict['valid_until']}."))
