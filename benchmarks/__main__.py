"""AlarmHub benchmarks: ``python -m benchmarks [--quick] [--alarms N]`` (or ``make bench``).

Starts a throwaway PostgreSQL + Redis + gunicorn + Celery stack on 127.0.0.1, measures

1. ingestion — callbacks accepted per second by the callback view against ``GET /healthz`` on
   the same server at 8 connections (the price of a durable store), then how fast the workers
   turn the backlog into alarms — each tier measured with the other idle, as they share this
   machine's CPUs — and the ratio of the two;
1b. a storm paced at 200 callbacks/s with the workers running: the lag from received to
   processed per delivery (p50/p95/p99/max), and the peak RSS of every web and worker process;
2. scale — latency of the API, statistics, console and admin pages at N/20 and at N alarms
   (and the web processes' peak RSS during the reads);
3. export — a 100,000-row CSV export streamed (time, and the serving worker's RSS growth), an
   XLSX export of 10,000 rows, and the statistics again at that size;

prints every result as a ratio measured within this one run, next to the absolute numbers and
the targets met or missed, and writes it all to ``benchmarks/results/<date>.json`` (+ ``.md``).
The machine is shared and noisy: absolute times vary from run to run, the ratios much less.
Everything it started is stopped at the end, on an error, on Ctrl-C and on SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from tests.support.services import PROJECT_ROOT, ServiceError, manage, psql

from . import cli, memory, results, scale, seed
from .common import FULL, QUICK, Profile, ms, say
from .memory import MemorySnapshot
from .phase_export import ExportResult, export_rows, print_export, run_export
from .phase_ingest import (
    IngestionResult,
    ingestion_rows,
    print_ingestion,
    print_pipeline,
    run_ingestion,
)
from .phase_storm import StormResult, print_storm, run_storm, storm_rows
from .results import Row
from .stack import Stack

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


# --- 2. scale --------------------------------------------------------------------------------


def _alarm_count(stack: Stack) -> int:
    return int(psql(stack.database_url, "SELECT count(*) FROM alarms_alarm")[0][0])


def _load_to(stack: Stack, total: int, seeded: int, base: float) -> tuple[int, str]:
    """Seed alarms until the table holds ``total``; returns (seeded so far, a one-line summary)."""
    need = total - _alarm_count(stack)
    if need <= 0:
        return seeded, "nothing to load"
    args = ["--start", str(seeded), "--count", str(need), "--base", str(base)]
    args += ["--instances", str(max(100, total // 10))]
    args += ["--policies", str(max(30, min(3000, total // 100)))]
    # Progress lines (rows/s, time left) go to the log as the chunks land.
    made = seed.run(stack.env, str(PROJECT_ROOT), args, say)
    started = time.monotonic()
    for table in ("alarm", "alarmevent", "instance", "policy", "note"):
        # What autovacuum would have done by now: fresh statistics and a visibility map.
        psql(stack.database_url, f"VACUUM ANALYZE alarms_{table}")
    vacuum = time.monotonic() - started
    # What beat's roll-up task would have done by now (a few hundred hours a minute), on
    # analyzed tables as beat's would be; then the roll-ups' own statistics.
    started = time.monotonic()
    manage(stack.env, "rebuild_stats", timeout=600)
    for table in ("statshour", "statsrecovery", "statsdirtyhour"):
        psql(stack.database_url, f"VACUUM ANALYZE alarms_{table}")
    rollups = time.monotonic() - started
    summary = (
        f"loaded {made['alarms']:,} alarms + {made['events']:,} timeline events "
        f"+ {made.get('notes', 0):,} notes "
        f"({made['instances']:,} instances) in {made['seconds']:.1f} s "
        f"({made['alarms'] / max(made['seconds'], 0.001):,.0f} alarms/s), statistics' roll-ups "
        f"{rollups:.1f} s, VACUUM ANALYZE {vacuum:.1f} s"
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
        result.samples[size] = scale.time_pages(
            clients, page_list, rounds=profile.rounds, warmup=profile.warmup
        )
        say(f"  measured at {_alarm_count(stack):,} alarms")
    result.seeded, result.base = seeded, base
    return result


def print_scale(result: ScaleResult) -> None:
    small, large = result.small, result.large
    head_small, head_large = f"{small:,} alarms", f"{large:,} alarms"
    columns = f"{head_small:>14} {head_large:>14} {'ratio':>7} {'best':>6}"
    say(f"  {'median of the rounds':46} {columns}  {'p95 small → large':>20}  queries")
    notes: list[str] = []
    for key, label in result.labels.items():
        a, b = result.median(small, key), result.median(large, key)
        best = result.best(large, key) / result.best(small, key)
        pa, pb = (results.percentile(result.samples[n][key], 95) for n in (small, large))
        qa = result.queries.get(small, {}).get(key, {})
        qb = result.queries.get(large, {}).get(key, {})
        queries = f"{qa.get('queries', '?')} → {qb.get('queries', '?')}" if qb else "n/a"
        p95 = f"{pa * 1000:7.1f} → {pb * 1000:7.1f} ms"
        say(f"  {label:46} {ms(a)} ms    {ms(b)} ms  {b / a:5.2f}× {best:5.2f}×  {p95}  {queries}")
        target = scale.P95_TARGETS.get(key)
        if target is not None and pb > target:
            notes.append(f"{label}: p95 {pb * 1000:.0f} ms, over the {target * 1000:.0f} ms target")
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
    _print_sql_times(result)


def _print_sql_times(result: ScaleResult) -> None:
    """The probe's EXPLAIN ANALYZE: each page's SQL time at both sizes, the slowest statement."""
    small, large = result.small, result.large
    say(
        f"  SQL per page (EXPLAIN ANALYZE, ms at {small:,} → {large:,} alarms; the slowest "
        f"statement's scans at {large:,}):"
    )
    for key, label in result.labels.items():
        qa = result.queries.get(small, {}).get(key, {})
        qb = result.queries.get(large, {}).get(key, {})
        if "database_ms" not in qb:
            continue
        slowest = qb.get("slowest", {})
        scans = ", ".join(slowest.get("scans", [])[:4]) or "-"
        times = f"{qa.get('database_ms', math.nan):7.1f} → {qb['database_ms']:7.1f}"
        say(f"    {label:46} {times}  slowest {slowest.get('ms', 0):.1f} ms: {scans}")


def scale_figures(result: ScaleResult) -> dict[str, Any]:
    """Per page at both sizes: median, p95, best, their ratios and the query counts."""
    pages: dict[str, Any] = {}
    for key, label in result.labels.items():
        entry: dict[str, Any] = {"label": label}
        for name, size in (("small", result.small), ("large", result.large)):
            samples = result.samples[size][key]
            entry[name] = {
                "alarms": size,
                "median_s": statistics.median(samples),
                "p95_s": results.percentile(samples, 95),
                "best_s": min(samples),
                "queries": result.queries.get(size, {}).get(key, {}).get("queries"),
            }
        entry["ratio_median"] = entry["large"]["median_s"] / entry["small"]["median_s"]
        entry["ratio_best"] = entry["large"]["best_s"] / entry["small"]["best_s"]
        pages[key] = entry
    targets = {"flat_max": scale.FLAT_TARGET, "p95_max_s": scale.P95_TARGETS}
    return {"pages": pages, "targets": targets}


def scale_rows(result: ScaleResult) -> list[Row]:
    """Each page judged (flatness, p95, query counts) from the figures the results file keeps."""
    return scale.page_rows(scale_figures(result)["pages"])


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Run:
    """Everything one run measured, phase by phase (None: the phase did not run)."""

    ingestion: IngestionResult | None = None
    storm: StormResult | None = None
    scale: ScaleResult | None = None
    export: ExportResult | None = None
    memory: list[MemorySnapshot] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per phase
    complete: bool = False  # every phase ran to its end

    @contextlib.contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds[phase] = time.monotonic() - started

    def rows(self) -> list[Row]:
        found: list[Row] = []
        if self.ingestion is not None:
            found += ingestion_rows(self.ingestion)
        if self.storm is not None:
            found += storm_rows(self.storm)
        found += memory.memory_rows(self.memory)
        if self.scale is not None:
            found += scale_rows(self.scale)
        if self.export is not None:
            found += export_rows(self.export)
        return found

    def phases(self) -> dict[str, Any]:
        """Each phase's computed figures next to its raw measurements."""
        found: dict[str, Any] = {}
        for name, phase in (
            ("ingestion", self.ingestion),
            ("storm", self.storm),
            ("export", self.export),
        ):
            if phase is not None:
                found[name] = {"figures": phase.figures(), "raw": results.to_jsonable(phase)}
        if self.scale is not None:
            found["scale"] = {
                "figures": scale_figures(self.scale),
                "raw": results.to_jsonable(self.scale),
            }
        found["memory"] = results.to_jsonable(self.memory)
        return found


def print_summary(run: Run) -> None:
    say("\nSummary (one run on this machine; compare the ratios, not the absolute numbers)")
    results.print_rows(run.rows(), say)
    say("\n  Peers, for context only (not measured here):")
    for name, value in PEERS:
        say(f"  {name:58} {value:>16}  not measured here")


def _measure(stack: Stack, run: Run, args: argparse.Namespace, profile: Profile) -> None:
    """The phases, in order; each result lands in ``run`` as soon as it is complete."""
    assert stack.worker is not None
    with run.timed("ingestion"):
        run.ingestion = ing = run_ingestion(
            stack, profile, allow_wrk=not args.no_wrk, connections=args.connections
        )
        print_ingestion(ing)
    with run.timed("storm"):
        run.storm = run_storm(stack, profile, ing, allow_wrk=not args.no_wrk)
        print_storm(run.storm)
    run.memory.append(
        memory.take(
            stack,
            "after the storm phases",
            "gunicorn since the stack started: phases 1 and 1b; Celery started again for "
            "phase 1's drain: the drain and the storm",
        )
    )
    memory.print_snapshot(run.memory[-1])
    stack.worker.stop()  # the rest needs no worker (and the probe must not race one)
    with run.timed("pipeline probe"):
        ing.pipeline = _probe(stack, "pipeline", stack.callback_path, str(ing.template_path))
        print_pipeline(ing.pipeline)
    reset = stack.reset_peaks()
    with run.timed("scale"):
        run.scale = sc = run_scale(stack, profile, args.alarms)
        print_scale(sc)
    run.memory.append(
        memory.take(
            stack,
            "after the scale reads",
            "peaks reset after the storm: the seeding and the reads"
            if reset
            else "could not reset the peaks: they include phases 1 and 1b",
        )
    )
    memory.print_snapshot(run.memory[-1])
    if args.export_rows > 0:
        with run.timed("export"):
            large = {key: sc.median(sc.large, key) for key in sc.labels}
            run.export = run_export(
                stack,
                profile,
                args.export_rows,
                sc.large,
                lambda total: _load_to(stack, total, sc.seeded, sc.base)[1],
            )
            print_export(run.export, large, sc.large)
        run.memory.append(
            memory.take(stack, "after the export", "gunicorn restarted with 1 worker for it")
        )
        memory.print_snapshot(run.memory[-1])


# --- entry point -----------------------------------------------------------------------------


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    args = parser.parse_args(argv)
    if args.alarms < 10_000:
        parser.error("--alarms must be at least 10000 (N/20 must fill ten API pages)")
    profile = QUICK if args.quick else FULL
    if args.export_rows is None:
        args.export_rows = profile.export_rows
    # Ctrl-C, kill and a closed terminal all unwind through Stack.__exit__, which stops every
    # service (SIGINT explicitly too: a shell starts background jobs with it ignored).
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_interrupt)

    began, started, load_start = time.monotonic(), datetime.now(UTC), os.getloadavg()
    say(
        f"AlarmHub benchmark — {datetime.now().astimezone():%Y-%m-%d %H:%M %Z} on "
        f"{platform.node()} ({os.cpu_count()} CPUs, Python {platform.python_version()}), "
        f"{profile.name} profile, N={args.alarms:,}"
    )
    say("Starting a throwaway stack on 127.0.0.1: PostgreSQL (fsync on), Redis, gunicorn, Celery")
    run = Run()
    postgresql = "?"
    try:
        with Stack(
            web_workers=args.web_workers,
            worker_concurrency=args.worker_concurrency,
            log=say,
            web_class=args.web_class,
        ) as stack:
            run.seconds["stack start"] = time.monotonic() - began
            postgresql = str(psql(stack.database_url, "SHOW server_version")[0][0])
            _measure(stack, run, args, profile)
            run.complete = True
            say("\nStopping the stack")
    except KeyboardInterrupt:
        say("\nInterrupted: every service this run started has been stopped.")
        return 130
    finally:
        if not args.no_save and run.ingestion is not None:
            # A failed or interrupted run keeps what it measured, marked incomplete.
            report = results.build_report(
                rows=run.rows(),
                phases=run.phases(),
                seconds=run.seconds,
                total_seconds=time.monotonic() - began,
                complete=run.complete,
                options={"profile": profile, "options": vars(args)},
                started=started,
                load_start=load_start,
                postgresql=postgresql,
            )
            paths = results.save(report, args.results_dir, started)
            say(f"\nResults: {paths[0]} and {paths[1].name}")
    print_summary(run)
    say(f"\nTotal time {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
