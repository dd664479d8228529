"""Hourly roll-ups for the statistics and a sample index (issue 16; models.stats).

- StatsHour, StatsRecovery: the roll-ups; StatsDirtyHour: hours whose alarms changed since.
- On PostgreSQL, statement-level triggers on the alarm table mark the hours (UTC, of
  first_occurred_at) that each INSERT, UPDATE or DELETE touched, old and new; an UPDATE marks
  only rows whose counted columns changed (a repeat does not). Every hour that holds alarms
  now is marked, so the beat task (services.stats_rollup) builds them all; until it has, the
  statistics read those hours from the alarms.
- alarm_sample_idx: (sample bucket, first_occurred_at) INCLUDE the statistics' columns, built CONCURRENTLY on PostgreSQL
  (``atomic = False``; a failed build leaves an INVALID index: drop it and migrate again).

SQLite gets the tables and the index, and no triggers: the statistics do not read roll-ups there.
"""

import django.db.models.expressions
from django.db import migrations, models


from ._concurrent import AddIndexConcurrentlyOnPostgres

MARK_FUNCTION = """
CREATE FUNCTION alarms_mark_stats_hours() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO alarms_statsdirtyhour (hour)
        SELECT DISTINCT date_trunc('hour', first_occurred_at, 'UTC') FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO alarms_statsdirtyhour (hour)
        SELECT DISTINCT date_trunc('hour', first_occurred_at, 'UTC') FROM old_rows;
    ELSE
        INSERT INTO alarms_statsdirtyhour (hour)
        SELECT DISTINCT date_trunc('hour', m.at, 'UTC') FROM (
            SELECT o.first_occurred_at AS moment, n.first_occurred_at AS new_moment
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE (o.first_occurred_at, o.namespace, o.status, o.acknowledged_at,
                   o.first_acknowledged_at, o.recovered_at)
                IS DISTINCT FROM (n.first_occurred_at, n.namespace, n.status,
                   n.acknowledged_at, n.first_acknowledged_at, n.recovered_at)
        ) changed CROSS JOIN LATERAL (VALUES (changed.moment), (changed.new_moment)) m (at);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER alarms_stats_on_insert AFTER INSERT ON alarms_alarm
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION alarms_mark_stats_hours();
CREATE TRIGGER alarms_stats_on_update AFTER UPDATE ON alarms_alarm
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION alarms_mark_stats_hours();
CREATE TRIGGER alarms_stats_on_delete AFTER DELETE ON alarms_alarm
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION alarms_mark_stats_hours();
INSERT INTO alarms_statsdirtyhour (hour)
    SELECT DISTINCT date_trunc('hour', first_occurred_at, 'UTC') FROM alarms_alarm;
"""

UNMARK_FUNCTION = """
DROP TRIGGER alarms_stats_on_insert ON alarms_alarm;
DROP TRIGGER alarms_stats_on_update ON alarms_alarm;
DROP TRIGGER alarms_stats_on_delete ON alarms_alarm;
DROP FUNCTION alarms_mark_stats_hours();
"""


def mark_hours(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(MARK_FUNCTION)


def unmark_hours(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNMARK_FUNCTION)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction


    dependencies = [
        ('alarms', '0015_lean_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='StatsDirtyHour',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('hour', models.DateTimeField(db_index=True)),
            ],
        ),
        migrations.CreateModel(
            name='StatsHour',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('hour', models.DateTimeField()),
                ('namespace', models.CharField(blank=True, max_length=100)),
                ('status', models.CharField(choices=[('firing', 'Firing'), ('recovered', 'Recovered')], max_length=10)),
                ('alarms', models.PositiveIntegerField()),
                ('acknowledged', models.PositiveIntegerField()),
                ('acked_once', models.PositiveIntegerField()),
                ('tta', models.DurationField()),
                ('recovered', models.PositiveIntegerField()),
                ('ttr', models.DurationField()),
                ('first_at', models.DateTimeField()),
                ('last_at', models.DateTimeField()),
            ],
        ),
        migrations.CreateModel(
            name='StatsRecovery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('daily', models.BooleanField()),
                ('hour', models.DateTimeField()),
                ('namespace', models.CharField(blank=True, max_length=100)),
                ('status', models.CharField(choices=[('firing', 'Firing'), ('recovered', 'Recovered')], max_length=10)),
                ('recovered_hour', models.DateTimeField()),
                ('alarms', models.PositiveIntegerField()),
                ('first_recovered_at', models.DateTimeField()),
                ('last_recovered_at', models.DateTimeField()),
            ],
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name='alarm',
            index=models.Index(models.ExpressionWrapper(django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(models.F('id'), '*', models.Value(40503)), '>>', models.Value(10)), '&', models.Value(1023)), output_field=models.BigIntegerField()), models.F('first_occurred_at'), name='alarm_sample_idx', include=('id', 'namespace', 'status', 'policy', 'instance', 'fingerprint', 'flapping', 'notification_count', 'recovered_at', 'acknowledged_at', 'first_acknowledged_at')),
        ),
        migrations.AddConstraint(
            model_name='statshour',
            constraint=models.UniqueConstraint(fields=('hour', 'namespace', 'status'), include=('alarms', 'acknowledged', 'acked_once', 'tta', 'recovered', 'ttr', 'first_at', 'last_at'), name='statshour_unique_key'),
        ),
        migrations.AddConstraint(
            model_name='statsrecovery',
            constraint=models.UniqueConstraint(fields=('daily', 'hour', 'namespace', 'status', 'recovered_hour'), include=('alarms', 'first_recovered_at', 'last_recovered_at'), name='statsrecovery_unique_key'),
        ),
        migrations.RunPython(mark_hours, unmark_hours, elidable=False),
]
