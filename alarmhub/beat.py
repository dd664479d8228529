"""Celery beat's schedule: the periodic jobs of alarms.tasks (settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery.schedules import crontab


def beat_schedule(*, sweep_seconds: int) -> dict[str, dict[str, Any]]:
    """The entries; ``sweep_seconds`` is ALARMHUB_SWEEP_INTERVAL_SECONDS."""
    return {
        "requeue-stranded-deliveries": {
            "task": "alarms.tasks.requeue_stranded_deliveries",
            "schedule": timedelta(seconds=sweep_seconds),
        },
        # Retention: bodies, deliveries, outbound messages (and alarms when configured), nightly.
        "apply-retention": {
            "task": "alarms.tasks.prune_old_deliveries",
            "schedule": crontab(hour=3, minute=17),
        },
        # Outbox: re-publish messages whose queue message was lost; stuck claims handed back.
        "requeue-outbound-messages": {
            "task": "alarms.tasks.requeue_outbound_messages",
            "schedule": timedelta(seconds=sweep_seconds),
        },
        "escalate-unacknowledged-alarms": {
            "task": "alarms.tasks.escalate_unacknowledged_alarms",
            "schedule": timedelta(minutes=1),
        },
        # Acknowledgement expiry rules (alarms.services.ack_expiry).
        "expire-acknowledgements": {
            "task": "alarms.tasks.expire_acknowledgements",
            "schedule": timedelta(minutes=1),
        },
        # The statistics' hourly roll-ups: the hours writes marked (alarms.services.stats_rollup).
        "rebuild-stats-rollups": {
            "task": "alarms.tasks.rebuild_stats_rollups",
            "schedule": timedelta(seconds=sweep_seconds),
        },
    }
