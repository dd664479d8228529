"""AlarmHub benchmarks: ``python -m benchmarks [--quick] [--alarms N]`` (or ``make bench``).

Starts a throwaway PostgreSQL + Redis + gunicorn + Celery stack on 127.0.0.1, measures

1. ingestion — callbacks accepted per second by the callback view against ``GET /healthz`` on
   the same server (the price of a durable store), then how fast the workers turn the backlog
   into alarms — each tier measured with the other idle, as they share this machine's CPUs;
2. scale — median latency of the API, statistics, console and admin pages at N/20 and at N
   alarms;
3. export — a 100,000-row CSV export streamed (time, and the serving worker's RSS growth), an
   XLSX export of 10,000 rows, and the statistics again at that size;

and prints every result as a ratio measured within this one run, next to the absolute numbers.
The machine is shared and noisy: absolute times vary from run to run, the ratios much less.
Everything it started is stopped at the end, on an error, on Ctrl-C and on SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import FrameType
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from tests.support.services import ServiceError, psql, wait_until

from . import export, ingestion, scale
from .export import MIB, ExportRun
from .ingestion import LoadResult
from .stack import ENDPOINT_NAME, Stack

# Peers' numbers on this kind of machine, as given in the project brief: context, not measured.
PEERS = [
    ("Alerta: alerts ingested per second", "~70 /s"),
    ("Alerta: alert list at 20,000 alerts", "~350 ms"),
]
# A sequential scan of a table this big is worth a note (the planner rightly scans small ones).
BIG_TABLE_ROWS = 10_000
COUNT_KINDS = {
    "capped": "COUNT capped by a LIMIT subquery (bounded work)",
    "grouped": "grouped COUNT (one row per group)",
    "full": "uncapped COUNT over the filtered rows",
}
STORM_INSTANCES = 300  # alarms in the storm: each one's first callback triggers, later ones repeat
# Targets of the insights issue (#11): absolute, on this machine, at the sizes named.
STATS_TARGET = 0.5  # seconds, the statistics API and page
EXPORT_TARGET = 10.0  # seconds, a 100,000-row CSV export
EXPORT_RSS_TARGET = 50 * MIB  # growth of the web process serving it
XLSX_ROWS = 10_000


@dataclass(frozen=True)
class Profile:
    slices: int  # alternating /healthz and callback runs (noise hits both alike)
    healthz_seconds: int  # per slice
    callback_seconds: int  # per slice
    drain_timeout: float
    rounds: int


FULL = Profile(slices=6, healthz_seconds=1, callback_seconds=1, drain_timeout=150, rounds=15)
QUICK = Profile(slices=2, healthz_seconds=1, callback_seconds=1, drain_timeout=40, rounds=5)


@dataclass
class IngestionResult:
    healthz: LoadResult
    callbacks: LoadResult
    pair_ratio: float  # median over slices of healthz req/s ÷ callback req/s
    stored: int
    drain_seconds: float
    drained: bool
    final: dict[str, int]
    alarms: int
    notifications: int
    pipeline: dict[str, Any]

    @property
    def processed_per_second(self) -> float:
        processed = self.final.get("processed", 0)
        return processed / self.drain_seconds if self.drain_seconds else 0.0


@dataclass
class ScaleResult:
    """Per size (alarm count): request seconds per page, and the probe's query report."""

    small: int
    large: int
    samples: dict[int, dict[str, list[float]]] = field(default_factory=dict)
    queries: dict[int, dict[str, Any]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    loads: list[str] = field(default_factory=list)
    seeded: int = 0  # seeded alarms so far and the seed's "now": the export phase loads on
    base: float = 0.0

    def median(self, size: int, key: str) -> float:
        return statistics.median(self.samples[size][key])

    def best(self, size: int, key: str) -> float:
        return min(self.samples[size][key])


def say(text: str = "") -> None:
    print(text, flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


# --- 1. ingestion ----------------------------------------------------------------------------


def run_ingestion(stack: Stack, profile: Profile, *, allow_wrk: bool) -> IngestionResult:
    assert stack.worker is not None
    connections = 2 * stack.web_workers
    use_wrk = allow_wrk and ingestion.wrk_available()
    tool = "wrk" if use_wrk else "a threaded Python client (wrk has less overhead)"
    say(
        f"\n1. Ingestion — {tool}, {connections} connections, workers stopped: "
        f"{profile.slices} × (GET /healthz {profile.healthz_seconds} s, callbacks "
        f"{profile.callback_seconds} s); then the workers drain the backlog"
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
        if use_wrk:
            script = None
            if slice_id is not None:
                script = [str(template_path), str(STORM_INSTANCES), slice_id]
            return ingestion.run_wrk(
                url, seconds=seconds, connections=connections, threads=2, script_args=script
            )
        return ingestion.run_threaded(
            url,
            seconds=seconds,
            connections=connections,
            template=None if slice_id is None else template,
            pool=STORM_INSTANCES,
            slice_id=slice_id or "0",
        )

    # Web and workers share this machine's CPUs: measure each tier with the other one idle.
    stack.worker.stop()
    healthz_runs: list[LoadResult] = []
    callback_runs: list[LoadResult] = []
    for i in range(profile.slices):
        healthz_runs.append(load(stack.base_url + "/healthz", profile.healthz_seconds, None))
        callback_runs.append(
            load(stack.base_url + stack.callback_path, profile.callback_seconds, f"s{i}")
        )
    healthz, callbacks = ingestion.combine(healthz_runs), ingestion.combine(callback_runs)
    pair_ratio = statistics.median(
        h.per_second / c.per_second if c.per_second else 0.0
        for h, c in zip(healthz_runs, callback_runs, strict=True)
    )
    stored = sum(ingestion.delivery_counts(stack.database_url, ENDPOINT_NAME).values())

    stack.worker.start()  # returns once the worker consumes: the drain clock starts here
    ready = time.monotonic()
    final: dict[str, int] = {}

    def drained() -> bool:
        final.clear()
        final.update(ingestion.delivery_counts(stack.database_url, ENDPOINT_NAME))
        return ingestion.unsettled(final) == 0

    try:
        wait_until(drained, profile.drain_timeout, 0.05, message="the workers to drain")
        done = True
    except TimeoutError:
        done = False
    drain_seconds = time.monotonic() - ready
    stack.worker.stop()  # the scale phase needs no worker (nor one still draining)
    rows = psql(
        stack.database_url,
        "SELECT count(*), coalesce(sum(a.notification_count), 0) FROM alarms_alarm a "
        "JOIN alarms_callbackendpoint e ON e.id = a.endpoint_id WHERE e.name = %s",
        ENDPOINT_NAME,
    )
    return IngestionResult(
        healthz=healthz,
        callbacks=callbacks,
        pair_ratio=pair_ratio,
        stored=stored,
        drain_seconds=drain_seconds,
        drained=done,
        final=dict(final),
        alarms=int(rows[0][0]),
        notifications=int(rows[0][1]),
        pipeline=_probe(stack, "pipeline", stack.callback_path, str(template_path)),
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
        f"(median over the paired slices), {_ratio(c.p50_ms, h.p50_ms)} in median latency"
    )
    say(
        f"  {result.stored} deliveries on disk for {c.requests - c.errors} callbacks answered 2xx "
        "(a request cut off at the deadline may be stored but not counted)"
    )
    processed = result.final.get("processed", 0)
    status = "" if result.drained else f"; NOT drained within the time limit: {result.final}"
    say(
        f"  workers: {processed} processed in {result.drain_seconds:.1f} s = "
        f"{result.processed_per_second:.1f} deliveries/s "
        f"({result.final.get('failed', 0)} failed, {result.final.get('duplicate', 0)} duplicate)"
        f" → {result.alarms} alarms carrying {result.notifications} notifications{status}"
    )
    if result.pipeline:
        say(f"  SQL, counted in-process: {'statements':>10} {'round trips':>12} {'commits':>8}")
        for key, name in (
            ("callback", "callback POST"),
            ("trigger", "processing a trigger"),
            ("repeat", "processing a repeat"),
        ):
            row = result.pipeline[key]
            say(f"    {name:22} {row['statements']:10} {row['round_trips']:12} {row['commits']:8}")
        say("  (round trips add BEGIN, SAVEPOINT, RELEASE and COMMIT to the statements)")


# --- 2. scale --------------------------------------------------------------------------------


def _alarm_count(stack: Stack) -> int:
    return int(psql(stack.database_url, "SELECT count(*) FROM alarms_alarm")[0][0])


def _load_to(stack: Stack, total: int, seeded: int, base: float) -> tuple[int, str]:
    """Seed alarms until the table holds ``total``; returns (seeded so far, a one-line summary)."""
    need = total - _alarm_count(stack)
    if need <= 0:
        return seeded, "nothing to load"
    output = stack.django(
        "benchmarks.seed",
        "--start",
        str(seeded),
        "--count",
        str(need),
        "--base",
        str(base),
        "--instances",
        str(max(100, total // 10)),
        "--policies",
        str(max(30, min(3000, total // 100))),
        timeout=300 + need / 200,  # bounded, yet ample at any size on a slow machine
    )
    made = json.loads(output.strip().splitlines()[-1])
    started = time.monotonic()
    for table in ("alarm", "alarmevent", "instance", "policy"):
        # What autovacuum would have done by now: fresh statistics and a visibility map.
        psql(stack.database_url, f"VACUUM ANALYZE alarms_{table}")
    vacuum = time.monotonic() - started
    summary = (
        f"loaded {made['alarms']:,} alarms + {made['events']:,} timeline events "
        f"({made['instances']:,} instances) in {made['seconds']:.1f} s "
        f"({made['alarms'] / max(made['seconds'], 0.001):,.0f} alarms/s), VACUUM ANALYZE "
        f"{vacuum:.1f} s"
    )
    return seeded + made["alarms"], summary


def _probe(stack: Stack, mode: str, *args: str) -> dict[str, Any]:
    """benchmarks.probe's JSON answer, or {} (with a note) when it fails: counts are a bonus."""
    try:
        output = stack.django(
            "benchmarks.probe",
            mode,
            *args,
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
            DJANGO_LOG_LEVEL="WARNING",
        )
        return dict(json.loads(output.strip().splitlines()[-1]))
    except (ServiceError, ValueError, subprocess.TimeoutExpired) as exc:
        say(f"  (query counts unavailable: {str(exc).strip().splitlines()[-1]})")
        return {}


def run_scale(stack: Stack, profile: Profile, alarms: int) -> ScaleResult:
    small, large = alarms // 20, alarms
    result = ScaleResult(small=small, large=large)
    say(
        f"\n2. Scale — median of {profile.rounds} interleaved rounds per page, at {small:,} and "
        f"at {large:,} alarms"
    )
    base = time.time()
    seeded = 0
    clients = scale.Clients(stack.base_url, stack.api_token, stack.username, stack.password)
    detail_id = 0
    for size in (small, large):
        seeded, summary = _load_to(stack, size, seeded, base)
        say(f"  {summary}")
        result.loads.append(summary)
        if not detail_id:
            # An alarm from the middle of the history, the same one at both sizes.
            rows = psql(
                stack.database_url,
                "SELECT id FROM alarms_alarm ORDER BY first_occurred_at DESC, id DESC "
                "LIMIT 1 OFFSET %s",
                size // 2,
            )
            detail_id = int(rows[0][0])
        page_list = scale.pages(clients, detail_id)
        result.labels = {page.key: page.label for page in page_list}
        spec = json.dumps([[page.key, page.path, page.auth] for page in page_list])
        result.queries[size] = _probe(stack, "pages", stack.username, stack.api_token, spec)
        result.samples[size] = scale.time_pages(clients, page_list, rounds=profile.rounds)
        say(f"  measured at {_alarm_count(stack):,} alarms")
    result.seeded, result.base = seeded, base
    return result


def print_scale(result: ScaleResult) -> None:
    small, large = result.small, result.large
    head_small, head_large = f"{small:,} alarms", f"{large:,} alarms"
    columns = f"{head_small:>14} {head_large:>14} {'ratio':>7} {'best':>6}"
    say(f"  {'median of the rounds':46} {columns}  queries")
    notes: list[str] = []
    for key, label in result.labels.items():
        a, b = result.median(small, key), result.median(large, key)
        best = result.best(large, key) / result.best(small, key)
        qa = result.queries.get(small, {}).get(key, {})
        qb = result.queries.get(large, {}).get(key, {})
        queries = f"{qa.get('queries', '?')} → {qb.get('queries', '?')}" if qb else "n/a"
        say(f"  {label:46} {ms(a)} ms    {ms(b)} ms  {b / a:5.2f}× {best:5.2f}×  {queries}")
        big = [t for t, rows in qb.get("seq_scans", {}).items() if rows >= BIG_TABLE_ROWS]
        if big:
            notes.append(f"{label}: sequential scan of {', '.join(big)}")
        # One note per kind: the statistics run several grouped COUNTs by design.
        for kind, n in Counter(qb.get("counts", [])).items():
            notes.append(f"{label}: {'one' if n == 1 else f'{n} ×'} {COUNT_KINDS[kind]}")
        if qa and qb and qa.get("queries") != qb.get("queries"):
            notes.append(f"{label}: query count {queries}")
    say(
        "  (ratio = median at the large size ÷ median at the small size, ≈1 means flat; best = "
        "the same for the fastest request, the least disturbed by noise; the control's ratio is "
        "the machine's own drift between the two sizes)"
    )
    if notes:
        say(f"  Plan notes at {large:,} alarms (from EXPLAIN of every SELECT the page ran):")
        for note in notes:
            say(f"    - {note}")


# --- 3. export (and the statistics at its size) --------------------------------------------


@dataclass
class ExportResult:
    size: int  # alarms in the table
    rows: int  # the 100,000-row export's expected rows
    warm_rss: int = 0  # the worker's RSS after the warm-up, before the measured exports
    runs: dict[str, ExportRun] = field(default_factory=dict)
    stats: dict[str, list[float]] = field(default_factory=dict)
    stats_labels: dict[str, str] = field(default_factory=dict)


def run_export(stack: Stack, profile: Profile, rows: int, sc: ScaleResult) -> ExportResult:
    assert stack.web is not None and stack.web.process is not None
    say(
        f"\n3. Export — {rows:,} rows as CSV and {XLSX_ROWS:,} as XLSX, streamed, on one gunicorn "
        "worker whose RSS is sampled every 10 ms; then the statistics at that size"
    )
    target = max(rows, sc.large)
    _, summary = _load_to(stack, target, sc.seeded, sc.base)
    say(f"  {summary}")
    # One worker: the process that serves the export is known (its RSS is what is measured).
    stack.web.stop()
    stack.web.workers = 1
    stack.web.start()
    workers = export.children(stack.web.process.pid)
    if len(workers) != 1:
        raise RuntimeError(f"expected one gunicorn worker, found {workers}")
    worker = workers[0]
    size = _alarm_count(stack)
    result = ExportResult(size=size, rows=min(rows, size))
    clients = scale.Clients(stack.base_url, stack.api_token, stack.username, stack.password)

    # The XLSX (and the small CSV) select the newest XLSX_ROWS alarms by a time filter.
    cut = psql(
        stack.database_url,
        "SELECT first_occurred_at FROM alarms_alarm ORDER BY first_occurred_at DESC, id DESC "
        "LIMIT 1 OFFSET %s",
        XLSX_ROWS - 1,
    )[0][0]
    small_rows = int(
        psql(
            stack.database_url,
            "SELECT count(*) FROM alarms_alarm WHERE first_occurred_at >= %s",
            cut,
        )[0][0]
    )
    url = f"{stack.base_url}/api/v1/alarms/export/"
    recent = f"{url}?{urlencode({'first_occurred_after': cut.isoformat()})}"
    # Warm the worker (imports, openpyxl, per-process caches), as a long-running one would be.
    warm = f"{url}?{urlencode({'q': scale.SEARCH_INSTANCE})}"
    for fmt in ("csv", "xlsx"):
        export.download(clients.api, f"{warm}&format={fmt}", label="warm-up", worker_pid=worker)
    result.warm_rss = export.rss_bytes(worker)
    # The CSVs first, so that openpyxl's allocations cannot hide theirs.
    plan = [
        ("csv_small", f"CSV, {small_rows:,} rows", f"{recent}&format=csv", None),
        ("csv", f"CSV, {result.rows:,} rows (the cap)", f"{url}?format=csv", None),
        ("xlsx", f"XLSX, {small_rows:,} rows", f"{recent}&format=xlsx", small_rows),
    ]
    for key, label, address, expected in plan:
        result.runs[key] = export.download(
            clients.api, address, label=label, worker_pid=worker, rows=expected
        )

    stats = scale.stats_pages()
    result.stats_labels = {page.key: page.label for page in stats}
    result.stats = scale.time_pages(clients, stats, rounds=profile.rounds)
    return result


def _export_growth(result: ExportResult) -> int:
    """RSS growth charged to the big CSV: its peak above the warm worker (an upper bound)."""
    return max(0, result.runs["csv"].rss_peak - result.warm_rss)


def _verdict(value: float, target: float, unit: str = "s") -> str:
    if value <= target:
        return "met"
    return f"MISSED by {value - target:.3g} {unit} ({value / target:.1f}× the target)"


def print_export(result: ExportResult, sc: ScaleResult | None) -> None:
    say(
        f"  {'':34} {'rows':>8} {'MiB':>6} {'1st byte':>9} {'total':>8} {'rows/s':>8}"
        f"  worker RSS before → peak (growth)"
    )
    for run in result.runs.values():
        rate = run.rows / run.total if run.total else 0.0
        say(
            f"  {run.label:34} {run.rows:8,} {run.bytes / MIB:6.1f} {ms(run.first_byte)} ms"
            f" {run.total:6.2f} s {rate:8,.0f}  {run.rss_before / MIB:.0f} → "
            f"{run.rss_peak / MIB:.0f} MiB (+{run.rss_growth / MIB:.1f} MiB)"
        )
    csv_run = result.runs["csv"]
    if csv_run.rows != result.rows:
        say(f"  NOTE: the CSV export held {csv_run.rows:,} rows, expected {result.rows:,}")
    small = result.runs["csv_small"]
    growth = _export_growth(result)
    say(
        f"  → {csv_run.rows / max(small.rows, 1):.0f}× the rows: "
        f"{_ratio(csv_run.total, small.total)} the time; the worker's peak during the "
        f"{csv_run.rows:,} rows is {growth / MIB:.1f} MiB above its warm RSS (both CSVs "
        f"included), {small.rss_growth / MIB:.1f} MiB of it already after the "
        f"{small.rows:,}; X-AlarmHub-Export-Truncated: {csv_run.truncated}"
    )
    say(
        f"  targets: CSV {result.rows:,} rows ≤ {EXPORT_TARGET:.0f} s: {csv_run.total:.2f} s, "
        f"{_verdict(csv_run.total, EXPORT_TARGET)}; worker RSS growth ≤ "
        f"{EXPORT_RSS_TARGET // MIB} MiB: {growth / MIB:.1f} MiB, "
        f"{_verdict(growth / MIB, EXPORT_RSS_TARGET / MIB, 'MiB')}"
    )
    say(f"  statistics at {result.size:,} alarms (median of the rounds, target ≤ 500 ms):")
    for key, label in result.stats_labels.items():
        median = statistics.median(result.stats[key])
        before = ""
        if sc is not None and key in sc.labels:
            before = f"  ({_ratio(median, sc.median(sc.large, key))} the time at {sc.large:,})"
        say(f"    {label:44} {ms(median)} ms  {_verdict(median, STATS_TARGET)}{before}")


# --- summary ---------------------------------------------------------------------------------


def _ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}×" if denominator else "n/a"


def print_summary(
    ing: IngestionResult | None, sc: ScaleResult | None, ex: ExportResult | None
) -> None:
    say("\nSummary (one run on this machine; compare the ratios, not the absolute numbers)")
    say(f"  {'measure':54} {'value':>14}  ratio")
    if ing is not None:
        c, h = ing.callbacks, ing.healthz
        rate = ing.processed_per_second
        rows = [
            (
                "callbacks accepted / s (web tier, durable store)",
                f"{c.per_second:.0f}",
                f"healthz/callback {ing.pair_ratio:.2f}×",
            ),
            (
                "callback latency p50 / p99",
                f"{c.p50_ms:.1f} / {c.p99_ms:.1f} ms",
                f"callback/healthz p50 {_ratio(c.p50_ms, h.p50_ms)}",
            ),
            (
                "deliveries processed / s (workers, into alarms)",
                f"{rate:.0f}",
                f"processed/accepted {_ratio(rate, c.per_second)}",
            ),
            ("   the same per minute (an alarm storm's unit)", f"{rate * 60:,.0f}", ""),
        ]
        for name, value, ratio in rows:
            say(f"  {name:54} {value:>14}  {ratio}")
    if sc is not None:
        for key, label in sc.labels.items():
            a, b = sc.median(sc.small, key), sc.median(sc.large, key)
            name = f"{label} @ {sc.large:,}"
            target = ""
            if key.startswith("stats"):
                target = f"; ≤ 500 ms {_verdict(b, STATS_TARGET)}"
            say(f"  {name:54} {b * 1000:11.1f} ms  large/small {b / a:.2f}×{target}")
    if ex is not None:
        csv_run, xlsx = ex.runs["csv"], ex.runs["xlsx"]
        rows = [
            (
                f"CSV export, {csv_run.rows:,} rows (streamed)",
                f"{csv_run.total:.2f} s",
                f"≤ {EXPORT_TARGET:.0f} s {_verdict(csv_run.total, EXPORT_TARGET)}",
            ),
            (
                "   web worker RSS growth during it",
                f"{_export_growth(ex) / MIB:.1f} MiB",
                f"≤ {EXPORT_RSS_TARGET // MIB} MiB "
                f"{_verdict(_export_growth(ex) / MIB, EXPORT_RSS_TARGET / MIB, 'MiB')}",
            ),
            (f"XLSX export, {xlsx.rows:,} rows", f"{xlsx.total:.2f} s", ""),
        ]
        for key, label in ex.stats_labels.items():
            median = statistics.median(ex.stats[key])
            rows.append(
                (
                    f"{label} @ {ex.size:,}",
                    f"{median * 1000:.1f} ms",
                    f"≤ 500 ms {_verdict(median, STATS_TARGET)}",
                )
            )
        for name, value, ratio in rows:
            say(f"  {name:54} {value:>14}  {ratio}")
    say("\n  Peers, for context only (not measured here):")
    for name, value in PEERS:
        say(f"  {name:54} {value:>14}  not measured here")


# --- entry point -----------------------------------------------------------------------------


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs (about 2½ minutes)")
    parser.add_argument(
        "--alarms", type=int, default=20_000, help="alarms at the large size (default 20000)"
    )
    parser.add_argument(
        "--no-wrk", action="store_true", help="load with the threaded Python client, not wrk"
    )
    parser.add_argument(
        "--export-rows",
        type=int,
        default=100_000,
        help="rows of the CSV export (default 100000, the export cap; 0 skips the export phase)",
    )
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--worker-concurrency", type=int, default=2, help="Celery processes (2)")
    args = parser.parse_args(argv)
    if args.alarms < 10_000:
        parser.error("--alarms must be at least 10000 (N/20 must fill ten API pages)")
    profile = QUICK if args.quick else FULL
    # Ctrl-C, kill and a closed terminal all unwind through Stack.__exit__, which stops every
    # service (SIGINT explicitly too: a shell starts background jobs with it ignored).
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_interrupt)

    began = time.monotonic()
    say(
        f"AlarmHub benchmark — {datetime.now().astimezone():%Y-%m-%d %H:%M %Z} on "
        f"{platform.node()} ({os.cpu_count()} CPUs, Python {platform.python_version()}), "
        f"{'quick' if args.quick else 'full'} profile, N={args.alarms:,}"
    )
    say("Starting a throwaway stack on 127.0.0.1: PostgreSQL (fsync on), Redis, gunicorn, Celery")
    ing: IngestionResult | None = None
    sc: ScaleResult | None = None
    ex: ExportResult | None = None
    try:
        with Stack(
            web_workers=args.web_workers,
            worker_concurrency=args.worker_concurrency,
            log=say,
        ) as stack:
            ing = run_ingestion(stack, profile, allow_wrk=not args.no_wrk)
            print_ingestion(ing)
            sc = run_scale(stack, profile, args.alarms)
            print_scale(sc)
            if args.export_rows > 0:
                ex = run_export(stack, profile, args.export_rows, sc)
                print_export(ex, sc)
            say("\nStopping the stack")
    except KeyboardInterrupt:
        say("\nInterrupted: every service this run started has been stopped.")
        return 130
    print_summary(ing, sc, ex)
    say(f"\nTotal time {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
