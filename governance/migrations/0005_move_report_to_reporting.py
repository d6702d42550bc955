"""Reports moved to their own app (the top layer). The table stays where it is: only Django's state moves."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('governance', '0004_reports'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='Report')],
            database_operations=[],
        ),
    ]
