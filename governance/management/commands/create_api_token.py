"""``manage.py create_api_token``: issue an API token through the kernel's service and print its secret
once. May not import above the governance layers.
"""

from django.core.management.base import BaseCommand

from governance.inventory.models import MLModel
from governance.kernel.errors import CommandFailed, DomainError
from governance.kernel.models import ApiToken
from governance.kernel.principals import SystemActor
from governance.kernel.services import issue_api_token


class Command(BaseCommand):
    help = "Issue an API token for CI or monitoring. The secret is printed once and never stored."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--scopes", required=True,
                            help=f"Comma-separated scopes: {', '.join(ApiToken.Scope.values)}")
        parser.add_argument("--models", default="", help="Comma-separated model slugs (default: every model)")
        parser.add_argument("--expires-days", type=int, default=None)

    def handle(self, *args, name, scopes, models, expires_days, **options):
        slugs = [s.strip() for s in models.split(",") if s.strip()]
        found = list(MLModel.objects.filter(slug__in=slugs))
        missing = sorted(set(slugs) - {m.slug for m in found})
        if missing:
            raise CommandFailed(f"Unknown model slug(s): {', '.join(missing)}", code="unknown_model")
        try:
            token, secret = issue_api_token(
                actor=SystemActor("create_api_token"), name=name,
                scopes=[s.strip() for s in scopes.split(",") if s.strip()], models=found, expires_days=expires_days,
            )
        except DomainError as error:
            raise CommandFailed(error.message, code=error.code) from None
        self.stderr.write(f"Token {token.name!r} created (scopes: {', '.join(token.scopes)}). "
                          "Store the secret now; it cannot be shown again.")
        self.stdout.write(secret)
