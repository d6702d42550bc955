"""Every admin page of a record that carries an incident's content reads its rows through a sealed queryset.

The list, change, history and delete pages and every action of a Django ModelAdmin take their rows from
``get_queryset``; a model that points at an incident (a foreign key, ``source_incident_id`` or the report's
``source_incident_ids``) must filter there. The canary (tests/postmortems/test_canary.py) checks what such pages
show; this test names the admin that a new model forgot.
"""

from django.apps import apps
from django.contrib import admin

SOURCE_FIELDS = ("source_incident_id", "source_incident_ids")


def carries_incident_content(model) -> bool:
    incident = apps.get_model("postmortems", "Incident")
    if model is incident:
        return True
    for field in model._meta.get_fields():
        if field.concrete and getattr(field, "related_model", None) is incident:
            return True
        if field.name in SOURCE_FIELDS or getattr(field, "attname", "") in SOURCE_FIELDS:
            return True
    return model._meta.label == "governance.AuditEvent"  # through its AuditSource row


def test_every_admin_of_a_record_carrying_incident_content_filters_its_rows():
    unsealed = [model._meta.label for model, model_admin in admin.site._registry.items()
                if carries_incident_content(model) and type(model_admin).get_queryset is admin.ModelAdmin.get_queryset]
    assert not unsealed, f"admins that show rows without the visibility rule: {unsealed}"


def test_the_rule_sees_the_records_it_is_about():
    labels = {m._meta.label for m in admin.site._registry if carries_incident_content(m)}
    assert {"reporting.Report", "governance.PolicyChange", "postmortems.TimelineEvent", "governance.AuditEvent",
            "registry.AliasState"} <= labels
