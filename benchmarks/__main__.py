"""AlarmHub benchmarks: ``python -m benchmarks [--quick] [--alarms N]`` (or ``make bench``).

Starts a throwaway PostgreSQL + Redis + gunicorn + Celery stack on 127.0.0.1, measures

1. ingestion — callbacks accepted per second by the callback view against ``GET /healthz`` on
   the same server (the price of a durable store), then how fast the workers turn the backlog
   into alarms;
2. scale — median latency of the API, dashboard and admin pages at N/20 and at N alarms;

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
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from tests.integration.services import ServiceError, psql, wait_until

from . import ingestion, scale
from .ingestion import LoadResult
from .stack import ENDPOINT_NAME, Stack

# Peers on comparable hardware, from their own published or reported numbers: context only.
PEERS = [
    ("Alerta: alerts ingested per second", "~70 /s"),
    ("Alerta: alert list at 20,000 alerts", "~350 ms"),
]
STORM_INSTANCES = 300  # distinct alarms in the storm; every other callback repeats one


@dataclass(frozen=True)
class Profile:
    healthz_seconds: float
    ingest_seconds: float
    drain_timeout: float
    rounds: int


FULL = Profile(healthz_seconds=5, ingest_seconds=10, drain_timeout=150, rounds=15)
QUICK = Profile(healthz_seconds=2, ingest_seconds=3, drain_timeout=40, rounds=5)


@dataclass
class IngestionResult:
    healthz: LoadResult
    callbacks: LoadResult
    stored: int
    backlog_at_end: int
    drain_seconds: float
    end_to_end_seconds: float
    drained: bool
    final: dict[str, int]
    alarms: int
    notifications: int


@dataclass
class ScaleResult:
    small: int
    large: int
    timings: dict[int, dict[str, float]] = field(default_factory=dict)
    queries: dict[int, dict[str, Any]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    loads: list[str] = field(default_factory=list)


def say(text: str = "") -> None:
    print(text, flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


# --- 1. ingestion ----------------------------------------------------------------------------


def run_ingestion(stack: Stack, profile: Profile) -> IngestionResult:
    connections = 2 * stack.web_workers
    use_wrk = ingestion.wrk_available()
    tool = "wrk" if use_wrk else "a threaded Python client (install wrk for less overhead)"
    say(
        f"\n1. Ingestion — {tool}, {connections} connections; /healthz for "
        f"{profile.healthz_seconds:g} s, then callbacks for {profile.ingest_seconds:g} s"
    )
    # Tencent sends the endpoint's local time; ten minutes ago keeps every alarm "recent".
    first_occur = (datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(minutes=10)).strftime(
        "%Y-%m-%d %H:%M:%S"
    )
    template = ingestion.body_template(first_occur)
    template_path = stack.run_dir / "callback-template.json"
    template_path.write_text(template)
    callback_url = stack.base_url + stack.callback_path

    def load(url: str, seconds: float, post: bool) -> LoadResult:
        if use_wrk:
            script = [str(template_path), str(STORM_INSTANCES)] if post else None
            return ingestion.run_wrk(
                url, seconds=seconds, connections=connections, threads=2, script_args=script
            )
        return ingestion.run_threaded(
            url,
            seconds=seconds,
            connections=connections,
            template=template if post else None,
            pool=STORM_INSTANCES,
        )

    healthz = load(stack.base_url + "/healthz", profile.healthz_seconds, post=False)
    started = time.monotonic()
    callbacks = load(callback_url, profile.ingest_seconds, post=True)
    load_ended = time.monotonic()
    at_end = ingestion.delivery_counts(stack.database_url, ENDPOINT_NAME)
    backlog = ingestion.unsettled(at_end)

    final: dict[str, int] = {}

    def drained() -> bool:
        final.clear()
        final.update(ingestion.delivery_counts(stack.database_url, ENDPOINT_NAME))
        return ingestion.unsettled(final) == 0

    try:
        wait_until(drained, profile.drain_timeout, 0.1, message="the workers to drain")
        done = True
    except TimeoutError:
        done = False
    finished = time.monotonic()
    rows = psql(
        stack.database_url,
        "SELECT count(*), coalesce(sum(a.notification_count), 0) FROM alarms_alarm a "
        "JOIN alarms_callbackendpoint e ON e.id = a.endpoint_id WHERE e.name = %s",
        ENDPOINT_NAME,
    )
    return IngestionResult(
        healthz=healthz,
        callbacks=callbacks,
        stored=sum(at_end.values()),
        backlog_at_end=backlog,
        drain_seconds=finished - load_ended,
        end_to_end_seconds=finished - started,
        drained=done,
        final=dict(final),
        alarms=int(rows[0][0]),
        notifications=int(rows[0][1]),
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
        f"  → a stored callback costs {_ratio(h.per_second, c.per_second)} a no-op request in "
        f"throughput, {_ratio(c.p50_ms, h.p50_ms)} in median latency"
    )
    ok = c.requests - c.errors
    say(
        f"  {result.stored} deliveries on disk for {ok} callbacks answered 2xx "
        f"(wrk counts only completed responses); {result.backlog_at_end} still queued when the "
        "load stopped"
    )
    processed = result.final.get("processed", 0)
    failed = result.final.get("failed", 0)
    if result.drained:
        drain_rate = result.backlog_at_end / result.drain_seconds if result.drain_seconds else 0
        say(
            f"  workers drained the backlog {result.drain_seconds:.1f} s after the load "
            f"({drain_rate:.0f} deliveries/s once the web side was idle)"
        )
    else:
        say(f"  NOT drained within {result.drain_seconds:.0f} s: {result.final}")
    say(
        f"  end to end: {processed} processed in {result.end_to_end_seconds:.1f} s = "
        f"{processed / result.end_to_end_seconds:.1f} deliveries/s ({failed} failed) → "
        f"{result.alarms} alarms carrying {result.notifications} notifications"
    )


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


def _probe(stack: Stack, pages: list[scale.Page]) -> dict[str, Any]:
    spec = json.dumps([[page.key, page.path, page.auth] for page in pages])
    try:
        output = stack.django(
            "benchmarks.probe",
            stack.username,
            stack.api_token,
            spec,
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
            DJANGO_LOG_LEVEL="WARNING",
        )
        return dict(json.loads(output.strip().splitlines()[-1]))
    except (ServiceError, ValueError) as exc:
        say(f"  (query counts unavailable: {str(exc).splitlines()[0]})")
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
        result.queries[size] = _probe(stack, page_list)
        result.timings[size] = scale.time_pages(clients, page_list, rounds=profile.rounds)
        say(f"  measured at {_alarm_count(stack):,} alarms")
    return result


def print_scale(result: ScaleResult) -> None:
    small, large = result.small, result.large
    head_small, head_large = f"{small:,} alarms", f"{large:,} alarms"
    say(f"  {'':46} {head_small:>14} {head_large:>14} {'ratio':>7}  queries")
    problems: list[str] = []
    for key, label in result.labels.items():
        a, b = result.timings[small][key], result.timings[large][key]
        qa = result.queries.get(small, {}).get(key, {})
        qb = result.queries.get(large, {}).get(key, {})
        queries = f"{qa.get('queries', '?')} → {qb.get('queries', '?')}" if qb else "n/a"
        say(f"  {label:46} {ms(a)} ms    {ms(b)} ms  {b / a:5.2f}×  {queries}")
        if qb.get("seq_scans"):
            problems.append(f"{label}: sequential scan of {', '.join(qb['seq_scans'])}")
        if qb.get("counts"):
            problems.append(f"{label}: {qb['counts']} COUNT query(ies)")
        if qa and qb and qa.get("queries") != qb.get("queries"):
            problems.append(f"{label}: query count grows with rows ({queries})")
    say("  (ratio = median at the large size / median at the small size; ≈1 means flat)")
    if problems:
        say(f"  Plan notes at {large:,} alarms (EXPLAIN of every SELECT the page ran):")
        for problem in problems:
            say(f"    - {problem}")


# --- summary ---------------------------------------------------------------------------------


def _ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}×" if denominator else "n/a"


def print_summary(ing: IngestionResult | None, sc: ScaleResult | None) -> None:
    say("\nSummary (one run on this machine; compare the ratios, not the absolute numbers)")
    say(f"  {'measure':54} {'value':>14}  ratio")
    if ing is not None:
        c, h = ing.callbacks, ing.healthz
        processed = ing.final.get("processed", 0)
        rows = [
            (
                "callbacks accepted / s",
                f"{c.per_second:.0f}",
                f"healthz/callback {_ratio(h.per_second, c.per_second)}",
            ),
            (
                "callback latency p50 / p99",
                f"{c.p50_ms:.1f} / {c.p99_ms:.1f} ms",
                f"vs healthz p50 {_ratio(c.p50_ms, h.p50_ms)}",
            ),
            (
                "deliveries processed / s, end to end",
                f"{processed / ing.end_to_end_seconds:.0f}",
                f"of accepted/s {_ratio(processed / ing.end_to_end_seconds, c.per_second)}",
            ),
            (
                "   per minute (an alarm storm's unit)",
                f"{processed / ing.end_to_end_seconds * 60:,.0f}",
                "",
            ),
        ]
        for name, value, ratio in rows:
            say(f"  {name:54} {value:>14}  {ratio}")
    if sc is not None:
        for key, label in sc.labels.items():
            a, b = sc.timings[sc.small][key], sc.timings[sc.large][key]
            name = f"{label} @ {sc.large:,}"
            say(f"  {name:54} {b * 1000:11.1f} ms  large/small {b / a:.2f}×")
    say("\n  Peers, for context only (not measured here):")
    for name, value in PEERS:
        say(f"  {name:54} {value:>14}  not measured here")


# --- entry point -----------------------------------------------------------------------------


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs (about a minute)")
    parser.add_argument(
        "--alarms", type=int, default=20_000, help="alarms at the large size (default 20000)"
    )
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--worker-concurrency", type=int, default=2, help="Celery processes (2)")
    args = parser.parse_args(argv)
    if args.alarms < 10_000:
        parser.error("--alarms must be at least 10000 (N/20 must fill ten API pages)")
    profile = QUICK if args.quick else FULL
    signal.signal(signal.SIGTERM, _raise_interrupt)

    began = time.monotonic()
    say(
        f"AlarmHub benchmark — {datetime.now().astimezone():%Y-%m-%d %H:%M %Z} on "
        f"{platform.node()} ({os.cpu_count()} CPUs, Python {platform.python_version()}), "
        f"{'quick' if args.quick else 'full'} profile, N={args.alarms:,}"
    )
    say("Starting a throwaway stack on 127.0.0.1: PostgreSQL (fsync on), Redis, gunicorn, Celery")
    ing: IngestionResult | None = None
    sc: ScaleResult | None = None
    try:
        with Stack(
            web_workers=args.web_workers,
            worker_concurrency=args.worker_concurrency,
            log=say,
        ) as stack:
            ing = run_ingestion(stack, profile)
            print_ingestion(ing)
            sc = run_scale(stack, profile, args.alarms)
            print_scale(sc)
            say("\nStopping the stack")
    except KeyboardInterrupt:
        say("\nInterrupted: every service this run started has been stopped.")
        return 130
    print_summary(ing, sc)
    say(f"\nTotal time {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
