"""The results file of a run: ``benchmarks/results/<date>[-HHMM].json`` and a markdown table.

The JSON holds the machine, the commit, the profile and options, and every figure and ratio of
every phase; the ``.md`` next to it holds the headline rows with their targets met or missed.
``python -m benchmarks.results [--brief] [FILE_OR_FOLDER]`` prints the markdown table of a
results file (by default the newest run in ``benchmarks/results/``), for pasting into the README.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import socket
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_DIR = HERE / "results"
# 2: each scale page's row judges flatness, p95 and query counts (``Row.checks``); the rows of a
# schema 1 file are judged again from its recorded figures when its table is printed.
SCHEMA = 2


@dataclass(frozen=True)
class Row:
    """One headline figure: printed in the run's summary and in the markdown table."""

    measure: str
    value: str
    ratio: str = ""  # context: the ratio measured within the run
    target: str = ""  # e.g. "≤ 4×"; empty when the figure has no target
    met: bool | None = None  # None: no target, or not judged at this size; else all checks met
    brief: bool = False  # shown in the brief table even without a target
    # A row that judges several targets: (name, met) for each, e.g. ("flat", True), ("p95", False);
    # each counts as one target. Empty: the row judges one target, ``met``.
    checks: Sequence[Sequence[Any]] = ()


def row_targets(row: Row) -> tuple[int, int]:
    """(targets met, targets judged) by one row."""
    if row.checks:
        return sum(1 for _, ok in row.checks if ok), len(row.checks)
    if row.met is None:
        return 0, 0
    return int(row.met), 1


def count_targets(rows: Iterable[Row]) -> tuple[int, int]:
    pairs = [row_targets(row) for row in rows]
    return sum(met for met, _ in pairs), sum(judged for _, judged in pairs)


def row_verdict(row: Row) -> str:
    if row.met is None:
        return ""
    if row.met:
        return "met"
    missed = [str(name) for name, ok in row.checks if not ok]
    return f"MISSED ({', '.join(missed)})" if missed else "MISSED"


def print_rows(rows: Sequence[Row], say: Any) -> None:
    say(f"  {'measure':58} {'value':>22}  ratio · target")
    for row in rows:
        judged = f"{row.target} {row_verdict(row)}".strip()
        tail = " · ".join(part for part in (row.ratio, judged) if part)
        say(f"  {row.measure:58} {row.value:>22}  {tail}".rstrip())


# --- pure helpers -----------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def to_jsonable(value: Any) -> Any:
    """Dataclasses, dicts (keys made text), sequences, paths and times as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(item) for item in value]
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round(value, 6)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def _cell(text: str) -> str:
    return text.strip().replace("|", "\\|").replace("\n", " ")


def _rejudged(report: dict[str, Any], rows: list[Row]) -> tuple[list[Row], bool]:
    """A schema 1 file's scale rows judged from its recorded figures (its rows judged none).

    Returns the rows and whether any were replaced. The rows are found by their measures, in
    the order the scale phase wrote them.
    """
    figures = report.get("phases", {}).get("scale", {}).get("figures", {})
    if report.get("schema", 1) >= 2 or not figures.get("pages"):
        return rows, False
    from .scale import page_rows  # here: benchmarks.scale imports this module

    judged = page_rows(figures["pages"])
    wanted = [row.measure for row in judged]
    for start in range(len(rows) - len(wanted) + 1):
        if [row.measure for row in rows[start : start + len(wanted)]] == wanted:
            return rows[:start] + judged + rows[start + len(wanted) :], True
    return rows, False


def render_markdown(report: dict[str, Any], *, brief: bool = False) -> str:
    """The headline table of a report (as saved in the JSON), with its run described above it.

    ``brief`` keeps the rows that have a target, and the memory and the control: the README's
    table. "Targets met" counts every target a row judges (a scale page judges up to three).
    """
    machine, git = report.get("machine", {}), report.get("git", {})
    commit = (git.get("commit") or "unknown")[:10] + (
        " (uncommitted changes)" if git.get("dirty") else ""
    )
    memory = machine.get("memory_bytes")
    parts = [
        f"{machine.get('cpu_count', '?')} × {machine.get('cpu_model', '?')}",
        f"{memory / 2**30:.1f} GiB" if memory else "",
        f"Linux {machine.get('kernel', '?')}",
        f"Python {machine.get('python', '?')}",
        f"PostgreSQL {machine.get('postgresql', '?')}",
    ]
    load = machine.get("load_average_start")
    if load:
        parts.append(f"load average {load[0]:.2f} at the start")
    rows, rejudged = _rejudged(report, [Row(**row) for row in report.get("headline", [])])
    met, judged = count_targets(rows)
    if brief:
        rows = [row for row in rows if row.target or row.brief]
    lines = [
        f"**{report.get('started_at', '?')[:16].replace('T', ' ')} UTC**, "
        f"{report.get('profile', {}).get('name', '?')} profile, "
        f"N = {report.get('options', {}).get('alarms', 0):,}, commit {commit}, "
        f"{report.get('total_seconds', 0):.0f} s in all"
        f"{'' if report.get('complete', True) else ' (INCOMPLETE: the run stopped early)'}; "
        f"{machine.get('hostname', '?')}: {', '.join(p for p in parts if p)}. "
        f"Targets met: {met} of {judged}."
        + (
            " (The scale rows were judged when this table was printed, from the figures the "
            "run recorded.)"
            if rejudged
            else ""
        ),
        "",
        "| measure | value | ratio | target | |",
        "|---|---:|---|---|---|",
    ]
    for row in rows:
        cells = (row.measure, row.value, row.ratio, row.target, row_verdict(row))
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def build_report(
    *,
    rows: Sequence[Row],
    phases: dict[str, Any],
    seconds: dict[str, float],
    total_seconds: float,
    complete: bool,
    options: dict[str, Any],
    started: datetime,
    load_start: Sequence[float],
    postgresql: str,
) -> dict[str, Any]:
    """The results file's content; ``options`` holds the profile and the command line's options."""
    met, judged = count_targets(rows)
    return {
        "schema": SCHEMA,
        "started_at": started.isoformat(timespec="seconds"),
        "total_seconds": total_seconds,
        "complete": complete,
        "machine": machine_info(postgresql, load_start),
        "git": git_info(),
        **to_jsonable(options),
        "phase_seconds": to_jsonable(seconds),
        "headline": to_jsonable(list(rows)),
        "targets": {"met": met, "judged": judged},
        "phases": phases,
    }


def result_paths(directory: Path, started: datetime) -> tuple[Path, Path]:
    """``<date>.json`` when the day has no run yet, else ``<date>-HHMM`` (then ``-HHMMSS``)."""
    for stem in (
        f"{started:%Y-%m-%d}",
        f"{started:%Y-%m-%d-%H%M}",
        f"{started:%Y-%m-%d-%H%M%S}",
    ):
        if not (directory / f"{stem}.json").exists():
            break
    return directory / f"{stem}.json", directory / f"{stem}.md"


def save(report: dict[str, Any], directory: Path, started: datetime) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = result_paths(directory, started)
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    md_path.write_text(render_markdown(report))
    return json_path, md_path


# --- what the run ran on ----------------------------------------------------------------------


def _proc_field(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    except OSError:
        pass
    return ""


def machine_info(postgresql: str, load_start: Sequence[float]) -> dict[str, Any]:
    """The machine; ``load_start``: the load average when the run began (noise to expect)."""
    mem_kib = _proc_field("/proc/meminfo", "MemTotal").split()
    return {
        "hostname": socket.gethostname(),
        "cpu_count": os.cpu_count(),
        "cpu_model": _proc_field("/proc/cpuinfo", "model name") or platform.processor(),
        "memory_bytes": int(mem_kib[0]) * 1024 if mem_kib else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": postgresql,
        "load_average_start": list(load_start),
        "load_average_end": list(os.getloadavg()),
    }


def git_info() -> dict[str, Any]:
    """The commit and whether the tree differs from it (read-only: no index lock taken)."""

    def git(*args: str) -> str:
        result = subprocess.run(
            ["git", "--no-optional-locks", *args],
            cwd=HERE.parent,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        return result.stdout.strip() if result.returncode == 0 else ""

    commit = git("rev-parse", "HEAD")
    return {
        "commit": commit or None,
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")) if commit else None,
        "branch": git("rev-parse", "--abbrev-ref", "HEAD") or None,
    }


# --- command line -----------------------------------------------------------------------------


def newest(paths: Iterable[Path]) -> Path | None:
    """The results file of the latest run (by its recorded start, not by its name)."""
    best: tuple[str, Path] | None = None
    for path in paths:
        try:
            started = str(json.loads(path.read_text()).get("started_at", ""))
        except (OSError, ValueError):
            continue
        if best is None or started > best[0]:
            best = (started, path)
    return best[1] if best else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.results", description="Print a run's markdown table."
    )
    parser.add_argument(
        "path", nargs="?", type=Path, default=DEFAULT_DIR, help="a results .json or their folder"
    )
    parser.add_argument(
        "--brief", action="store_true", help="only the figures with a target, and the memory"
    )
    args = parser.parse_args(argv)
    path: Path | None = args.path
    if path is not None and path.is_dir():
        path = newest(path.glob("*.json"))
    if path is None or not path.exists():
        print(f"no results file in {args.path}", file=sys.stderr)
        return 1
    print(render_markdown(json.loads(path.read_text()), brief=args.brief), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
