"""Render a report synchronously, for scripts: python manage.py render_report KIND ID -o FILE.pdf

KIND is LAUNCH_DOSSIER, INCIDENT_REPORT or GOVERNANCE_PACK (lower case and hyphens accepted). ID is the launch or
incident number; for a governance pack it is a period: 2026-Q3, 2026-W40, 2026-07 or 2026-07-01..2026-09-30.
The report is recorded like any other (deduplicated, audited, stored under MEDIA_ROOT/reports/) and copied to FILE.
It is gathered as Gatehouse itself, so restricted incidents are included: whoever runs it has the database anyway.
"""

from pathlib import Path

from django.core.management.base import BaseCommand

from governance.kernel.errors import CommandFailed, DomainError
from governance.kernel.principals import SystemActor
from reporting import reports
from reporting.models import ReportKind, ReportStatus


class Command(BaseCommand):
    help = "Render a launch dossier, incident report or governance pack to a PDF file, synchronously."

    def add_arguments(self, parser):
        parser.add_argument("kind", help="LAUNCH_DOSSIER, INCIDENT_REPORT or GOVERNANCE_PACK")
        parser.add_argument("id", help="launch or incident number; for a governance pack, a period such as 2026-Q3")
        parser.add_argument("-o", "--output", required=True, help="where to write the PDF")

    def handle(self, *args, kind, id, output, **options):
        kind = kind.strip().upper().replace("-", "_")
        if kind not in ReportKind.values:
            raise CommandFailed(f"Unknown kind {kind!r}; use one of {', '.join(ReportKind.values)}.", code="unknown_kind")
        subject, params = (None, {"period": id}) if kind == ReportKind.GOVERNANCE_PACK else (id, None)
        actor = SystemActor("render_report")
        try:
            report = reports.request_report(actor=actor, kind=kind, subject_id=subject, params=params, enqueue=False)
        except DomainError as error:
            raise CommandFailed(f"{error.field + ': ' if error.field else ''}{error.message}", code=error.code) from None
        if report.status != ReportStatus.DONE:
            try:
                report = reports.generate_report(report.pk)
            except Exception as error:
                reports.record_failure(report.pk, error=f"{type(error).__name__}: {error}", final=True)
                raise CommandFailed(f"Rendering failed: {error}", code="rendering_failed") from error
        target = Path(output)
        target.parent.mkdir(parents=True, exist_ok=True)
        with report.file.open("rb") as source:
            target.write_bytes(source.read())
        if options.get("verbosity", 1):
            self.stdout.write(self.style.SUCCESS(
                f"{report.title}: {report.page_count} pages, {report.size:,} bytes, sha256 {report.sha256} → {target}"))
