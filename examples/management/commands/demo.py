"""``manage.py demo``: migrate, seed the documented examples, print the tour and serve. Runs in
development mode (``manage.py`` sets ``GATEHOUSE_DEV`` for it).
"""

import threading

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from examples.demo_users import DEMO_PASSWORD, DEMO_USERS


class Command(BaseCommand):
    help = "Migrate, seed the documented examples, print the demo logins and start the server."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000",
                            help="Address and port to serve on, as for runserver: 8001, 0.0.0.0:8000 or "
                                 "[::1]:8000 (default 127.0.0.1:8000). A host other than localhost must also be "
                                 "listed in ALLOWED_HOSTS.")
        parser.add_argument("--no-server", action="store_true", help="Prepare the data and print the tour only.")

    def handle(self, *args, addrport, no_server, **options):
        self.stdout.write("Preparing the database (migrations)…")
        self.stdout.flush()
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Seeding the documented examples through Gatehouse's services (about half a minute)…")
        self.stdout.flush()
        call_command("seed_examples", verbosity=0)
        self.stdout.write(self.tour(self.url(addrport)))
        if no_server:
            self.render_reports()
            return
        # Reports render in the background while the server starts; the reports page shows them arriving.
        threading.Thread(target=self.render_reports, name="demo-reports", daemon=True).start()
        # The demo is served over plain HTTP on loopback; cookies marked Secure would not be sent back.
        settings.SESSION_COOKIE_SECURE = False
        settings.CSRF_COOKIE_SECURE = False
        call_command("runserver", addrport, use_reloader=False, use_threading=True)

    def render_reports(self):
        """Run in its own thread beside the server: ask for every report, then close this thread's connection."""
        from django.db import connection

        try:
            self.request_reports()
        finally:
            connection.close()

    def request_reports(self):
        """A dossier for every seeded launch, a committee report for every incident, and this quarter's pack, each
        asked for by someone who may read all of it: a restricted incident's report by a named member of its
        circle, the board risk committee's pack by Compliance (an outsider's pack would leave restricted matters
        out and say so on its cover). Rendering runs after each request commits."""
        from governance.kernel.errors import DomainError
        from governance.models import User
        from postmortems.models import Incident
        from readiness.models import LaunchRequest
        from reporting.reports import request_report

        admin = User.objects.get(username="admin")
        compliance = User.objects.get(username="cole")
        requests = [("LAUNCH_DOSSIER", pk, compliance)
                    for pk in LaunchRequest.objects.order_by("pk").values_list("pk", flat=True)]
        for incident in Incident.objects.prefetch_related("members").order_by("pk"):
            members = sorted(incident.members.all(), key=lambda u: u.pk)
            reader = members[0] if incident.restricted and members else admin
            requests.append(("INCIDENT_REPORT", incident.pk, reader))
        for kind, pk, reader in requests:
            try:
                request_report(actor=reader, kind=kind, subject_id=pk)
            except DomainError as error:
                self.stderr.write(f"{kind} {pk}: {error.message}")
        try:
            request_report(actor=compliance, kind="GOVERNANCE_PACK", params={"period": self.quarter()})
        except DomainError as error:
            self.stderr.write(f"governance pack: {error.message}")

    @staticmethod
    def quarter() -> str:
        from django.utils import timezone

        today = timezone.localdate()
        return f"{today.year}-Q{(today.month - 1) // 3 + 1}"

    @staticmethod
    def url(addrport: str) -> str:
        """The address a browser opens, for any form runserver takes: ``8001`` -> ``http://127.0.0.1:8001/``."""
        if addrport.isdigit():
            return f"http://127.0.0.1:{addrport}/"
        host, _, port = addrport.rpartition(":")
        return f"http://{host or '127.0.0.1'}:{port}/"

    def tour(self, url: str) -> str:
        from examples.tour import TOUR

        lines = ["", self.style.SUCCESS(f"Gatehouse demo at {url}"), "",
                 "Running in development mode: built-in secret and receipt signing keys, never for production.",
                 "",
                 f"Every demo login uses the password: {DEMO_PASSWORD}", ""]
        width = max(len(u[0]) for u in DEMO_USERS) + 2
        for username, first, last, _roles, what in DEMO_USERS:
            lines.append(f"  {username:<{width}} {first} {last} — {what}")
        lines.append(f"  {'admin':<{width}} administrator (the /admin/ site)")
        lines += ["", "Tour:"]
        lines += [f"  {step}" for step in TOUR]
        lines.append("")
        return "\n".join(lines)
