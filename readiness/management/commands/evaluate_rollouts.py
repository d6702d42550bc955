from django.core.management.base import BaseCommand

from readiness.rollouts import evaluate_rollouts


class Command(BaseCommand):
    help = "Re-evaluate every rollout in progress (what the periodic Celery task runs)."

    def handle(self, *args, **options):
        summary = evaluate_rollouts()
        self.stdout.write(", ".join(f"{k}: {v}" for k, v in summary.items()))
