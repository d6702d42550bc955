"""``manage.py verify_audit_log``: recompute the audit chain and check it against every anchor. Reads
only; may not import above the governance layers.
"""

import os

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.dateparse import parse_datetime

from governance.kernel.anchors import Anchor, Problem, check_timestamp, read_anchors, verify_against_anchors
from governance.kernel.audit import missing_protections, verify_chain
from governance.kernel.errors import CommandFailed


def _printed_head(value: str) -> Anchor:
    """A head copied from a report's cover, ``SEQ:HASH[@TIME]``, used as one more anchor."""
    try:
        head, _, when = value.partition("@")
        seq, digest = head.split(":", 1)
        anchored_at = parse_datetime(when) if when else None
        return Anchor(int(seq), digest.strip(), anchored_at or parse_datetime("9999-12-31T00:00:00+00:00"),  # type: ignore[arg-type]  # the literal parses
                      f"--head {seq}")
    except ValueError as error:
        raise CommandFailed(f"--head takes SEQ:HASH or SEQ:HASH@TIME, not {value!r}.", code="bad_head") from error


class Command(BaseCommand):
    help = ("Recompute the audit log's hash chain and check it against every anchor it can read (the anchor "
            "directory, their timestamps, heads printed on reports); exit non-zero naming what is wrong.")

    def add_arguments(self, parser):
        parser.add_argument("--anchor-dir", default=None, help="defaults to AUDIT_ANCHOR_DIR")
        parser.add_argument("--head", action="append", default=[], metavar="SEQ:HASH",
                            help="a chain head printed on a report, as one more anchor (repeatable)")
        parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                            help="processes that check ranges of the chain in parallel on PostgreSQL "
                                 "(default: one per CPU)")

    def handle(self, *args, anchor_dir=None, head=(), workers=1, **options):
        if workers < 1:
            raise CommandFailed("--workers takes a whole number of at least 1.", code="invalid_workers")
        checked, broken = verify_chain(workers=workers)
        problems: list[Problem] = []
        if broken is not None:
            problems.append(Problem(broken.code, f"the chain is broken at event #{broken.seq}: {broken.reason} "
                                    f"({checked} events before it verified)"))
        problems += [Problem("protection_missing", f"the trigger {name} is missing or disabled: the audit table "
                             "can be rewritten without the database refusing") for name in missing_protections()]
        anchors, unreadable = read_anchors(anchor_dir or settings.AUDIT_ANCHOR_DIR)
        problems += unreadable
        if settings.AUDIT_ANCHOR_BUCKET:
            from governance.kernel.anchor_bucket import read_bucket_anchors

            in_bucket, tampered = read_bucket_anchors(settings.AUDIT_ANCHOR_BUCKET)
            anchors, problems = anchors + in_bucket, problems + tampered
        anchors += [_printed_head(value) for value in head]
        problems += verify_against_anchors(anchors)
        stamped = [a for a in anchors if a.token_path is not None]
        if stamped and settings.AUDIT_TSA_CA_FILE:
            for anchor in stamped:
                failure = check_timestamp(anchor, settings.AUDIT_TSA_CA_FILE)
                if failure:
                    problems.append(Problem("timestamp_invalid",
                                            f"the timestamp of anchor {anchor.source} does not verify: {failure}"))
        if problems:
            raise CommandFailed("Audit log NOT intact:\n  - " + "\n  - ".join(problems), code="audit_log_not_intact",
                                reasons=tuple(problem.code for problem in problems))
        self.stdout.write(self.style.SUCCESS(f"Audit log intact: {checked} events verified."))
        if not anchors:
            self.stdout.write("No anchors to check against: truncation, removal of the newest events and a "
                              "rewritten chain cannot be detected (set AUDIT_ANCHOR_DIR).")
            return
        newest = max(anchors, key=lambda a: a.seq)
        tokens = (f", {len(stamped)} with verified timestamps" if stamped and settings.AUDIT_TSA_CA_FILE
                  else f", {len(stamped)} timestamps not checked (set AUDIT_TSA_CA_FILE)" if stamped else "")
        self.stdout.write(f"Consistent with {len(anchors)} anchors{tokens}; the newest vouches for event "
                          f"#{newest.seq}. {max(0, checked - newest.seq)} later events are vouched for by the "
                          "chain alone until the next anchor.")
