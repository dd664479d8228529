"""Peak memory of the web and worker processes, read at the moments that matter.

``VmHWM`` is a process's high-water mark of resident memory: read once after a phase, it is
that process's peak so far. The peaks are reset (``/proc/<pid>/clear_refs``) between phases when
the kernel allows it, so that a reading belongs to the phase before it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .common import say
from .export import MIB
from .results import Row
from .stack import ProcessMemory, Stack

SERVICE_LABELS = {"web": "web (gunicorn)", "worker": "worker (Celery)"}


@dataclass
class MemorySnapshot:
    moment: str  # e.g. "after the storm phases"
    note: str  # what the peaks cover (restarts, resets)
    services: dict[str, list[ProcessMemory]]

    def peak(self, service: str) -> int:
        """The largest single process's peak (bytes)."""
        return max((p.peak for p in self.services.get(service, [])), default=0)

    def peak_sum(self, service: str) -> int:
        """The sum of every process's peak: an upper bound of the service's peak at one moment
        (the peaks need not coincide, and pages shared after fork count in every process)."""
        return sum(p.peak for p in self.services.get(service, []))


def take(stack: Stack, moment: str, note: str) -> MemorySnapshot:
    return MemorySnapshot(moment=moment, note=note, services=stack.memory())


def print_snapshot(snapshot: MemorySnapshot) -> None:
    say(f"\nMemory — peak RSS (VmHWM) of every process, {snapshot.moment} ({snapshot.note})")
    if not snapshot.services:
        say("  no web or worker process running")
    for service, processes in snapshot.services.items():
        each = ", ".join(f"{p.role} {p.peak / MIB:.0f}" for p in processes)
        say(
            f"  {SERVICE_LABELS.get(service, service):16} {each} MiB → largest "
            f"{snapshot.peak(service) / MIB:.0f} MiB, sum {snapshot.peak_sum(service) / MIB:.0f} "
            f"MiB (now {sum(p.rss for p in processes) / MIB:.0f} MiB)"
        )


def memory_rows(snapshots: list[MemorySnapshot]) -> list[Row]:
    rows = []
    for snapshot in snapshots:
        for service, processes in snapshot.services.items():
            rows.append(
                Row(
                    f"peak RSS, {SERVICE_LABELS.get(service, service)}, {snapshot.moment}",
                    f"{snapshot.peak_sum(service) / MIB:.0f} MiB",
                    f"{len(processes)} processes, largest {snapshot.peak(service) / MIB:.0f} MiB",
                    brief=True,
                )
            )
    return rows
