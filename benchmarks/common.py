"""What every phase of the benchmark shares: the profiles, printing, ratios and verdicts."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    slices: int  # alternating /healthz and callback runs (noise hits both alike)
    healthz_seconds: int  # per slice
    callback_seconds: int  # per slice
    drain_timeout: float  # the workers' drain of the ingestion backlog
    rounds: int  # timed rounds per page in the scale phase
    warmup: int  # untimed rounds before them
    storm_seconds: int  # the paced storm with the workers running
    storm_drain_timeout: float  # waiting for the storm's last deliveries after the load stops
    export_rows: int  # rows of the big CSV export (0 skips the export phase)
    xlsx_rows: int


FULL = Profile(
    name="full",
    slices=6,
    healthz_seconds=1,
    callback_seconds=1,
    drain_timeout=150,
    rounds=15,
    warmup=3,
    storm_seconds=60,
    storm_drain_timeout=120,
    export_rows=100_000,
    xlsx_rows=10_000,
)
# Under two minutes on the 2-core VM: every phase, with fewer slices, rounds and rows.
QUICK = Profile(
    name="quick",
    slices=2,
    healthz_seconds=1,
    callback_seconds=1,
    drain_timeout=30,
    rounds=3,
    warmup=1,
    storm_seconds=15,
    storm_drain_timeout=15,
    export_rows=20_000,
    xlsx_rows=2_000,
)


def say(text: str = "") -> None:
    print(text, flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


def ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}×" if denominator else "n/a"


def verdict(value: float, target: float, unit: str = "s") -> str:
    """ "met", or by how much a ceiling (``value`` ≤ ``target``) was missed."""
    if value <= target:
        return "met"
    return f"MISSED by {value - target:.3g} {unit} ({value / target:.1f}× the target)"


def floor_verdict(value: float, target: float) -> str:
    """ "met", or by how much a floor (``value`` ≥ ``target``) was missed."""
    if value >= target:
        return "met"
    share = f"{value / target:.2f}× the target" if target else "n/a"
    return f"MISSED ({share})"


_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
# Seeded instance ids look like Tencent's (``ins-`` and 8 lowercase base-36 characters, such as
# ins-3x8fk2ld): the i-th is i times an odd multiplier not divisible by 3, modulo 36**8 —
# distinct for every i. Sequential ids (the seed before issue 16's last round, ins-seed0000042)
# shared ten of their 14 trigrams with every seeded alarm, a worst case for trigram search that
# real fleets do not have.
SEEDED_INSTANCE_ID = re.compile(r"^ins-[0-9a-z]{8}$")


def seeded_instance_id(i: int) -> str:
    n = (i * 1_743_541_808_669 + 0x5EED) % 36**8  # the golden ratio of 36**8, odd, not 3k
    return "ins-" + "".join(_BASE36[n // 36**k % 36] for k in range(7, -1, -1))
