"""Phase 1: what a callback costs the web tier; how fast the workers turn deliveries into alarms.

Web and workers share this machine's CPUs, so each tier is measured with the other idle: the
web tier first (workers stopped; /healthz and callbacks in alternating slices), then the
workers drain the backlog the callbacks left. The worker is left running for the storm phase.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.support.services import psql

from . import ingestion
from .common import Profile, floor_verdict, ratio, say, verdict
from .ingestion import LoadResult
from .results import Row
from .stack import ENDPOINT_NAME, Stack

STORM_INSTANCES = 300  # alarms in the storm: each one's first callback triggers, later ones repeat
CONNECTIONS = 8  # the measure: "at 8 connections"
WRK_THREADS = 2
# Targets of the throughput issue (#16), on this machine.
COST_TARGET = 4.0  # healthz/callback throughput ratio, at most
CALLBACK_P99_TARGET = 50.0  # ms, below
PROCESSED_RATIO_TARGET = 1.0  # worker deliveries/s ÷ web accepted callbacks/s, at least
PROCESSED_RATE_TARGET = 300.0  # deliveries/s with one worker of 2 processes, at least


@dataclass
class IngestionResult:
    connections: int
    healthz: LoadResult
    callbacks: LoadResult
    slices: list[tuple[LoadResult, LoadResult]]  # (healthz, callbacks) per slice
    pair_ratio: float  # median over slices of healthz req/s ÷ callback req/s
    stored: int
    drain_seconds: float
    drained: bool
    final: dict[str, int]
    alarms: int
    notifications: int
    template_path: Path
    pipeline: dict[str, Any] = field(default_factory=dict)  # SQL counts (benchmarks.probe)
    warmup_callbacks: int = 0  # answered 2xx in the untimed warm-up (stored, drained, not timed)

    @property
    def processed_per_second(self) -> float:
        processed = self.final.get("processed", 0)
        return processed / self.drain_seconds if self.drain_seconds else 0.0

    @property
    def processed_ratio(self) -> float:
        """Worker deliveries/s ÷ web accepted callbacks/s: ≥ 1 means the workers keep up."""
        accepted = self.callbacks.per_second
        return self.processed_per_second / accepted if accepted else 0.0

    def figures(self) -> dict[str, Any]:
        return {
            "callbacks_per_second": self.callbacks.per_second,
            "healthz_per_second": self.healthz.per_second,
            "healthz_callback_ratio": self.pair_ratio,
            "callback_p50_ms": self.callbacks.p50_ms,
            "callback_p99_ms": self.callbacks.p99_ms,
            "latency_ratio_p50": self.callbacks.p50_ms / self.healthz.p50_ms
            if self.healthz.p50_ms
            else None,
            "processed_per_second": self.processed_per_second,
            "processed_accepted_ratio": self.processed_ratio,
            "targets": {
                "healthz_callback_ratio_max": COST_TARGET,
                "callback_p99_ms_below": CALLBACK_P99_TARGET,
                "processed_accepted_ratio_min": PROCESSED_RATIO_TARGET,
                "processed_per_second_min": PROCESSED_RATE_TARGET,
            },
        }


def run_ingestion(
    stack: Stack, profile: Profile, *, allow_wrk: bool, connections: int = CONNECTIONS
) -> IngestionResult:
    assert stack.worker is not None
    use_wrk = allow_wrk and ingestion.wrk_available()
    tool = "wrk" if use_wrk else "a threaded Python client (wrk has less overhead)"
    say(
        f"\n1. Ingestion — {tool}, {connections} connections, workers stopped: one untimed "
        f"pair of 1 s, then {profile.slices} × (GET /healthz {profile.healthz_seconds} s, "
        f"callbacks {profile.callback_seconds} s); then the workers drain the backlog"
    )
    # Tencent sends the endpoint's local time; ten minutes ago keeps every alarm "recent".
    first_occur = (datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(minutes=10)).strftime(
        "%Y-%m-%d %H:%M:%S"
    )
    template = ingestion.body_template(first_occur, salt=f"{time.time_ns():x}")
    template_path = stack.run_dir / "callback-template.json"
    template_path.write_text(template)

    def load(url: str, seconds: int, slice_id: str | None) -> LoadResult:
        """One bounded run: GET ``url``, or POST storm callbacks when ``slice_id`` is set."""
        return callback_load(
            url,
            seconds=seconds,
            connections=connections,
            use_wrk=use_wrk,
            template=template,
            template_path=template_path,
            slice_id=slice_id,
        )

    # Web and workers share this machine's CPUs: measure each tier with the other one idle.
    stack.worker.stop()
    # One untimed pair first: the steady state is measured, not the workers' first requests
    # (imports, the psycopg pool growing to its connections, the broker connection).
    load(stack.base_url + "/healthz", 1, None)
    warm = load(stack.base_url + stack.callback_path, 1, "warm")
    slices: list[tuple[LoadResult, LoadResult]] = []
    for i in range(profile.slices):
        healthz_run = load(stack.base_url + "/healthz", profile.healthz_seconds, None)
        callback_run = load(stack.base_url + stack.callback_path, profile.callback_seconds, f"s{i}")
        slices.append((healthz_run, callback_run))
    healthz = ingestion.combine([h for h, _ in slices])
    callbacks = ingestion.combine([c for _, c in slices])
    pair_ratio = statistics.median(
        h.per_second / c.per_second if c.per_second else 0.0 for h, c in slices
    )
    stored = sum(ingestion.delivery_counts(stack.database_url, ENDPOINT_NAME).values())

    stack.worker.start()  # returns once the worker consumes: the drain clock starts here
    ready, ready_wall = time.monotonic(), time.time()
    done, final = ingestion.wait_settled(
        lambda: ingestion.delivery_counts(stack.database_url, ENDPOINT_NAME),
        profile.drain_timeout,
        0.05,
        "the workers to drain",
    )
    drain_seconds = time.monotonic() - ready
    if done:
        # The clock stops at the last delivery's processed_at, not when the poll noticed it.
        last = psql(
            stack.database_url,
            "SELECT extract(epoch FROM max(d.processed_at))::float8 FROM alarms_delivery d "
            "JOIN alarms_callbackendpoint e ON e.id = d.endpoint_id WHERE e.name = %s",
            ENDPOINT_NAME,
        )[0][0]
        if last is not None and last > ready_wall:
            drain_seconds = min(drain_seconds, float(last) - ready_wall)
    rows = psql(
        stack.database_url,
        "SELECT count(*), coalesce(sum(a.notification_count), 0) FROM alarms_alarm a "
        "JOIN alarms_callbackendpoint e ON e.id = a.endpoint_id WHERE e.name = %s",
        ENDPOINT_NAME,
    )
    return IngestionResult(
        connections=connections,
        healthz=healthz,
        callbacks=callbacks,
        slices=slices,
        pair_ratio=pair_ratio,
        stored=stored,
        warmup_callbacks=warm.requests - warm.errors,
        drain_seconds=drain_seconds,
        drained=done,
        final=dict(final),
        alarms=int(rows[0][0]),
        notifications=int(rows[0][1]),
        template_path=template_path,
    )


def callback_load(
    url: str,
    *,
    seconds: int,
    connections: int,
    use_wrk: bool,
    template: str,
    template_path: Path,
    slice_id: str | None,
    rate: float | None = None,
) -> LoadResult:
    """GET ``url``, or POST storm callbacks when ``slice_id`` is set (``rate`` paces them)."""
    if use_wrk:
        script = None
        if slice_id is not None:
            script = [str(template_path), str(STORM_INSTANCES), slice_id]
        return ingestion.run_wrk(
            url,
            seconds=seconds,
            connections=connections,
            threads=WRK_THREADS,
            script_args=script,
            rate=rate,
        )
    return ingestion.run_threaded(
        url,
        seconds=seconds,
        connections=connections,
        template=None if slice_id is None else template,
        pool=STORM_INSTANCES,
        slice_id=slice_id or "0",
        rate=rate,
    )


def print_ingestion(result: IngestionResult) -> None:
    h, c = result.healthz, result.callbacks
    say(f"  {'':34} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9} {'errors':>7}")
    for name, r in (("GET /healthz (no-op)", h), ("POST callback (durable store)", c)):
        say(
            f"  {name:34} {r.per_second:9.1f} {r.p50_ms:8.2f} {r.p99_ms:8.2f} "
            f"{r.requests:9d} {r.errors:7d}"
        )
    say(
        f"  → a stored callback costs {result.pair_ratio:.2f}× a no-op request in throughput "
        f"(median over the paired slices), {ratio(c.p50_ms, h.p50_ms)} in median latency"
    )
    say(
        f"  targets at {result.connections} connections: healthz/callback ≤ {COST_TARGET:.0f}×: "
        f"{result.pair_ratio:.2f}×, {verdict(result.pair_ratio, COST_TARGET, '×')}; callback "
        f"p99 < {CALLBACK_P99_TARGET:.0f} ms: {c.p99_ms:.1f} ms, "
        f"{_below(c.p99_ms, CALLBACK_P99_TARGET, 'ms')}"
    )
    say(
        f"  {result.stored} deliveries on disk for {c.requests - c.errors} callbacks answered 2xx "
        f"+ {result.warmup_callbacks} in the untimed warm-up (a request cut off at the deadline "
        "may be stored but not counted)"
    )
    processed = result.final.get("processed", 0)
    status = "" if result.drained else f"; NOT drained within the time limit: {result.final}"
    say(
        f"  workers: {processed} processed in {result.drain_seconds:.1f} s = "
        f"{result.processed_per_second:.1f} deliveries/s "
        f"({result.final.get('failed', 0)} failed, {result.final.get('duplicate', 0)} duplicate)"
        f" → {result.alarms} alarms carrying {result.notifications} notifications{status}"
    )
    say(
        f"  → processed/accepted = {result.processed_per_second:.1f} deliveries/s ÷ "
        f"{c.per_second:.1f} callbacks/s = {result.processed_ratio:.2f}× "
        f"(target ≥ {PROCESSED_RATIO_TARGET:.1f}: "
        f"{floor_verdict(result.processed_ratio, PROCESSED_RATIO_TARGET)}; "
        f"≥ {PROCESSED_RATE_TARGET:.0f} deliveries/s: "
        f"{floor_verdict(result.processed_per_second, PROCESSED_RATE_TARGET)})"
    )


def print_pipeline(pipeline: dict[str, Any]) -> None:
    if not pipeline:
        return
    say(f"  SQL, counted in-process: {'statements':>10} {'round trips':>12} {'commits':>8}")
    for key, name in (
        ("callback", "callback POST"),
        ("trigger", "processing a trigger"),
        ("repeat", "processing a repeat"),
    ):
        row = pipeline.get(key)
        if row:
            say(f"    {name:22} {row['statements']:10} {row['round_trips']:12} {row['commits']:8}")
    say("  (round trips add BEGIN, SAVEPOINT, RELEASE and COMMIT to the statements)")


def _below(value: float, target: float, unit: str) -> str:
    """A strict ceiling (``value`` < ``target``)."""
    if value < target:
        return "met"
    return f"MISSED by {value - target:.3g} {unit}"


def ingestion_rows(result: IngestionResult) -> list[Row]:
    c, h = result.callbacks, result.healthz
    rate = result.processed_per_second
    return [
        Row(
            f"callbacks accepted / s (web tier, durable store, {result.connections} conn.)",
            f"{c.per_second:.0f}",
            f"healthz/callback {result.pair_ratio:.2f}×",
            f"healthz/callback ≤ {COST_TARGET:.0f}×",
            result.pair_ratio <= COST_TARGET,
        ),
        Row(
            "callback latency p50 / p99",
            f"{c.p50_ms:.1f} / {c.p99_ms:.1f} ms",
            f"callback/healthz p50 {ratio(c.p50_ms, h.p50_ms)}",
            f"p99 < {CALLBACK_P99_TARGET:.0f} ms",
            c.p99_ms < CALLBACK_P99_TARGET,
        ),
        Row(
            "deliveries processed / s (workers draining the backlog)",
            f"{rate:.0f}",
            "",
            f"≥ {PROCESSED_RATE_TARGET:.0f} /s",
            rate >= PROCESSED_RATE_TARGET,
        ),
        Row(
            "   processed/accepted (worker rate ÷ web rate)",
            f"{result.processed_ratio:.2f}×",
            "",
            f"≥ {PROCESSED_RATIO_TARGET:.1f}",
            result.processed_ratio >= PROCESSED_RATIO_TARGET,
        ),
        Row("   the same per minute (an alarm storm's unit)", f"{rate * 60:,.0f}"),
    ]
