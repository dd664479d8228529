"""Heartbeats of periodic jobs (the beat sweep), for /metrics and the pipeline warning.

A new table only: no lock on existing tables, safe while callbacks arrive."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('alarms', '0006_endpoint_source_first_ack_delivery_alarms'),
    ]

    operations = [
        migrations.CreateModel(
            name='Heartbeat',
            fields=[
                ('name', models.CharField(max_length=64, primary_key=True, serialize=False, verbose_name='name')),
                ('at', models.DateTimeField(verbose_name='last run')),
            ],
            options={
                'verbose_name': 'heartbeat',
                'verbose_name_plural': 'heartbeats',
            },
        ),
    ]
