"""On PostgreSQL the audit table also refuses TRUNCATE.

The row triggers of 0002 never fire for TRUNCATE, which empties a table in one statement; a statement-level
trigger closes that gap. The function is the one 0002 created: it names the refused operation.
"""

from django.db import migrations

CREATE = """
DROP TRIGGER IF EXISTS governance_auditevent_no_truncate ON governance_auditevent;
CREATE TRIGGER governance_auditevent_no_truncate
    BEFORE TRUNCATE ON governance_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_audit_append_only();
"""

DROP = "DROP TRIGGER IF EXISTS governance_auditevent_no_truncate ON governance_auditevent;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("governance", "0005_move_report_to_reporting")]
    operations = [migrations.RunPython(forwards, backwards)]
