"""Retention (issue 15): what grows is pruned in bounded batches, with time frozen.

Rows are written with ``django.utils.timezone.now`` patched, so ``auto_now_add`` stamps them in
the past; pruning then runs at a fixed "now".
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext, override_settings

from alarms import tasks
from alarms.choices import ChannelKind, DeliveryStatus, EventType, OutboundStatus
from alarms.models import (
    Alarm,
    AlarmEvent,
    CallbackEndpoint,
    Channel,
    Delivery,
    Note,
    OutboundAttempt,
    OutboundMessage,
    PruneTally,
)
from alarms.pipeline import retention
from tests.support.factories import apply_alarm, make_endpoint

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 3, 17, tzinfo=UTC)
DAY = timedelta(days=1)


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    # A plain function, not a Mock: a Mock records each of the 100k auto_now_add calls.
    with mock.patch("django.utils.timezone.now", new=lambda: at):
        yield


def deliveries(endpoint: CallbackEndpoint, count: int, *, at: datetime, status: str) -> None:
    """``count`` deliveries received at ``at``: one made through the ORM (defaults, auto_now_add),
    copied by one INSERT ... SELECT — 100k ORM inserts take half a minute on a loaded CI box."""
    with frozen(at):
        template = Delivery.objects.create(
            endpoint=endpoint, body=b"{}", body_sha256="0" * 64, status=status
        )
    table = connection.ops.quote_name(Delivery._meta.db_table)
    columns = ", ".join(
        connection.ops.quote_name(f.column)
        for f in Delivery._meta.concrete_fields
        if not f.primary_key
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {table},"  # noqa: S608
            " (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s)"
            " SELECT i FROM n) AS copies WHERE id = %s",
            [count - 1, template.pk],
        )


def run_prune(*args: str) -> str:
    out = StringIO()
    with frozen(NOW):
        call_command("prune", *args, stdout=out)
    return out.getvalue()


def statements(queries: CaptureQueriesContext, prefix: str) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith(prefix)]


# --- deliveries --------------------------------------------------------------------------------


def test_100k_deliveries_old_finished_rows_go_in_batches_of_5000_and_the_rest_stays() -> None:
    endpoint = make_endpoint().endpoint
    old, recent = NOW - 200 * DAY, NOW - 10 * DAY
    deliveries(endpoint, 40_000, at=old, status=DeliveryStatus.PROCESSED)
    deliveries(endpoint, 10_000, at=old, status=DeliveryStatus.DUPLICATE)
    deliveries(endpoint, 5_000, at=old, status=DeliveryStatus.FAILED)
    # A stranded delivery is work still to do, however old: the sweep owns it, not retention.
    deliveries(endpoint, 500, at=old, status=DeliveryStatus.PENDING)
    deliveries(endpoint, 500, at=old, status=DeliveryStatus.PROCESSING)
    deliveries(endpoint, 44_000, at=recent, status=DeliveryStatus.PROCESSED)
    assert Delivery.objects.count() == 100_000
    # The timeline keeps its event; only the link to the pruned delivery is cleared.
    alarm = apply_alarm(endpoint)
    linked = Delivery.objects.filter(status=DeliveryStatus.PROCESSED).order_by("pk").first()
    event = AlarmEvent.objects.create(alarm=alarm, type=EventType.REPEATED, delivery=linked)

    started = time.monotonic()
    with frozen(NOW), CaptureQueriesContext(connection) as queries:
        result = retention.prune()
    took = time.monotonic() - started

    assert result.rows["alarms_delivery"] == 55_000
    assert result.complete
    remaining = dict(Delivery.objects.values_list("status").annotate(n=Count("pk")))
    assert remaining == {"pending": 500, "processing": 500, "processed": 44_000}
    assert not Delivery.objects.filter(received_at__lt=NOW - 180 * DAY, status="processed").exists()
    event.refresh_from_db()
    assert event.delivery is None and Alarm.objects.filter(pk=alarm.pk).exists()
    # Bounded work: 11 short transactions of 5,000 ids (and a last look that finds none), no
    # statement over more than 5,000 rows — not one DELETE over 55,000.
    picks = [sql for sql in statements(queries, "SELECT") if "LIMIT 5000" in sql]
    assert len([sql for sql in picks if '"alarms_delivery"' in sql]) == 12 + 1  # + bodies
    assert len(statements(queries, "RELEASE SAVEPOINT")) == 11
    deletes = statements(queries, 'DELETE FROM "alarms_delivery"')
    assert deletes and all(sql.count(",") < 5000 for sql in deletes)
    assert took < 30, f"pruning 55,000 of 100,000 rows took {took:.1f}s"

    # A rerun finds nothing: pruning is idempotent.
    with frozen(NOW):
        assert retention.prune().total == 0


def test_old_bodies_are_cleared_in_batches_while_their_rows_stay_until_row_retention() -> None:
    endpoint = make_endpoint().endpoint
    deliveries(endpoint, 12_000, at=NOW - 100 * DAY, status=DeliveryStatus.PROCESSED)
    deliveries(endpoint, 300, at=NOW - 100 * DAY, status=DeliveryStatus.PENDING)
    deliveries(endpoint, 200, at=NOW - 30 * DAY, status=DeliveryStatus.PROCESSED)

    with frozen(NOW), CaptureQueriesContext(connection) as queries:
        result = retention.prune()

    assert result.rows == {retention.BODIES: 12_000}
    assert Delivery.objects.count() == 12_500
    assert Delivery.objects.filter(body__isnull=True).count() == 12_000
    assert not Delivery.objects.filter(status="pending", body__isnull=True).exists()
    assert len(statements(queries, 'UPDATE "alarms_delivery" SET "body"')) == 3  # 5k, 5k, 2k
    # /metrics reads the running total (alarmhub_pruned_rows_total), whichever process pruned.
    assert dict(PruneTally.objects.values_list("table", "rows")) == {retention.BODIES: 12_000}
    with frozen(NOW):
        retention.prune()  # nothing left to prune: the tally stays
    assert dict(PruneTally.objects.values_list("table", "rows")) == {retention.BODIES: 12_000}


def test_dry_run_counts_what_would_go_and_changes_nothing() -> None:
    endpoint = make_endpoint().endpoint
    deliveries(endpoint, 700, at=NOW - 200 * DAY, status=DeliveryStatus.PROCESSED)
    deliveries(endpoint, 50, at=NOW - 100 * DAY, status=DeliveryStatus.FAILED)
    deliveries(endpoint, 20, at=NOW - 200 * DAY, status=DeliveryStatus.PENDING)

    output = run_prune("--dry-run")

    assert "Would prune alarms_delivery: 700 rows" in output
    assert "Would prune alarms_delivery.body: 50 bodies cleared" in output
    assert "recovered alarms kept for ever" in output
    assert Delivery.objects.count() == 770
    assert not Delivery.objects.filter(body__isnull=True).exists()

    output = run_prune()

    assert "Pruned alarms_delivery: 700 rows" in output
    assert "Pruned alarms_delivery.body: 50 bodies cleared" in output
    assert Delivery.objects.count() == 70
    assert run_prune().endswith("Pruned nothing.\n")


# --- alarms ------------------------------------------------------------------------------------


def _recovered_alarm(endpoint: CallbackEndpoint, recovered_at: datetime) -> Alarm:
    alarm = apply_alarm(
        endpoint,
        status="recovered",
        first_occurred_at=recovered_at - timedelta(minutes=5),
        recovered_at=recovered_at,
        duration_seconds=300,
    )
    assert alarm.status == "recovered" and alarm.recovered_at == recovered_at
    Note.objects.create(alarm=alarm, text="disk cleaned up")
    return alarm


def test_alarm_summaries_are_kept_for_ever_by_default() -> None:
    endpoint = make_endpoint().endpoint
    alarm = _recovered_alarm(endpoint, NOW - 2000 * DAY)

    with frozen(NOW):
        result = retention.prune()

    assert result.total == 0
    assert Alarm.objects.filter(pk=alarm.pk).exists()
    assert AlarmEvent.objects.filter(alarm=alarm).exists()


@override_settings(ALARMHUB_ALARM_RETENTION_DAYS=365)
def test_recovered_alarms_past_alarm_retention_go_with_timeline_notes_and_messages() -> None:
    endpoint = make_endpoint().endpoint
    channel = Channel.objects.create(name="ops", kind=ChannelKind.WEBHOOK, url="https://x.test/")
    old = [_recovered_alarm(endpoint, NOW - 400 * DAY) for _ in range(3)]
    recent = _recovered_alarm(endpoint, NOW - 300 * DAY)
    firing = apply_alarm(endpoint, first_occurred_at=NOW - 900 * DAY)  # never recovered: kept
    with frozen(NOW - 2 * DAY):  # recent messages: only their alarm's age makes them go
        message = OutboundMessage.objects.create(
            channel=channel, alarm=old[0], event="recovered", status=OutboundStatus.SENT
        )
        OutboundAttempt.objects.create(message=message, started_at=NOW, outcome="ok")
    old_events = AlarmEvent.objects.filter(alarm__in=old).count()

    dry = run_prune("--dry-run")
    assert "Would prune alarms_alarm: 3 rows" in dry
    assert f"Would prune alarms_alarmevent: {old_events} rows" in dry
    assert "Would prune alarms_note: 3 rows" in dry
    assert "Would prune alarms_outboundmessage: 1 rows" in dry
    assert "Would prune alarms_outboundattempt: 1 rows" in dry

    with frozen(NOW):
        result = retention.prune(alarm_batch_size=2)

    assert result.rows == {
        "alarms_alarm": 3,
        "alarms_alarmevent": old_events,
        "alarms_note": 3,
        "alarms_outboundmessage": 1,
        "alarms_outboundattempt": 1,
    }
    assert set(Alarm.objects.values_list("pk", flat=True)) == {recent.pk, firing.pk}
    assert AlarmEvent.objects.filter(alarm=recent).exists()
    assert Note.objects.filter(alarm=recent).exists()


# --- outbound messages -------------------------------------------------------------------------


def test_finished_outbound_messages_past_retention_go_with_their_attempts() -> None:
    channel = Channel.objects.create(name="ops", kind=ChannelKind.WEBHOOK, url="https://x.test/")

    def messages(status: str, count: int, at: datetime) -> None:
        with frozen(at):
            made = OutboundMessage.objects.bulk_create(
                OutboundMessage(channel=channel, event="triggered", status=status)
                for _ in range(count)
            )
        OutboundAttempt.objects.bulk_create(
            OutboundAttempt(message=m, started_at=at, outcome="ok") for m in made
        )

    for status in ("sent", "failed", "silenced", "merged"):
        messages(status, 600, NOW - 40 * DAY)
    # Not finished: the sender still owns them, however old.
    messages(OutboundStatus.PENDING, 100, NOW - 40 * DAY)
    messages(OutboundStatus.SENDING, 100, NOW - 40 * DAY)
    messages(OutboundStatus.SENT, 500, NOW - 20 * DAY)

    with frozen(NOW), CaptureQueriesContext(connection) as queries:
        result = retention.prune(batch_size=1000)

    assert result.rows == {"alarms_outboundmessage": 2400, "alarms_outboundattempt": 2400}
    assert OutboundMessage.objects.count() == 700
    assert OutboundAttempt.objects.count() == 700
    assert len(statements(queries, "RELEASE SAVEPOINT")) == 3  # 1,000 + 1,000 + 400


# --- the beat task -----------------------------------------------------------------------------


def test_a_spent_time_budget_stops_between_batches_and_a_later_run_continues() -> None:
    endpoint = make_endpoint().endpoint
    deliveries(endpoint, 300, at=NOW - 200 * DAY, status=DeliveryStatus.PROCESSED)

    with frozen(NOW):
        stopped = retention.prune(budget_seconds=0)
        assert (stopped.complete, stopped.total) == (False, 0)
        assert retention.prune(budget_seconds=60).rows == {"alarms_delivery": 300}


@override_settings(CELERY_TASK_ALWAYS_EAGER=False)
def test_the_beat_task_queues_itself_again_when_work_is_left() -> None:
    endpoint = make_endpoint().endpoint
    deliveries(endpoint, 10, at=NOW - 200 * DAY, status=DeliveryStatus.PROCESSED)
    published: list[Any] = []

    with (
        frozen(NOW),
        mock.patch.object(tasks, "RETENTION_BUDGET_SECONDS", 0.0),
        mock.patch.object(tasks.prune_old_deliveries, "delay", lambda: published.append(1)),
    ):
        assert tasks.prune_old_deliveries() == 0
    assert published == [1]
    assert Delivery.objects.count() == 10

    with frozen(NOW), mock.patch.object(tasks.prune_old_deliveries, "delay") as delay:
        assert tasks.prune_old_deliveries() == 10
    delay.assert_not_called()


def test_beat_runs_the_retention_task_nightly() -> None:
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["apply-retention"]
    assert entry["task"] == tasks.prune_old_deliveries.name
    assert entry["schedule"].hour == {3}
