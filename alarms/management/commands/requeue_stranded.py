from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from alarms.pipeline.sweep import requeue_stranded
from alarms.tasks import enqueue_delivery


class Command(BaseCommand):
    help = (
        "Re-queue deliveries left pending or processing longer than "
        "ALARMHUB_REQUEUE_AFTER_SECONDS (what the beat sweep does every minute)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = requeue_stranded(enqueue=enqueue_delivery)
        self.stdout.write(
            f"Re-queued {result.requeued} deliveries; {result.publish_failures} could not be "
            "published (broker down?) and stay pending for the next sweep."
        )
