"""Phase 3: a big CSV export and an XLSX export streamed on one gunicorn worker, whose RSS is
sampled while it serves them; then the statistics again at that size."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from tests.support.services import psql

from . import export, scale
from .common import Profile, ms, ratio, say, verdict
from .export import MIB, ExportRun
from .results import Row
from .stack import Stack

# Targets of the insights issue (#11): absolute, on this machine, at the sizes named.
STATS_TARGET = 0.5  # seconds, the statistics API and page
EXPORT_TARGET = 10.0  # seconds, a CSV export of EXPORT_TARGET_ROWS rows
EXPORT_TARGET_ROWS = 100_000  # the export cap; a smaller (quick) export is not judged
EXPORT_RSS_TARGET = 50 * MIB  # growth of the web process serving it


@dataclass
class ExportResult:
    size: int  # alarms in the table
    rows: int  # the big export's expected rows
    warm_rss: int = 0  # the worker's RSS after the warm-up, before the measured exports
    runs: dict[str, ExportRun] = field(default_factory=dict)
    stats: dict[str, list[float]] = field(default_factory=dict)
    stats_labels: dict[str, str] = field(default_factory=dict)

    @property
    def growth(self) -> int:
        """RSS growth charged to the big CSV: its peak above the warm worker (an upper bound)."""
        return max(0, self.runs["csv"].rss_peak - self.warm_rss)

    @property
    def judged(self) -> bool:
        """Whether the time target applies (it is set for the cap's 100,000 rows)."""
        return self.runs["csv"].rows >= EXPORT_TARGET_ROWS

    def figures(self) -> dict[str, Any]:
        csv_run = self.runs["csv"]
        return {
            "csv_seconds": csv_run.total,
            "csv_rows_per_second": csv_run.rows / csv_run.total if csv_run.total else None,
            "csv_worker_growth_bytes": self.growth,
            "xlsx_seconds": self.runs["xlsx"].total,
            "stats_median_seconds": {
                key: statistics.median(values) for key, values in self.stats.items()
            },
            "targets": {
                "csv_seconds_max": EXPORT_TARGET,
                "csv_target_rows": EXPORT_TARGET_ROWS,
                "worker_growth_bytes_max": EXPORT_RSS_TARGET,
                "stats_seconds_max": STATS_TARGET,
            },
        }


def run_export(
    stack: Stack, profile: Profile, rows: int, large: int, load: Callable[[int], str]
) -> ExportResult:
    """``load(n)`` tops the table up to ``n`` alarms and returns a one-line summary."""
    assert stack.web is not None and stack.web.process is not None
    xlsx_rows = profile.xlsx_rows
    say(
        f"\n3. Export — {rows:,} rows as CSV and {xlsx_rows:,} as XLSX, streamed, on one gunicorn "
        "worker whose RSS is sampled every 10 ms; then the statistics at that size"
    )
    say(f"  {load(max(rows, large))}")
    # One worker: the process that serves the export is known (its RSS is what is measured).
    stack.web.stop()
    stack.web.workers = 1
    stack.web.start()
    workers = export.children(stack.web.process.pid)
    if len(workers) != 1:
        raise RuntimeError(f"expected one gunicorn worker, found {workers}")
    worker = workers[0]
    size = int(psql(stack.database_url, "SELECT count(*) FROM alarms_alarm")[0][0])
    result = ExportResult(size=size, rows=min(rows, size))
    clients = scale.Clients(stack.base_url, stack.api_token, stack.username, stack.password)

    # The XLSX (and the small CSV) select the newest xlsx_rows alarms by a time filter.
    cut = psql(
        stack.database_url,
        "SELECT first_occurred_at FROM alarms_alarm ORDER BY first_occurred_at DESC, id DESC "
        "LIMIT 1 OFFSET %s",
        xlsx_rows - 1,
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
        ("csv", f"CSV, {result.rows:,} rows", f"{url}?format=csv", None),
        ("xlsx", f"XLSX, {small_rows:,} rows", f"{recent}&format=xlsx", small_rows),
    ]
    for key, label, address, expected in plan:
        result.runs[key] = export.download(
            clients.api, address, label=label, worker_pid=worker, rows=expected
        )

    stats = scale.stats_pages()
    result.stats_labels = {page.key: page.label for page in stats}
    result.stats = scale.time_pages(clients, stats, rounds=profile.rounds, warmup=profile.warmup)
    return result


def _time_verdict(result: ExportResult) -> str:
    csv_run = result.runs["csv"]
    if not result.judged:
        return f"not judged (the ≤ {EXPORT_TARGET:.0f} s target is for {EXPORT_TARGET_ROWS:,} rows)"
    return verdict(csv_run.total, EXPORT_TARGET)


def print_export(result: ExportResult, large_medians: dict[str, float], large: int) -> None:
    """``large_medians``: the statistics' medians at the scale phase's large size, to compare."""
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
    growth = result.growth
    say(
        f"  → {csv_run.rows / max(small.rows, 1):.0f}× the rows: "
        f"{ratio(csv_run.total, small.total)} the time; the worker's peak during the "
        f"{csv_run.rows:,} rows is {growth / MIB:.1f} MiB above its warm RSS (both CSVs "
        f"included), {small.rss_growth / MIB:.1f} MiB of it already after the "
        f"{small.rows:,}; X-AlarmHub-Export-Truncated: {csv_run.truncated}"
    )
    say(
        f"  targets: CSV {EXPORT_TARGET_ROWS:,} rows ≤ {EXPORT_TARGET:.0f} s: {csv_run.total:.2f} "
        f"s for {csv_run.rows:,}, {_time_verdict(result)}; worker RSS growth ≤ "
        f"{EXPORT_RSS_TARGET // MIB} MiB: {growth / MIB:.1f} MiB, "
        f"{verdict(growth / MIB, EXPORT_RSS_TARGET / MIB, 'MiB')}"
    )
    say(f"  statistics at {result.size:,} alarms (median of the rounds, target ≤ 500 ms):")
    for key, label in result.stats_labels.items():
        median = statistics.median(result.stats[key])
        before = ""
        if key in large_medians:
            before = f"  ({ratio(median, large_medians[key])} the time at {large:,})"
        say(f"    {label:44} {ms(median)} ms  {verdict(median, STATS_TARGET)}{before}")


def export_rows(result: ExportResult) -> list[Row]:
    csv_run, xlsx = result.runs["csv"], result.runs["xlsx"]
    growth_mib = result.growth / MIB
    rows = [
        Row(
            f"CSV export, {csv_run.rows:,} rows (streamed)",
            f"{csv_run.total:.2f} s",
            f"{csv_run.rows / csv_run.total:,.0f} rows/s" if csv_run.total else "",
            f"≤ {EXPORT_TARGET:.0f} s at {EXPORT_TARGET_ROWS:,}"
            + ("" if result.judged else " (not judged)"),
            csv_run.total <= EXPORT_TARGET if result.judged else None,
        ),
        Row(
            "   web worker RSS growth during it",
            f"{growth_mib:.1f} MiB",
            "",
            f"≤ {EXPORT_RSS_TARGET // MIB} MiB",
            result.growth <= EXPORT_RSS_TARGET,
        ),
        Row(f"XLSX export, {xlsx.rows:,} rows", f"{xlsx.total:.2f} s"),
    ]
    for key, label in result.stats_labels.items():
        median = statistics.median(result.stats[key])
        rows.append(
            Row(
                f"{label} @ {result.size:,}",
                f"{median * 1000:.1f} ms",
                "",
                "≤ 500 ms",
                median <= STATS_TARGET,
            )
        )
    return rows
