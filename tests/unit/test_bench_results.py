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
    newest,
    percentile,
    render_markdown,
    result_paths,
    save,
    to_jsonable,
)
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
