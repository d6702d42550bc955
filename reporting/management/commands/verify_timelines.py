"""Check that no stored history is impossible: python manage.py verify_timelines

Every launch, rollout, sign-off, waiver, incident, postmortem, action item and policy change is read and its
moments checked for impossible orderings (reporting.timeline_checks). Each violation is printed on its own line,
naming the record and the two moments out of order; the command then exits non-zero.
"""

from django.core.management.base import BaseCommand

from governance.kernel.errors import CommandFailed
from reporting.timelines import verify_timelines


class Command(BaseCommand):
    help = "Check every launch, rollout, sign-off, waiver, incident, postmortem and action item for impossible " \
           "orderings; exit non-zero naming each violation."

    def handle(self, *args, **options):
        violations = verify_timelines()
        for violation in violations:
            self.stderr.write(str(violation))
        if violations:
            raise CommandFailed(f"{len(violations)} impossible ordering{'s' if len(violations) != 1 else ''} found.",
                                code="impossible_orderings", reasons=tuple(v.code for v in violations))
        self.stdout.write(self.style.SUCCESS("Every timeline is possible."))
