"""``manage.py evaluate_rollouts``: what the periodic task runs, once, with its summary. May not import
above the readiness layer.
"""

from django.core.management.base import BaseCommand

from governance.kernel.errors import CommandFailed
from readiness.rollouts import evaluate_rollouts


class Command(BaseCommand):
    help = "Re-evaluate every rollout in progress (what the periodic Celery task runs)."

    def handle(self, *args, **options):
        summary = evaluate_rollouts()
        self.stdout.write(", ".join(f"{k}: {v}" for k, v in summary.items()))
        if summary["failed"]:
            raise CommandFailed(f"{summary['failed']} rollout(s) could not be evaluated: launches "
                               f"{', '.join(map(str, summary['failed_launches']))} (see the log; retried next run).", code="rollouts_failed")
