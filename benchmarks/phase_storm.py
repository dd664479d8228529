"""Phase 1b: a paced storm with the workers running, and the lag from callback to board.

Callbacks arrive at a fixed rate (200/s, the issue's storm) while the worker processes them, as
in production on one VM. The lag of each delivery is read from the database afterwards:
``processed_at − received_at``, the delivery's row being marked processed in the transaction
that makes its alarm visible on the board.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from tests.support.services import psql

from . import ingestion
from .common import Profile, say
from .ingestion import LoadResult
from .phase_ingest import IngestionResult, callback_load
from .results import Row, percentile
from .stack import ENDPOINT_NAME, Stack

STORM_RATE = 200.0  # callbacks/s
# Enough that a slower answer (the workers share the CPUs) does not hold back the schedule:
# 200/s × 80 ms of latency is 16 requests in flight.
STORM_CONNECTIONS = 16
LAG_TARGET = 2.0  # seconds, p99 of received → processed
PERCENTILES = (50, 95, 99)
# The lag target is set for callbacks arriving at the full rate: judged only when they did.
JUDGED_SHARE = 0.9

_PHASE_ROWS = (
    "FROM alarms_delivery d JOIN alarms_callbackendpoint e ON e.id = d.endpoint_id "
    "WHERE e.name = %s AND d.id > %s"
)


@dataclass
class StormResult:
    rate: float  # the schedule's callbacks/s
    seconds: int  # the schedule's duration
    connections: int
    load: LoadResult
    counts: dict[str, int]  # this phase's deliveries by status, at the end
    lags: list[float]  # seconds, per finished delivery (processed_at − received_at)
    unfinished: list[float]  # seconds so far of those still pending: lower bounds of their lag
    window_seconds: float  # first → last delivery received
    steady_received: int  # deliveries received in the second half of the window
    steady_processed: int  # deliveries finished in that same interval
    drain_seconds: float  # from the end of the load until nothing of it was pending
    drained: bool
    tail_seconds: float | None  # last finished − last received (from the database)

    @property
    def deliveries(self) -> int:
        return sum(self.counts.values())

    @property
    def at_rate(self) -> bool:
        """Whether the callbacks arrived at (nearly) the scheduled rate."""
        return self.load.per_second >= JUDGED_SHARE * self.rate

    @property
    def processed_ratio(self) -> float:
        """Finished ÷ received over the load's second half (steady state): < 1 is a backlog."""
        return self.steady_processed / self.steady_received if self.steady_received else 0.0

    def lag_stats(self) -> dict[str, float]:
        """p50/p95/p99/max over every delivery; an unfinished one counts with its lag so far."""
        values = self.lags + self.unfinished
        stats = {f"p{q}": percentile(values, q) for q in PERCENTILES}
        stats["max"] = max(values) if values else float("nan")
        return stats

    def figures(self) -> dict[str, Any]:
        return {
            "achieved_per_second": self.load.per_second,
            "lag_seconds": self.lag_stats(),
            "lag_is_lower_bound": bool(self.unfinished),
            "at_scheduled_rate": self.at_rate,
            "processed_accepted_ratio": self.processed_ratio,
            "targets": {"lag_p99_seconds_below": LAG_TARGET},
        }


def _counts(stack: Stack, after_id: int) -> dict[str, int]:
    rows = psql(
        stack.database_url,
        f"SELECT d.status, count(*) {_PHASE_ROWS} GROUP BY d.status",
        ENDPOINT_NAME,
        after_id,
    )
    return {status: int(count) for status, count in rows}


def run_storm(
    stack: Stack, profile: Profile, ing: IngestionResult, *, allow_wrk: bool
) -> StormResult:
    assert stack.worker is not None and stack.worker.running, "the storm needs the workers"
    use_wrk = allow_wrk and ingestion.wrk_available()
    tool = "wrk (paced by callback.lua)" if use_wrk else "a paced threaded Python client"
    say(
        f"\n1b. Storm with the workers running — {tool}: {STORM_RATE:.0f} callbacks/s for "
        f"{profile.storm_seconds} s on {STORM_CONNECTIONS} connections; lag = processed_at − "
        f"received_at per delivery"
    )
    after_id = int(
        psql(stack.database_url, "SELECT coalesce(max(id), 0) FROM alarms_delivery")[0][0]
    )
    load = callback_load(
        stack.base_url + stack.callback_path,
        seconds=profile.storm_seconds,
        connections=STORM_CONNECTIONS,
        use_wrk=use_wrk,
        template=ing.template_path.read_text(),
        template_path=ing.template_path,
        slice_id="lag",
        rate=STORM_RATE,
    )
    stopped = time.monotonic()
    done, counts = ingestion.wait_settled(
        lambda: _counts(stack, after_id),
        profile.storm_drain_timeout,
        0.1,
        "the storm's deliveries",
    )
    drain_seconds = time.monotonic() - stopped
    rows = psql(
        stack.database_url,
        "SELECT extract(epoch FROM d.received_at)::float8, "  # noqa: S608 (constant)
        f"extract(epoch FROM d.processed_at)::float8 {_PHASE_ROWS}",
        ENDPOINT_NAME,
        after_id,
    )
    now = time.time()
    received = [float(r[0]) for r in rows]
    finished = [(float(r[0]), float(r[1])) for r in rows if r[1] is not None]
    first, last = (min(received), max(received)) if received else (0.0, 0.0)
    middle = first + (last - first) / 2
    return StormResult(
        rate=STORM_RATE,
        seconds=profile.storm_seconds,
        connections=STORM_CONNECTIONS,
        load=load,
        counts=dict(counts),
        lags=sorted(done_at - got for got, done_at in finished),
        unfinished=sorted(now - float(r[0]) for r in rows if r[1] is None),
        window_seconds=last - first,
        steady_received=sum(1 for got in received if got >= middle),
        steady_processed=sum(1 for _, done_at in finished if middle <= done_at <= last),
        drain_seconds=drain_seconds,
        drained=done,
        tail_seconds=max(d for _, d in finished) - last if done and finished else None,
    )


def print_storm(result: StormResult) -> None:
    load = result.load
    pace = f"{load.per_second:.1f} callbacks/s answered 2xx of {result.rate:.0f}/s scheduled"
    say(
        f"  load: {pace} ({load.requests} requests, {load.errors} errors, p50 {load.p50_ms:.1f} "
        f"ms, p99 {load.p99_ms:.1f} ms); {load.late_sends} sends more than 1 ms behind the "
        f"schedule (latest {load.late_max_ms:.0f} ms)"
    )
    stats = result.lag_stats()
    bound = "≥ " if result.unfinished else ""
    say(
        f"  lag received → processed over {result.deliveries} deliveries: "
        + ", ".join(f"{key} {bound}{value:.3f} s" for key, value in stats.items())
    )
    p99 = stats["p99"]
    judged = "met" if p99 < LAG_TARGET else "MISSED"
    if not result.at_rate:
        judged = (
            f"not judged ({'would be met' if p99 < LAG_TARGET else 'MISSED even'} at "
            f"{load.per_second:.0f}/s: the stack did not take the scheduled {result.rate:.0f}/s)"
        )
    say(f"  target p99 < {LAG_TARGET:.0f} s at {result.rate:.0f} callbacks/s: {judged}")
    say(
        f"  processed/accepted over the load's second half: {result.steady_processed} finished "
        f"÷ {result.steady_received} received = {result.processed_ratio:.2f}× "
        "(≈ 1 when the workers keep up; below 1 a backlog grows)"
    )
    if result.drained:
        tail = f"{result.tail_seconds:.2f} s" if result.tail_seconds is not None else "n/a"
        say(
            f"  drained {result.drain_seconds:.1f} s after the load stopped (polled); the last "
            f"delivery was processed {tail} after the last one arrived; by status: {result.counts}"
        )
    else:
        say(
            f"  NOT drained {result.drain_seconds:.0f} s after the load stopped: "
            f"{len(result.unfinished)} still pending (their lag so far is counted); "
            f"by status: {result.counts}"
        )


def storm_rows(result: StormResult) -> list[Row]:
    stats = result.lag_stats()
    bound = "≥ " if result.unfinished else ""
    return [
        Row(
            f"storm: callbacks/s achieved ({result.rate:.0f}/s scheduled, workers on)",
            f"{result.load.per_second:.0f}",
            f"{result.load.per_second / result.rate:.0%} of the schedule, "
            f"p99 {result.load.p99_ms:.0f} ms",
            brief=True,
        ),
        Row(
            "   lag received → processed p50 / p95 / p99",
            f"{bound}{stats['p50']:.2f} / {stats['p95']:.2f} / {stats['p99']:.2f} s",
            f"max {bound}{stats['max']:.2f} s",
            f"p99 < {LAG_TARGET:.0f} s at {result.rate:.0f}/s"
            + ("" if result.at_rate else " (not judged: rate not reached)"),
            stats["p99"] < LAG_TARGET if result.at_rate else None,
        ),
        Row(
            "   processed/accepted during the storm (steady half)",
            f"{result.processed_ratio:.2f}×",
            "drained"
            if result.drained
            else f"NOT drained {result.drain_seconds:.0f} s after the load",
            brief=True,
        ),
    ]
