"""The command line of ``python -m benchmarks``."""

from __future__ import annotations

import argparse
from pathlib import Path

from .phase_ingest import CONNECTIONS
from .results import DEFAULT_DIR


def parser(description: str | None) -> argparse.ArgumentParser:
    """The options of ``python -m benchmarks`` (``description``: the package's docstring)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=description)
    parser.add_argument("--quick", action="store_true", help="short runs (under two minutes)")
    parser.add_argument(
        "--alarms", type=int, default=20_000, help="alarms at the large size (default 20000)"
    )
    parser.add_argument(
        "--no-wrk", action="store_true", help="load with the threaded Python client, not wrk"
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=CONNECTIONS,
        help=f"connections of the ingestion phase (default {CONNECTIONS})",
    )
    parser.add_argument(
        "--export-rows",
        type=int,
        default=None,
        help="rows of the CSV export (default 100000, the export cap; 20000 with --quick; "
        "0 skips the export phase)",
    )
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument(
        "--web-class",
        choices=["gevent", "sync"],
        default="gevent",
        help="gunicorn worker class under deploy/gunicorn.conf.py (default gevent, as shipped)",
    )
    parser.add_argument("--worker-concurrency", type=int, default=2, help="Celery processes (2)")
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=DEFAULT_DIR,
        help="where the results .json and .md go (default benchmarks/results)",
    )
    parser.add_argument("--no-save", action="store_true", help="write no results file")
    return parser
