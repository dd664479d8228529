"""The Prometheus metrics of ``GET /metrics``, computed from the database at scrape time.

Every number is read from PostgreSQL (or SQLite) when scraped, never kept in process memory, so
any gunicorn process answers the same and a restart loses nothing. That includes the counter
``alarmhub_deliveries_total``: it is ``COUNT(*) GROUP BY status`` over the delivery table, so it
only grows while delivery rows are kept. Pruning delivery rows (retention) makes it decrease;
Prometheus reads any decrease as a counter reset, so ``rate()``/``increase()`` over a window
holding a prune shows a spurious jump. Once delivery rows are pruned, the pruning must keep a
per-status tally of what it deleted for this query to add back; until then alert on the gauges.

``alarmhub_outbound_messages_total`` is counted the same way, from the outbox table, by each
message's current status: its ``pending`` and ``sending`` results also fall as messages move on.

Six queries per scrape, however many rows (a web test pins that). The one exception to "from the
database": ``alarmhub_callbacks_rejected_total`` counts callbacks that were refused precisely so
that nothing is stored, so it comes from a cache counter (``alarms.ops.counters``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import cast

from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from ..choices import DeliveryStatus, OutboundStatus
from ..selectors.alarms import firing_counts_by_namespace
from ..selectors.outbound import outbound_counts_by_kind_and_status
from ..selectors.pipeline import (
    delivery_counts_by_status,
    last_sweep_at,
    pruned_rows_by_table,
    unfinished_deliveries,
)
from ..selectors.stats_rollup import hours_awaiting_rollup
from .counters import rejected_callbacks


class AlarmHubCollector(Collector):
    """A custom collector: ``collect()`` runs the queries, once per scrape."""

    def __init__(self, *, now: datetime | None = None) -> None:
        self.now = now

    def collect(self) -> Iterator[Metric]:
        now = self.now or timezone.now()
        yield self._deliveries_total()
        yield from self._pending(now)
        yield self._alarms_firing()
        yield self._outbound_messages_total()
        yield self._last_sweep()
        yield self._callbacks_rejected()
        yield self._pruned_rows()
        yield GaugeMetricFamily(
            "alarmhub_stats_hours_awaiting_rollup",
            "Past hours whose alarms changed since the statistics' roll-ups were built (beat "
            "rebuilds them every sweep interval; meanwhile the statistics read them from the "
            "alarms, exactly but slower). Growing: beat or its task is failing. 0 off PostgreSQL.",
            value=hours_awaiting_rollup(now),
        )

    def _deliveries_total(self) -> Metric:
        counts = delivery_counts_by_status()
        family = CounterMetricFamily(
            "alarmhub_deliveries",
            "Callback deliveries stored, by status (counted from the delivery table: pruning "
            "delivery rows lowers it).",
            labels=["status"],
        )
        # Every status always has a sample, so a first failure is a step from 0, not a new series.
        for status in DeliveryStatus:
            family.add_metric([status.value], counts.get(status.value, 0))
        return family

    def _pending(self, now: datetime) -> Iterator[Metric]:
        count, oldest = unfinished_deliveries()
        yield GaugeMetricFamily(
            "alarmhub_deliveries_pending",
            "Deliveries stored but not processed yet (status pending or processing).",
            value=count,
        )
        age = max((now - oldest).total_seconds(), 0.0) if oldest else 0.0
        yield GaugeMetricFamily(
            "alarmhub_oldest_pending_delivery_seconds",
            "Seconds since the oldest unprocessed delivery was received (0 when none waits).",
            value=age,
        )

    def _alarms_firing(self) -> Metric:
        # Served by the partial index alarm_firing_seen_idx (an index-only scan of the firing).
        counts = sorted(
            (str(row["namespace"]), cast(int, row["count"])) for row in firing_counts_by_namespace()
        )
        family = GaugeMetricFamily(
            "alarmhub_alarms_firing", "Alarms firing now, by namespace.", labels=["namespace"]
        )
        for namespace, n in counts:
            family.add_metric([namespace], n)
        return family

    def _outbound_messages_total(self) -> Metric:
        counts = outbound_counts_by_kind_and_status()
        family = CounterMetricFamily(
            "alarmhub_outbound_messages",
            "Outbound channel messages, by channel kind and result (the message's status, "
            "counted from the outbox table: pruning messages or deleting a channel lowers it).",
            labels=["kind", "result"],
        )
        # A kind that has messages gets every result, so a first failure is a step from 0.
        for kind in sorted({kind for kind, _ in counts}):
            for status in OutboundStatus:
                family.add_metric([kind, status.value], counts.get((kind, status.value), 0))
        return family

    def _callbacks_rejected(self) -> Metric:
        family = CounterMetricFamily(
            "alarmhub_callbacks_rejected",
            "Callbacks refused without storing them, by reason (quota: the endpoint's "
            "max callbacks per minute). Kept in the cache: per process unless CACHE_URL is Redis.",
            labels=["reason"],
        )
        for reason, count in sorted(rejected_callbacks().items()):
            family.add_metric([reason], count)
        return family

    def _pruned_rows(self) -> Metric:
        family = CounterMetricFamily(
            "alarmhub_pruned_rows",
            "Rows deleted by retention since the first prune, per table ('bodies': raw bodies "
            "cleared from delivery rows that are kept).",
            labels=["table"],
        )
        for table, rows in pruned_rows_by_table():
            family.add_metric([table], rows)
        return family

    def _last_sweep(self) -> Metric:
        at = last_sweep_at()
        return GaugeMetricFamily(
            "alarmhub_last_sweep_timestamp_seconds",
            "Unix time of the last stranded-delivery sweep run by celery beat (0: never; embedded "
            "mode has no beat). "
            "Alert on time() minus this to notice beat dying.",
            value=at.timestamp() if at else 0.0,
        )


def render_metrics(*, now: datetime | None = None) -> bytes:
    """The exposition text: a fresh registry per scrape, so nothing outlives the request."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AlarmHubCollector(now=now))
    return generate_latest(registry)
