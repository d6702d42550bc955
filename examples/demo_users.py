"""Demo people, one per role, with names that are plainly made up."""

from django.db import transaction

from governance.kernel.roles import Role
from governance.models import User

DEMO_PASSWORD = "gatehouse-demo"

DEMO_USERS = [
    # username, first, last, roles, what they do in the tour
    ("dana", "Dana", "Datasmith", [Role.DATA_SCIENCE], "Data Science lead: authors launches, submits evaluations"),
    ("cole", "Cole", "Compliance", [Role.COMPLIANCE], "Compliance: signs launches, waives items, sees restricted incidents"),
    ("lee", "Lee", "Legalworth", [Role.LEGAL], "Legal: signs TIER_1 launches, sees restricted incidents"),
    ("mara", "Mara", "Riskwell", [Role.MODEL_RISK], "Model Risk Management: signs, waives, approves policy changes"),
    ("pat", "Pat", "Productson", [Role.PRODUCT], "Product: authors and signs TIER_2 launches"),
    ("eli", "Eli", "Engineer", [Role.ENGINEERING], "Engineering: runs rollouts, advances stages, kill switch"),
    ("vic", "Vic", "Viewer", [Role.VIEWER], "Viewer: reads everything that is not restricted"),
    ("sam", "Sam", "Second-Signer", [Role.DATA_SCIENCE, Role.PRODUCT], "Second data scientist, also Product"),
]


@transaction.atomic
def ensure_demo_users() -> list[User]:
    """Create the demo people if missing; never change a password someone has set since."""
    from governance.kernel.principals import SystemActor
    from governance.kernel.services import create_person

    seeder = SystemActor("seed_examples")
    existing = {u.username: u for u in User.objects.filter(username__in=[d[0] for d in DEMO_USERS] + ["admin"])}
    users = []
    for username, first, last, roles, _ in DEMO_USERS:
        user = existing.get(username) or create_person(
            actor=seeder, username=username, first_name=first, last_name=last,
            email=f"{username}@gatehouse.example", password=DEMO_PASSWORD, roles=roles,
        )
        users.append(user)
    if "admin" not in existing:
        create_person(actor=seeder, username="admin", first_name="Ada", last_name="Administrator",
                      email="admin@gatehouse.example", password=DEMO_PASSWORD, is_superuser=True)
    return users
