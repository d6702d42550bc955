"""The governance app's configuration: registers the production-secrets checks and the login throttling
signals. It may not connect anything from a higher layer.
"""

from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from governance.kernel import (
            checks,  # noqa: F401 - registers the production-secrets system checks
            throttling,
        )

        throttling.connect()
        from governance.validation import receivers

        receivers.connect()
