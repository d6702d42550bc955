"""The documented examples, told through Gatehouse's own mechanisms. Idempotent."""

from django.db import transaction

from .demo_users import ensure_demo_users


@transaction.atomic
def seed_all() -> str:
    users = ensure_demo_users()
    return f"{len(users)} demo people"
