from __future__ import annotations

import getpass
import sys
from datetime import datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from tqdm import tqdm

from alarms.choices import DeliveryStatus
from alarms.models import Delivery
from alarms.pipeline.process import reprocess
from alarms.services.audit import AuditAction, listed_ids, record


def _parse_since(value: str) -> datetime:
    try:
        moment = parse_datetime(value)
        day = parse_date(value) if moment is None else None
    except ValueError as exc:  # well-formed but impossible, e.g. 2024-13-45
        raise CommandError(f"--since {value!r} is not a valid date: {exc}") from exc
    if moment is None:
        if day is None:
            raise CommandError(f"--since {value!r} is not an ISO 8601 date or date-time")
        moment = datetime.combine(day, time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers) and no LOGNAME/USER
        return ""


class Command(BaseCommand):
    help = (
        "Run stored deliveries through the pipeline again, in arrival order, in this process. "
        "Idempotent: a delivery already applied to its alarm changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--status",
            action="append",
            choices=[s for s in DeliveryStatus.values if s != DeliveryStatus.DUPLICATE],
            help="Only deliveries in this status (repeatable). Default: all but duplicates.",
        )
        parser.add_argument("--since", help="Only deliveries received at or after this time.")
        parser.add_argument("--endpoint", help="Only deliveries of the endpoint with this name.")
        parser.add_argument("--id", type=int, action="append", dest="ids", help="Delivery id.")

    def handle(self, *args: Any, **options: Any) -> None:
        deliveries = Delivery.objects.exclude(status=DeliveryStatus.DUPLICATE)
        if options["status"]:
            deliveries = deliveries.filter(status__in=options["status"])
        if options["since"]:
            deliveries = deliveries.filter(received_at__gte=_parse_since(options["since"]))
        if options["endpoint"]:
            deliveries = deliveries.filter(endpoint__name=options["endpoint"])
        if options["ids"]:
            deliveries = deliveries.filter(pk__in=options["ids"])
        ids = list(deliveries.order_by("received_at", "pk").values_list("pk", flat=True))
        progress = tqdm(ids, unit="delivery", disable=not sys.stderr.isatty(), file=sys.stderr)
        outcome = reprocess(progress)
        # A command has no user or address: the OS account that ran it is the best "who".
        record(
            action=AuditAction.DELIVERIES_REPROCESSED,
            actor=None,
            via="manage.py reprocess_deliveries",
            os_user=_os_user(),
            filters={key: options[key] for key in ("status", "since", "endpoint", "ids")},
            selected=len(ids),
            outcome=outcome,
            delivery_ids=listed_ids(ids),
        )
        summary = ", ".join(f"{count} {name}" for name, count in sorted(outcome.items()))
        self.stdout.write(f"Reprocessed {len(ids)} deliveries: {summary or 'nothing to do'}.")
