"""Reports record every incident whose content they carry, not only those restricted when they were made, so that
who may read a report is decided when it is read.

Reports made before this knew only their restricted incidents. What else they carried is worked out here: a
dossier carries the incidents about its launch, an incident report its incident, and a governance pack, whose
gathering cannot be replayed, is taken to carry every incident that existed (the cautious reading: it is listed
only to those who may see all of them; anyone else asks again and gets a rendering for their own eyes)."""

from django.db import migrations


def record_sources(apps, schema_editor):
    Report = apps.get_model("reporting", "Report")
    Incident = apps.get_model("postmortems", "Incident")
    every = sorted(Incident.objects.values_list("pk", flat=True))
    for report in Report.objects.all():
        ids = set(report.source_incident_ids or ())
        if report.kind == "LAUNCH_DOSSIER" and report.launch_id:
            ids.update(Incident.objects.filter(launch_id=report.launch_id).values_list("pk", flat=True))
        elif report.kind == "INCIDENT_REPORT" and report.incident_id:
            ids.add(report.incident_id)
        elif report.kind == "GOVERNANCE_PACK":
            ids.update(every)
        Report.objects.filter(pk=report.pk).update(source_incident_ids=sorted(ids))


class Migration(migrations.Migration):

    dependencies = [
        ("reporting", "0001_initial"),
        ("postmortems", "0001_initial"),
    ]

    operations = [
        migrations.RenameField(model_name="report", old_name="restricted_incident_ids", new_name="source_incident_ids"),
        migrations.RunPython(record_sources, migrations.RunPython.noop),
    ]
