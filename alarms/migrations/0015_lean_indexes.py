"""Indexes every write paid for and nothing read (issue 16): the ingest path's table first.

Seven foreign keys lose the index Django gives them, each served by a composite index or
unique constraint that starts with the same column (alarmevent.alarm, note.alarm,
delivery.endpoint, instance.endpoint, policy.endpoint, outboundmessage.channel,
savedview.owner); a test finds any such pair on PostgreSQL. On the deliveries table (one
INSERT per callback) sessionId keeps one exact-match index but loses its LIKE pattern
(``_like``) index, and duplicate_of's index becomes partial (only duplicates have one).

The two new delivery indexes are built CONCURRENTLY on PostgreSQL before the old ones go
(``atomic = False``, as 0013); the drops are catalogue changes, but each takes its table's
lock for a moment: run this outside a storm.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from ._concurrent import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ('alarms', '0014_stats_window_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name='delivery',
            index=models.Index(fields=['session_id'], name='delivery_session_idx'),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name='delivery',
            index=models.Index(condition=models.Q(('duplicate_of__isnull', False)), fields=['duplicate_of'], name='delivery_duplicate_of_idx'),
        ),
        migrations.AlterField(
            model_name='alarmevent',
            name='alarm',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='events', to='alarms.alarm', verbose_name='alarm'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='duplicate_of',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='alarms.delivery', verbose_name='duplicate of'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='endpoint',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='deliveries', to='alarms.callbackendpoint', verbose_name='endpoint'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='session_id',
            field=models.CharField(blank=True, max_length=200, verbose_name='sessionId'),
        ),
        migrations.AlterField(
            model_name='instance',
            name='endpoint',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='alarms.callbackendpoint', verbose_name='endpoint'),
        ),
        migrations.AlterField(
            model_name='note',
            name='alarm',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='notes', to='alarms.alarm', verbose_name='alarm'),
        ),
        migrations.AlterField(
            model_name='outboundmessage',
            name='channel',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='messages', to='alarms.channel', verbose_name='channel'),
        ),
        migrations.AlterField(
            model_name='policy',
            name='endpoint',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='alarms.callbackendpoint', verbose_name='endpoint'),
        ),
        migrations.AlterField(
            model_name='savedview',
            name='owner',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='alarmhub_saved_views', to=settings.AUTH_USER_MODEL, verbose_name='owner'),
        ),
    ]
