"""Reports as an app of their own, over the table the governance app created (governance_report)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('governance', '0005_move_report_to_reporting'),
        ('postmortems', '0001_initial'),
        ('readiness', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The table was created by governance.0004_reports as governance_report and is kept.
            database_operations=[],
            state_operations=[
            migrations.CreateModel(
                name='Report',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('kind', models.CharField(choices=[('LAUNCH_DOSSIER', 'Launch dossier'), ('INCIDENT_REPORT', 'Incident report for the board risk committee'), ('GOVERNANCE_PACK', 'Governance pack')], max_length=16)),
                    ('params', models.JSONField(blank=True, default=dict)),
                    ('title', models.CharField(max_length=300)),
                    ('requested_by_label', models.CharField(max_length=200)),
                    ('status', models.CharField(choices=[('QUEUED', 'Queued'), ('RUNNING', 'Running'), ('DONE', 'Done'), ('FAILED', 'Failed')], default='QUEUED', max_length=8)),
                    ('error', models.TextField(blank=True)),
                    ('attempts', models.PositiveSmallIntegerField(default=0)),
                    ('file', models.FileField(blank=True, max_length=300, upload_to='reports/%Y/%m/')),
                    ('sha256', models.CharField(blank=True, max_length=64)),
                    ('size', models.PositiveBigIntegerField(blank=True, null=True)),
                    ('page_count', models.PositiveIntegerField(blank=True, null=True)),
                    ('content_hash', models.CharField(max_length=64)),
                    ('dedupe_key', models.CharField(max_length=64)),
                    ('restricted_incident_ids', models.JSONField(blank=True, default=list)),
                    ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ('started_at', models.DateTimeField(blank=True, null=True)),
                    ('finished_at', models.DateTimeField(blank=True, null=True)),
                    ('incident', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='reports', to='postmortems.incident')),
                    ('launch', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='reports', to='readiness.launchrequest')),
                    ('requested_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('requested_by_token', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='governance.apitoken')),
                ],
                options={
                    'db_table': 'governance_report',
                    'ordering': ['-created_at', '-pk'],
                    'indexes': [models.Index(fields=['dedupe_key'], name='report_dedupe_idx'), models.Index(fields=['status', 'started_at'], name='report_status_idx')],
                    'constraints': [models.UniqueConstraint(condition=models.Q(('status__in', ('QUEUED', 'RUNNING', 'DONE'))), fields=('dedupe_key',), name='one_live_report_per_request')],
                },
            ),
            ],
        ),
    ]
