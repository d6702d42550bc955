"""No default secrets in production.

Outside development mode (``DEBUG`` or ``GATEHOUSE_DEV``) Gatehouse refuses to serve with the development
``SECRET_KEY``, without one, or without a receipt signing key: sessions and receipts signed with keys that are
in the repository prove nothing. ``check --deploy`` reports the same problems (a deploy-tagged system check),
and the serving entry points (WSGI, ASGI, runserver, Celery worker and beat) refuse to start on them.
"""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from governance.kernel.signing import KeyConfigurationError, parse_private_key, parse_public_keys


def production_problems() -> list[tuple[str, str]]:
    """(check id, message) for every default secret still in place; empty in development mode."""
    if settings.DEBUG or settings.GATEHOUSE_DEV:
        return []
    problems = []
    if not settings.SECRET_KEY or settings.SECRET_KEY == settings.DEVELOPMENT_SECRET_KEY:
        problems.append(("gatehouse.E001", "SECRET_KEY is missing or is the development key in the repository: "
                                           "set SECRET_KEY (or SECRET_KEY_FILE) to a long random value."))
    if not settings.GATE_SIGNING_KEY:
        problems.append(("gatehouse.E002", "No receipt signing key is configured: set GATE_SIGNING_KEY (or "
                                           "GATE_SIGNING_KEY_FILE) to an Ed25519 private key; "
                                           "`python manage.py generate_signing_key` makes one."))
    else:
        try:
            parse_private_key(settings.GATE_SIGNING_KEY)
            parse_public_keys(settings.GATE_RETIRED_KEYS or "")
        except KeyConfigurationError as error:
            problems.append(("gatehouse.E003", f"The receipt signing keys cannot be read: {error}."))
    return problems


@checks.register(checks.Tags.security, deploy=True)
def check_production_secrets(app_configs: object = None, **kwargs: object) -> list[checks.CheckMessage]:
    hint = "Development mode (DEBUG=true or GATEHOUSE_DEV=true) uses built-in keys; never in production."
    return [checks.Error(message, hint=hint, id=check_id) for check_id, message in production_problems()]


@checks.register(checks.Tags.security, deploy=True)
def check_audit_anchors(app_configs: object = None, **kwargs: object) -> list[checks.CheckMessage]:
    if settings.DEBUG or settings.GATEHOUSE_DEV or settings.AUDIT_ANCHOR_DIR or settings.AUDIT_ANCHOR_BUCKET:
        return []
    return [checks.Warning("Neither AUDIT_ANCHOR_DIR nor AUDIT_ANCHOR_BUCKET is set: the audit chain is not anchored outside the database, "
                           "so truncation, removal of the newest events or a rewritten chain cannot be detected.",
                           id="gatehouse.W001")]


def refuse_insecure_start() -> None:
    """Called by every serving entry point: stop with a clear message rather than serve with default secrets."""
    problems = production_problems()
    if problems:
        raise ImproperlyConfigured(
            "Gatehouse refuses to start in production mode (DEBUG is off and GATEHOUSE_DEV is not set):\n  - "
            + "\n  - ".join(message for _, message in problems)
            + "\nFor a local try-out, run `python manage.py demo` or set GATEHOUSE_DEV=true.")
