"""Export timings: a streamed download over HTTP and the serving gunicorn worker's memory.

The export runs on a web tier of one gunicorn worker, so the process that serves the request is
known: a thread samples its ``VmRSS`` (``/proc/<pid>/status``) every few milliseconds while the
client reads the body in chunks and discards it (the client keeps no copy either).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

RSS_SAMPLE_SECONDS = 0.01
READ_CHUNK_BYTES = 64 * 1024
MIB = 1024 * 1024


@dataclass(frozen=True)
class ExportRun:
    label: str
    rows: int  # data rows received (CSV: lines after the header; XLSX: the database's count)
    bytes: int
    first_byte: float  # seconds to the first body byte: a streamed export answers at once
    total: float  # seconds until the last byte
    rss_before: int  # bytes, the worker's VmRSS just before the request
    rss_peak: int  # bytes, the highest VmRSS sampled while it was served
    truncated: str  # X-AlarmHub-Export-Truncated

    @property
    def rss_growth(self) -> int:
        return max(0, self.rss_peak - self.rss_before)


def children(pid: int) -> list[int]:
    """Child processes of ``pid`` (gunicorn's workers are the master's children)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` (``VmRSS`` is in kB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


class RssSampler:
    """Peak RSS of one process while the ``with`` block runs (a sampling thread)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.before = rss_bytes(pid)
        self.peak = self.before
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._done.wait(RSS_SAMPLE_SECONDS):
            self.peak = max(self.peak, rss_bytes(self.pid))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)
        self.peak = max(self.peak, rss_bytes(self.pid))


def download(
    session: requests.Session, url: str, *, label: str, worker_pid: int, rows: int | None = None
) -> ExportRun:
    """GET ``url`` streamed to nowhere; ``rows`` (XLSX) is the expected row count, else counted."""
    size = newlines = 0
    first_byte = 0.0
    with RssSampler(worker_pid) as rss:
        started = time.perf_counter()
        with session.get(url, stream=True, timeout=120) as response:
            if response.status_code != 200:
                raise RuntimeError(f"{label} ({url}) answered HTTP {response.status_code}")
            for chunk in response.iter_content(READ_CHUNK_BYTES):
                if not size:
                    first_byte = time.perf_counter() - started
                size += len(chunk)
                newlines += chunk.count(b"\n")
            total = time.perf_counter() - started
            truncated = response.headers.get("X-AlarmHub-Export-Truncated", "?")
    # The seeded values hold no line breaks, so a CSV's lines are its header and its rows.
    return ExportRun(
        label=label,
        rows=rows if rows is not None else max(0, newlines - 1),
        bytes=size,
        first_byte=first_byte,
        total=total,
        rss_before=rss.before,
        rss_peak=rss.peak,
        truncated=truncated,
    )
