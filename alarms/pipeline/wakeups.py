"""Coalesced wake-ups: one processing task per burst of callbacks, not one per callback.

Publishing a Celery task costs a callback more CPU than storing it (issue 16), and during a storm
nearly all of those tasks find their delivery already taken by a batch. So a web process
publishes at most one task per *window* (``ALARMHUB_WAKEUP_COALESCE_MS``); a delivery stored
less than a window after a published task relies on that task instead. The task keeps the
promise by draining: it claims batches until none is full, and starts its last claim no sooner
than one window after it started. Why that covers every skipped delivery:

- a delivery is skipped only after it is committed, at a time ``t`` with ``t < p + window``,
  where ``p`` is when the covering publish *began* and that publish has already succeeded;
- the task cannot start before its message exists: it starts at ``s ≥ p``;
- its last claim starts at or after ``s + window ≥ p + window > t``, so it sees the delivery.

The window travels in the message, so a web and a worker configured differently still agree.
A worker that dies mid-drain leaves pending rows for the stranded-delivery sweep, as before.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from .claims import claim_batch
from .process import TRANSIENT_DB_ERRORS, run_claimed

# No delivery has id 0: ``claim_batch`` then claims only pending deliveries never tried.
_NO_DELIVERY = 0

# A drain hands over to a fresh task (queued behind whatever else waits, such as outbound
# messages: one queue serves every task) after this long, well inside the soft time limit.
DRAIN_BUDGET_SECONDS = 5.0
# A message's window is capped: a forged or corrupt one cannot park a worker.
MAX_SETTLE_SECONDS = 1.0
# How far the web's and the worker's clocks may disagree before a wake-up is judged stale.
CLOCK_SKEW_ALLOWANCE_SECONDS = 1.0


def settle_window(settle_seconds: object, published_at: object, *, now: float) -> float:
    """The seconds a task must wait from its start before its last claim.

    A wake-up that waited in the queue for longer than its window (a backlog, a worker restart)
    starts after every delivery it covers was committed: it needs no wait, and a backlog of
    stale wake-ups must not each park a worker for a window. ``published_at`` is the web's
    wall clock, trusted only beyond ``CLOCK_SKEW_ALLOWANCE_SECONDS``. A value that is not a
    finite number gets the longest window (always safe).
    """
    window = _finite(settle_seconds)
    if window is None:
        return MAX_SETTLE_SECONDS
    window = min(max(window, 0.0), MAX_SETTLE_SECONDS)
    if published_at is None:
        return window  # a message from before coalescing, or a re-queue: nothing to judge by
    sent = _finite(published_at)
    if sent is None:
        return MAX_SETTLE_SECONDS
    return 0.0 if now - sent > window + CLOCK_SKEW_ALLOWANCE_SECONDS else window


def _finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


class WakeupCoalescer:
    """Per web process: whether a task published less than ``window`` seconds ago covers a
    delivery committed now. Safe under threads and greenlets (one float, written whole)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last_publish_began = float("-inf")

    def covered(self, window: float) -> bool:
        return self._clock() - self._last_publish_began < window

    def now(self) -> float:
        return self._clock()

    def published(self, began: float) -> None:
        """Record a publish that succeeded; ``began`` is ``now()`` taken before it was sent."""
        self._last_publish_began = max(self._last_publish_began, began)


def run_pending(*, limit: int, requeue: Callable[[list[int]], object] | None = None) -> int:
    """Claim and process up to ``limit`` untried pending deliveries; returns how many it claimed.

    On a transient error the claims are handed back, given to ``requeue`` (no task owns them)
    and the error is re-raised.
    """
    ids = claim_batch(_NO_DELIVERY, limit=limit + 1)
    if not ids:
        return 0
    try:
        run_claimed(ids)
    except TRANSIENT_DB_ERRORS:
        if requeue is not None:
            requeue(ids)
        raise
    return len(ids)


def drain(
    *,
    limit: int,
    settle_until: float,
    requeue: Callable[[list[int]], object] | None = None,
    budget_seconds: float = DRAIN_BUDGET_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] = time.sleep,
) -> bool:
    """Process pending deliveries in batches until a claim comes back short, the last claim
    beginning at or after ``settle_until`` (sleeping until then if need be).

    Returns False when the budget ran out with batches still coming full: the caller should
    publish a fresh task to carry on.
    """
    deadline = clock() + budget_seconds
    while True:
        began = clock()
        claimed = run_pending(limit=limit, requeue=requeue)
        if claimed >= limit:
            if clock() >= deadline:
                return False
            continue
        if began >= settle_until:
            return True
        sleep(max(settle_until - clock(), 0.0))
