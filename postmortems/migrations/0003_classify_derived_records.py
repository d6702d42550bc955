"""Classify records written before they knew their source incident: audit events carrying an incident's content
get an AuditSource row, and policy changes proposed from an action item get ``source_incident_id``.

AuditSource rows are appended beside the hash chain, so the append-only audit table itself is not touched."""

from django.db import migrations


def classify(apps, schema_editor):
    AuditEvent = apps.get_model("governance", "AuditEvent")
    AuditSource = apps.get_model("governance", "AuditSource")
    PolicyChange = apps.get_model("governance", "PolicyChange")
    ActionItem = apps.get_model("postmortems", "ActionItem")
    Postmortem = apps.get_model("postmortems", "Postmortem")
    Incident = apps.get_model("postmortems", "Incident")

    for item in ActionItem.objects.exclude(policy_change=None).values("policy_change_id", "incident_id"):
        PolicyChange.objects.filter(pk=item["policy_change_id"], source_incident_id=None).update(
            source_incident_id=item["incident_id"])
    items = dict(ActionItem.objects.values_list("pk", "incident_id"))
    postmortems = dict(Postmortem.objects.values_list("pk", "incident_id"))
    changes = dict(PolicyChange.objects.exclude(source_incident_id=None).values_list("pk", "source_incident_id"))
    incidents = set(Incident.objects.values_list("pk", flat=True))
    rollback_incidents = {}
    for pk, launch_id in Incident.objects.exclude(launch=None).order_by("pk").values_list("pk", "launch_id"):
        rollback_incidents.setdefault(launch_id, pk)
    known = set(AuditSource.objects.values_list("event_id", flat=True))
    rows = []
    for event in AuditEvent.objects.order_by("seq").only("pk", "object_type", "object_id", "verb", "after").iterator():
        if event.pk in known:
            continue
        try:
            object_id = int(event.object_id)
        except (TypeError, ValueError):
            object_id = None
        source = None
        if event.object_type == "postmortems.incident":
            source = object_id if object_id in incidents else None
        elif event.object_type == "postmortems.actionitem":
            source = items.get(object_id)
        elif event.object_type == "postmortems.postmortem":
            source = postmortems.get(object_id)
        elif event.object_type == "governance.policychange":
            source = changes.get(object_id)
        elif event.object_type in ("reporting.report", "governance.report"):
            source = None
        elif (event.object_type == "readiness.launchrequest" and (event.after or {}).get("status") == "ROLLED_BACK"
              and (event.after or {}).get("reason")):
            source = rollback_incidents.get(object_id)
        if source is not None:
            rows.append(AuditSource(event_id=event.pk, incident_id=source))
    AuditSource.objects.bulk_create(rows, batch_size=2000)


class Migration(migrations.Migration):

    dependencies = [
        ("postmortems", "0002_incident_impact_and_obligations"),
        ("readiness", "0001_initial"),
        ("governance", "0011_audit_sources_and_policy_change_sources"),
    ]

    operations = [migrations.RunPython(classify, migrations.RunPython.noop)]
