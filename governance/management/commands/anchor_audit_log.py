"""``manage.py anchor_audit_log``: write the audit chain's head to the anchor directory. A thin shell
over ``governance.kernel.anchors``; may not import above the governance layers.
"""

from django.core.management.base import BaseCommand

from governance.kernel.anchors import AnchorError, write_anchor
from governance.kernel.errors import CommandFailed


class Command(BaseCommand):
    help = ("Write the audit chain's head (sequence, hash, time) to the anchor directory, with an RFC 3161 "
            "timestamp when AUDIT_TSA_URL is set. Celery beat runs this periodically.")

    def add_arguments(self, parser):
        parser.add_argument("--anchor-dir", default=None, help="defaults to AUDIT_ANCHOR_DIR")
        parser.add_argument("--force", action="store_true", help="write even if the newest anchor holds this head")

    def handle(self, *args, anchor_dir=None, force=False, **options):
        try:
            anchor = write_anchor(anchor_dir, force=force)
        except AnchorError as error:
            raise CommandFailed(str(error), code=error.code) from error
        if anchor is None:
            self.stdout.write("The newest anchor already holds the current head; nothing written.")
            return
        stamp = " with a timestamp token" if anchor.token_path else ""
        self.stdout.write(self.style.SUCCESS(f"Anchored event #{anchor.seq} ({anchor.hash}) in {anchor.source}{stamp}."))
