"""Token buckets that keep each robot under its vendor's rate limit, with serialisable state.

Pure and deterministic: the caller passes ``now`` (seconds, any fixed origin: ``time.time()`` or
a monotonic clock) and stores :attr:`TokenBucket.state` wherever the limiter lives (Redis, a
database row). Arithmetic is exact (:class:`fractions.Fraction`): a float rounding must never let
one message through early, because DingTalk answers a 21st message in a minute with a ten-minute
ban.

Why the presets are not simply "capacity 20, refill 20 a minute": a bucket of capacity ``b``
refilled at ``r`` a second lets through at most ``b + r·T`` messages in any window of ``T``
seconds (a full bucket at the start, plus what drips in). With ``b = 20`` and ``r = 20/60`` that
is 40 in one sliding minute. A limit of ``N`` per ``T`` is therefore split as ``b + r·T = N``
(:class:`Limit`: half burst, half steady by default), which holds for every window — closed,
sliding or calendar-aligned, whichever the vendor counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

Number = int | float | Fraction | str

# A float rate is read as the simplest nearby fraction: 10/60 computed in floats becomes 1/6.
_RATE_DENOMINATOR_LIMIT = 10**6


def _rate(value: Number) -> Fraction:
    if isinstance(value, float):
        return Fraction(value).limit_denominator(_RATE_DENOMINATOR_LIMIT)
    return Fraction(value)


def _instant(value: Number) -> Fraction:
    # Times are taken exactly (a float converts to its exact binary value).
    return Fraction(value)


class TokenBucket:
    """A bucket of ``capacity`` tokens refilled at ``refill_per_second``; a message costs one.

    Starts full. :meth:`try_take` spends a token when there is one; :attr:`state` and
    :meth:`from_state` move the bucket in and out of storage without losing a fraction of a token.
    A clock that steps backwards refills nothing (and never un-spends).
    """

    __slots__ = ("capacity", "refill_per_second", "tokens", "updated_at")

    def __init__(
        self,
        capacity: Number,
        refill_per_second: Number,
        *,
        tokens: Number | None = None,
        updated_at: Number | None = None,
    ) -> None:
        self.capacity = Fraction(capacity)
        self.refill_per_second = _rate(refill_per_second)
        if self.capacity <= 0 or self.refill_per_second < 0:
            raise ValueError("capacity must be positive and refill_per_second not negative")
        self.tokens = self.capacity if tokens is None else min(Fraction(tokens), self.capacity)
        self.updated_at = None if updated_at is None else _instant(updated_at)

    def __repr__(self) -> str:
        return (
            f"TokenBucket(capacity={self.capacity}, refill_per_second={self.refill_per_second}, "
            f"tokens={self.tokens}, updated_at={self.updated_at})"
        )

    def _level(self, now: Fraction) -> Fraction:
        if self.updated_at is None or now <= self.updated_at:
            return self.tokens
        return min(self.capacity, self.tokens + (now - self.updated_at) * self.refill_per_second)

    def _advance(self, now: Fraction) -> None:
        self.tokens = self._level(now)
        if self.updated_at is None or now > self.updated_at:
            self.updated_at = now

    def available(self, now: Number) -> Fraction:
        """Tokens in the bucket at ``now`` (not changing it)."""
        return self._level(_instant(now))

    def can_take(self, now: Number, cost: int = 1) -> bool:
        """Whether :meth:`try_take` would succeed at ``now`` (not changing the bucket)."""
        return self.available(now) >= cost

    def try_take(self, now: Number, cost: int = 1) -> bool:
        """Spend ``cost`` tokens at ``now`` if the bucket has them; True when it did."""
        instant = _instant(now)
        self._advance(instant)
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True

    def wait_seconds(self, now: Number, cost: int = 1) -> float:
        """Seconds from ``now`` until ``cost`` tokens are there (0.0 when they already are).

        Rounded up to the microsecond, so waiting that long always suffices.
        """
        missing = cost - self.available(now)
        if missing <= 0:
            return 0.0
        if self.refill_per_second == 0 or cost > self.capacity:
            return float("inf")
        micros = -(-(missing / self.refill_per_second * 1_000_000) // 1)  # ceiling
        return float(micros) / 1_000_000

    @property
    def state(self) -> dict[str, str | None]:
        """JSON-ready state: exact fractions as strings (``"7/3"``), ``updated_at`` None if new."""
        return {
            "tokens": str(self.tokens),
            "updated_at": None if self.updated_at is None else str(self.updated_at),
        }

    @classmethod
    def from_state(
        cls, capacity: Number, refill_per_second: Number, state: Mapping[str, Any] | None
    ) -> TokenBucket:
        """A bucket with this configuration and a stored :attr:`state` (None: a new, full one).

        A stored level above a since-lowered capacity is capped to it.
        """
        if not state:
            return cls(capacity, refill_per_second)
        return cls(
            capacity,
            refill_per_second,
            tokens=state.get("tokens"),
            updated_at=state.get("updated_at"),
        )


@dataclass(frozen=True)
class Limit:
    """A vendor limit: at most ``count`` messages in any ``seconds``-long window.

    :meth:`bucket` builds the token bucket that honours it in every window: ``burst`` tokens up
    front (default half the count) and the rest refilled evenly over the window.
    """

    count: int
    seconds: int
    burst: int | None = None

    def __post_init__(self) -> None:
        if self.count < 2 or self.seconds <= 0:
            raise ValueError("a limit needs a count of at least 2 over a positive window")
        if self.burst is not None and not 0 < self.burst < self.count:
            raise ValueError("burst must be between 1 and count - 1")

    @property
    def capacity(self) -> int:
        """The bucket's size: the most messages sent at once."""
        return self.burst if self.burst is not None else self.count // 2

    @property
    def refill_per_second(self) -> Fraction:
        """The steady rate: what is left of the count after the burst, spread over the window."""
        return Fraction(self.count - self.capacity, self.seconds)

    def bucket(self, state: Mapping[str, Any] | None = None) -> TokenBucket:
        """A bucket for this limit, new or restored from a stored state."""
        return TokenBucket.from_state(self.capacity, self.refill_per_second, state)


class RateLimiter:
    """Several buckets that must all allow a message (Feishu: per minute *and* per second).

    A refusal by any bucket spends nothing from the others.
    """

    __slots__ = ("buckets",)

    def __init__(self, buckets: Sequence[TokenBucket]) -> None:
        if not buckets:
            raise ValueError("a rate limiter needs at least one bucket")
        self.buckets = tuple(buckets)

    @classmethod
    def for_limits(
        cls, limits: Sequence[Limit], state: Sequence[Mapping[str, Any] | None] | None = None
    ) -> RateLimiter:
        """A limiter for these limits, restored from :attr:`state` when given (one per limit)."""
        states: Sequence[Mapping[str, Any] | None] = state or [None] * len(limits)
        if len(states) != len(limits):
            raise ValueError("the stored state does not match the limits")
        return cls([limit.bucket(saved) for limit, saved in zip(limits, states, strict=True)])

    def can_take(self, now: Number) -> bool:
        """Whether every bucket has a token at ``now`` (not changing them)."""
        return all(bucket.can_take(now) for bucket in self.buckets)

    def try_take(self, now: Number) -> bool:
        """Take a token from every bucket at ``now`` if all have one; True when it did."""
        if not self.can_take(now):
            for bucket in self.buckets:
                bucket.try_take(now, cost=0)  # keep the refill bookkeeping moving
            return False
        taken = [bucket.try_take(now) for bucket in self.buckets]
        assert all(taken)  # can_take saw the same clock and state
        return True

    def wait_seconds(self, now: Number) -> float:
        """Seconds from ``now`` until every bucket has a token."""
        return max(bucket.wait_seconds(now) for bucket in self.buckets)

    @property
    def state(self) -> list[dict[str, str | None]]:
        """JSON-ready state of every bucket, in order."""
        return [bucket.state for bucket in self.buckets]


# Per robot (per webhook URL). WeCom: "每个机器人发送的消息不能超过20条/分钟"; DingTalk: 20 a
# minute, then a ten-minute ban (errcode 130101); Feishu custom bots: 100 a minute and 5 a second
# ("单租户单机器人 100 次/分钟，5 次/秒"). Generic webhooks have no vendor limit.
VENDOR_LIMITS: dict[str, tuple[Limit, ...]] = {
    "wecom": (Limit(20, 60),),
    "dingtalk": (Limit(20, 60),),
    "feishu": (Limit(100, 60), Limit(5, 1)),
}


def limiter_for(
    kind: str, state: Sequence[Mapping[str, Any] | None] | None = None
) -> RateLimiter | None:
    """The limiter for one channel of ``kind`` (None when the kind has no vendor limit)."""
    limits = VENDOR_LIMITS.get(kind)
    return None if limits is None else RateLimiter.for_limits(limits, state)
