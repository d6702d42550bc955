from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from governance.demo_users import DEMO_PASSWORD, DEMO_USERS


class Command(BaseCommand):
    help = "Migrate, seed the documented examples, print the demo logins and start the server."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--no-server", action="store_true", help="Prepare the data and print the tour only.")

    def handle(self, *args, addrport, no_server, **options):
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_examples", verbosity=0)
        self.stdout.write(self.tour(addrport))
        if no_server:
            return
        # The demo is served over plain HTTP on loopback; cookies marked Secure would not be sent back.
        settings.SESSION_COOKIE_SECURE = False
        settings.CSRF_COOKIE_SECURE = False
        call_command("runserver", addrport, use_reloader=False, use_threading=True)

    def tour(self, addrport: str) -> str:
        from governance.tour import TOUR

        url = f"http://{addrport}/"
        lines = ["", self.style.SUCCESS(f"Gatehouse demo at {url}"), "",
                 f"Every demo login uses the password: {DEMO_PASSWORD}", ""]
        width = max(len(u[0]) for u in DEMO_USERS) + 2
        for username, first, last, _roles, what in DEMO_USERS:
            lines.append(f"  {username:<{width}} {first} {last} — {what}")
        lines.append(f"  {'admin':<{width}} administrator (the /admin/ site)")
        lines += ["", "Tour:"]
        lines += [f"  {step}" for step in TOUR]
        lines.append("")
        return "\n".join(lines)
