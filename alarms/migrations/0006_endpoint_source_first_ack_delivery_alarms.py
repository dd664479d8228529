"""Endpoints name their source; alarms remember their first acknowledgement; a delivery's alarms
are read from the timeline (one body may carry several alarms), so the single link goes."""

from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery


def backfill_first_acknowledged_at(apps, schema_editor):
    """The earliest "acknowledged" event of each alarm, else its current acknowledgement."""
    Alarm = apps.get_model("alarms", "Alarm")
    AlarmEvent = apps.get_model("alarms", "AlarmEvent")
    first_ack = (
        AlarmEvent.objects.filter(alarm=OuterRef("pk"), type="acknowledged")
        .order_by("occurred_at")
        .values("occurred_at")[:1]
    )
    acknowledged_ever = AlarmEvent.objects.filter(type="acknowledged").values("alarm_id")
    Alarm.objects.filter(pk__in=acknowledged_ever).update(first_acknowledged_at=Subquery(first_ack))
    Alarm.objects.filter(first_acknowledged_at__isnull=True, acknowledged_at__isnull=False).update(
        first_acknowledged_at=F("acknowledged_at")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("alarms", "0005_trigram_search_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="alarm",
            name="first_acknowledged_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="first acknowledged at"),
        ),
        migrations.RunPython(backfill_first_acknowledged_at, migrations.RunPython.noop),
        migrations.AddField(
            model_name="callbackendpoint",
            name="source",
            field=models.CharField(
                default="tencent",
                help_text="Which alarm source posts here; it decides how bodies are parsed.",
                max_length=32,
                verbose_name="source",
            ),
        ),
        migrations.RemoveField(
            model_name="delivery",
            name="alarm",
        ),
    ]
