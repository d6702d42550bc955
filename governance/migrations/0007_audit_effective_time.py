"""Audit events record when an act took effect beside when they were written (governance.kernel.clock).

A nullable column with no default: existing rows keep NULL, which the hash payload omits, so the chain
written before this migration verifies unchanged. On PostgreSQL ADD COLUMN is not an UPDATE, so the
append-only trigger does not fire."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("governance", "0006_audit_refuses_truncate")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="effective_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
