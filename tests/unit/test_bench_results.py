"""The benchmark's pure helpers: percentiles, /proc memory parsing, the results file and table."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from benchmarks.results import (
    Row,
    build_report,
    count_targets,
    newest,
    percentile,
    render_markdown,
    result_paths,
    save,
    to_jsonable,
)
from benchmarks.scale import page_rows
from benchmarks.stack import process_tree, status_memory

STATUS = """Name:\tgunicorn
Umask:\t0022
State:\tS (sleeping)
VmPeak:\t  301234 kB
VmHWM:\t   98765 kB
VmRSS:\t   91234 kB
Threads:\t1
"""


def _report(**overrides: object) -> dict[str, object]:
    report: dict[str, object] = {
        "started_at": "2026-12-04T19:05:00+00:00",
        "total_seconds": 112.4,
        "complete": True,
        "machine": {
            "hostname": "vm",
            "cpu_count": 2,
            "cpu_model": "Some CPU",
            "memory_bytes": 8 * 2**30,
            "kernel": "6.1.0",
            "python": "3.11.7",
            "postgresql": "15.5",
        },
        "git": {"commit": "0123456789abcdef", "dirty": True},
        "profile": {"name": "quick"},
        "options": {"alarms": 20000},
        "headline": [
            to_jsonable(
                Row("callbacks accepted / s", "334", "healthz/callback 8.00×", "≤ 4×", False)
            ),
            to_jsonable(Row("lag p99", "0.40 s", "", "p99 < 2 s", True)),
            to_jsonable(Row("XLSX | 2,000 rows", "0.9 s")),
        ],
    }
    report.update(overrides)
    return report


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [4.0, 1.0, 3.0, 2.0]  # unsorted on purpose

    assert percentile(values, 0) == 1.0
    assert percentile(values, 50) == 2.5
    assert percentile(values, 100) == 4.0
    assert percentile(values, 99) == pytest.approx(3.97)
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))


def test_status_memory_reads_peak_and_current_rss_in_bytes() -> None:
    assert status_memory(STATUS) == (98765 * 1024, 91234 * 1024)


def test_status_memory_of_a_kernel_thread_is_zero() -> None:
    # Kernel threads have no Vm* lines at all.
    assert status_memory("Name:\tkthreadd\nState:\tS (sleeping)\n") == (0, 0)


def test_process_tree_lists_the_root_first() -> None:
    tree = process_tree(os.getpid())

    assert tree[0] == os.getpid()
    assert len(set(tree)) == len(tree)


def test_markdown_table_has_every_row_with_its_verdict_and_the_run_described() -> None:
    text = render_markdown(_report())

    assert "quick profile" in text and "N = 20,000" in text
    assert "commit 0123456789 (uncommitted changes)" in text
    assert "2 × Some CPU, 8.0 GiB, Linux 6.1.0, Python 3.11.7, PostgreSQL 15.5" in text
    assert "Targets met: 1 of 2." in text
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    assert lines[0] == "| measure | value | ratio | target | |"
    assert lines[1] == "| callbacks accepted / s | 334 | healthz/callback 8.00× | ≤ 4× | MISSED |"
    assert lines[2] == "| lag p99 | 0.40 s |  | p99 < 2 s | met |"
    # A pipe inside a cell must not split it into two columns.
    assert lines[3] == "| XLSX \\| 2,000 rows | 0.9 s |  |  |  |"


def test_brief_markdown_keeps_the_rows_with_a_target() -> None:
    text = render_markdown(_report(), brief=True)

    assert "| callbacks accepted / s |" in text and "| lag p99 |" in text
    assert "XLSX" not in text
    assert "Targets met: 1 of 2." in text


def test_markdown_marks_an_incomplete_run() -> None:
    assert "INCOMPLETE" in render_markdown(_report(complete=False))
    assert "INCOMPLETE" not in render_markdown(_report())


def test_results_go_to_the_date_then_to_the_time_when_the_date_is_taken(tmp_path: Path) -> None:
    first = datetime(2026, 12, 4, 19, 5, 7, tzinfo=UTC)

    assert save(_report(), tmp_path, first) == (
        tmp_path / "2026-12-04.json",
        tmp_path / "2026-12-04.md",
    )
    assert result_paths(tmp_path, first)[0] == tmp_path / "2026-12-04-1905.json"
    save(_report(), tmp_path, first)
    assert result_paths(tmp_path, first)[0] == tmp_path / "2026-12-04-190507.json"
    assert json.loads((tmp_path / "2026-12-04.json").read_text())["total_seconds"] == 112.4
    assert "| lag p99 |" in (tmp_path / "2026-12-04.md").read_text()


def test_newest_is_chosen_by_the_recorded_start_not_the_name(tmp_path: Path) -> None:
    early = tmp_path / "2026-12-04.json"
    late = tmp_path / "2026-12-04-1200.json"
    early.write_text(json.dumps({"started_at": "2026-12-04T18:00:00+00:00"}))
    late.write_text(json.dumps({"started_at": "2026-12-04T12:00:00+00:00"}))
    (tmp_path / "broken.json").write_text("{")

    assert newest(tmp_path.glob("*.json")) == early


@dataclass
class _Phase:
    samples: dict[int, list[float]]
    where: Path
    ratio: float


def test_to_jsonable_turns_dataclasses_int_keys_paths_and_nan_into_json() -> None:
    value = to_jsonable(_Phase(samples={1000: [0.1, 0.2]}, where=Path("/tmp/x"), ratio=math.nan))

    assert value == {"samples": {"1000": [0.1, 0.2]}, "where": "/tmp/x", "ratio": None}
    json.dumps(value)


def _page(
    label: str,
    *,
    median: tuple[float, float] = (0.020, 0.022),
    p95: float = 0.030,
    queries: tuple[int | None, int | None] = (2, 2),
) -> dict[str, object]:
    """One page's figures as the scale phase records them (seconds; N/20 then N)."""
    return {
        "label": label,
        "small": {"alarms": 50_000, "median_s": median[0], "p95_s": 0.025, "queries": queries[0]},
        "large": {"alarms": 1_000_000, "median_s": median[1], "p95_s": p95, "queries": queries[1]},
        "ratio_median": median[1] / median[0],
        "ratio_best": 1.0,
    }


def _rows_by_key(pages: dict[str, dict[str, object]]) -> dict[str, Row]:
    return dict(zip(pages, page_rows(pages), strict=True))


def test_a_flat_fast_page_with_unchanged_queries_meets_all_three_targets() -> None:
    row = _rows_by_key({"board": _page("Console board /", p95=0.1494)})["board"]

    assert row.measure == "Console board / @ 1,000,000"
    assert row.value == "22.0 ms (p95 149.4)"
    assert row.ratio == "large/small 1.10× (best 1.00×), queries 2 → 2"
    assert row.target == "large/small ≤ 1.3×, p95 ≤ 150 ms, no more queries"
    assert row.met is True
    assert count_targets([row]) == (3, 3)


def test_each_missed_target_of_a_page_is_named_and_counted() -> None:
    pages = {
        # Flat in its median, but its p95 over the 150 ms ceiling.
        "alarm_page": _page("Alarm page", median=(0.100, 0.120), p95=0.151),
        # Fast, but 1.35× slower at N, and one query more.
        "admin": _page("Admin", median=(0.020, 0.027), queries=(7, 8)),
        # A search has no p95 target: flatness and queries only.
        "api_search": _page("Search", median=(0.030, 0.120), p95=0.900),
    }
    rows = _rows_by_key(pages)
    text = render_markdown(_report(headline=to_jsonable(list(rows.values())), schema=2))

    assert rows["alarm_page"].met is False
    assert "| ≤ 1.3×" not in text  # the flatness target names its ratio
    assert "p95 ≤ 150 ms, no more queries | MISSED (p95) |" in text
    assert "| large/small 1.35× (best 1.00×), queries 7 → 8 |" in text
    assert "p95 ≤ 500 ms, no more queries | MISSED (flat, queries) |" in text
    assert rows["api_search"].target == "large/small ≤ 1.3×, no more queries"
    assert "MISSED (flat) |" in text
    # 3 + 3 + 2 targets, of which 2 + 1 + 1 met.
    assert "Targets met: 4 of 8." in text


def test_the_control_is_printed_in_the_brief_table_but_judges_nothing() -> None:
    rows = _rows_by_key(
        {"control": _page("GET /healthz", median=(0.002, 0.004)), "board": _page("Board")}
    )
    text = render_markdown(_report(headline=to_jsonable(list(rows.values())), schema=2), brief=True)

    assert rows["control"].met is None and not rows["control"].target
    assert "| GET /healthz @ 1,000,000 | 4.0 ms (p95 30.0) | large/small 2.00×" in text
    assert "Targets met: 3 of 3." in text


def test_uncounted_queries_are_not_judged_rather_than_taken_as_met() -> None:
    row = page_rows({"api_first": _page("API list", queries=(None, None))})[0]

    assert row.target == "large/small ≤ 1.3×, p95 ≤ 150 ms"
    assert "queries n/a" in row.ratio
    assert count_targets([row]) == (2, 2)


def test_a_schema_1_file_has_its_scale_rows_judged_from_its_figures() -> None:
    pages = {"control": _page("GET /healthz"), "board": _page("Board", median=(0.09, 0.126))}
    # What the first results files held: medians only, no target on a list page.
    old_rows = [
        Row("lag p99", "0.40 s", "", "p99 < 2 s", True),
        Row("GET /healthz @ 1,000,000", "22.0 ms", "large/small 1.10×"),
        Row("Board @ 1,000,000", "126.0 ms", "large/small 1.40×"),
        Row("CSV export", "3.1 s", "", "≤ 10 s", True),
    ]
    report = _report(
        schema=1,
        headline=to_jsonable(old_rows),
        phases={"scale": {"figures": {"pages": pages}}},
    )
    text = render_markdown(report)
    lines = [line for line in text.splitlines() if line.startswith("| ")]

    assert lines[1].startswith("| lag p99 |") and lines[4].startswith("| CSV export |")
    assert lines[3].startswith("| Board @ 1,000,000 | 126.0 ms (p95 30.0) | large/small 1.40×")
    assert lines[3].endswith("| MISSED (flat) |")
    assert "Targets met: 4 of 5." in text and "judged when this table was printed" in text
    # A file written since then is printed as recorded.
    assert "judged when" not in render_markdown({**report, "schema": 2})


def test_the_report_counts_every_target_a_row_judges() -> None:
    rows = [
        *page_rows({"board": _page("Board", queries=(11, 12))}),
        Row("lag p99", "0.40 s", "", "p99 < 2 s", True),
        Row("XLSX", "0.9 s"),
    ]
    report = build_report(
        rows=rows,
        phases={},
        seconds={},
        total_seconds=1.0,
        complete=True,
        options={},
        started=datetime(2026, 12, 4, tzinfo=UTC),
        load_start=(0.5, 0.5, 0.5),
        postgresql="15",
    )

    assert report["schema"] == 2
    assert report["targets"] == {"met": 3, "judged": 4}
    assert report["headline"][0]["checks"] == [["flat", True], ["p95", True], ["queries", False]]
    assert "Targets met: 3 of 4." in render_markdown(json.loads(json.dumps(report)))
