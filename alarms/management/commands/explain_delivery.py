from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from alarms.models import Delivery
from alarms.pipeline.explain import explain_delivery


class Command(BaseCommand):
    help = (
        "Show how a delivery was read: the normalised notification, the fingerprint with the "
        "fields that made it, and the alarm it matched or created."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("delivery_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        delivery = (
            Delivery.objects.select_related("endpoint", "duplicate_of")
            .filter(pk=options["delivery_id"])
            .first()
        )
        if delivery is None:
            raise CommandError(f"No delivery with id {options['delivery_id']}")
        explanation = explain_delivery(delivery)
        self.stdout.write(json.dumps(explanation.as_dict(), indent=2, ensure_ascii=False))
