"""``manage.py generate_scale_data``: fill an empty database with years of history for the scale
benchmark (``examples.scale``).
"""

import time

from django.core.management.base import BaseCommand
from django.db import connection

from examples.scale import Sizes, generate
from governance.kernel.errors import CommandFailed


class Command(BaseCommand):
    help = ("Write years of valid history in bulk (people, policies with their changes, models, launches with "
            "signatures and rollouts, incidents, observations, a hash-chained audit log) into an empty, migrated "
            "database, for the scale benchmark.")

    def add_arguments(self, parser):
        defaults = Sizes()
        parser.add_argument("--models", type=int, default=defaults.models)
        parser.add_argument("--launches", type=int, default=defaults.launches)
        parser.add_argument("--incidents", type=int, default=defaults.incidents)
        parser.add_argument("--observations", type=int, default=defaults.observations)
        parser.add_argument("--audit-events", type=int, default=defaults.audit_events,
                            help="at least this many (every act has its event; observation batches fill the rest)")
        parser.add_argument("--rollouts-in-progress", type=int, default=None, help="default: one launch in forty")
        parser.add_argument("--policy-changes", type=int, default=None, help="default: one per hundred launches")
        parser.add_argument("--busy-quarter", type=int, default=None,
                            help="launches created in one recent quarter, for the governance pack (default: a tenth)")
        parser.add_argument("--years", type=int, default=defaults.years)
        parser.add_argument("--seed", type=int, default=defaults.seed)

    def handle(self, *args, **options):
        sizes = Sizes(models=options["models"], launches=options["launches"], incidents=options["incidents"],
                      observations=options["observations"], audit_events=options["audit_events"],
                      rollouts_in_progress=options["rollouts_in_progress"], policy_changes=options["policy_changes"],
                      busy_quarter=options["busy_quarter"],
                      years=options["years"], seed=options["seed"])
        if sizes.models < 1 or sizes.launches < 1:
            raise CommandFailed("Give at least one model and one launch.", code="missing_arguments")
        started = time.perf_counter()
        try:
            counts = generate(sizes)
        except ValueError as error:
            raise CommandFailed(str(error), code="invalid_sizes") from None
        if connection.vendor == "postgresql":
            # Fresh statistics for the planner: after a bulk load it still believes the tables are nearly
            # empty, and plans (and JIT-compiles) queries for that until autovacuum gets round to them.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        elapsed = time.perf_counter() - started
        self.stdout.write(self.style.SUCCESS(f"Generated in {elapsed:.1f} s: "
                                             + ", ".join(f"{k} {v}" for k, v in counts.items())))
