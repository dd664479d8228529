"""Token buckets: deterministic (explicit ``now``), exact, and never over a vendor's limit."""

from __future__ import annotations

import bisect
import json
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alarms.notify.ratelimit import (
    VENDOR_LIMITS,
    Limit,
    RateLimiter,
    TokenBucket,
    limiter_for,
)


def max_in_window(times: list[float], window: float) -> int:
    """The most of ``times`` (sorted) inside any closed window ``[t, t + window]``."""
    return max(
        (bisect.bisect_right(times, start + window) - index for index, start in enumerate(times)),
        default=0,
    )


def run(limiter: RateLimiter, arrivals: list[float]) -> list[float]:
    """Offer one message at each arrival time; the times at which one was let through."""
    return [now for now in arrivals if limiter.try_take(now)]


# --- the bucket ----------------------------------------------------------------------------------


def test_bucket_starts_full_and_refills_at_its_rate() -> None:
    bucket = TokenBucket(3, Fraction(1, 2))

    assert [bucket.try_take(0) for _ in range(4)] == [True, True, True, False]
    assert not bucket.try_take(1.9)
    assert bucket.try_take(2)  # one token every two seconds
    assert not bucket.try_take(2)
    assert bucket.available(100) == 3  # never above capacity


def test_float_rates_are_read_as_the_intended_fraction() -> None:
    bucket = TokenBucket(1, 10 / 60)

    assert bucket.refill_per_second == Fraction(1, 6)
    assert bucket.try_take(0)
    assert not bucket.try_take(5.999999)
    assert bucket.try_take(6)  # exactly on time: no float rounding makes it late (or early)


def test_a_clock_that_steps_back_refills_nothing() -> None:
    bucket = TokenBucket(1, 1)
    assert bucket.try_take(100)

    assert not bucket.try_take(50)
    assert not bucket.try_take(100.5)
    assert bucket.try_take(101)


def test_wait_seconds_is_enough_and_not_more() -> None:
    bucket = TokenBucket(2, Fraction(1, 6))
    bucket.try_take(0)
    bucket.try_take(0)

    wait = bucket.wait_seconds(1)

    assert wait == 5.0
    assert not bucket.can_take(1 + wait - 1e-6)
    assert bucket.can_take(1 + wait)
    assert bucket.wait_seconds(10) == 0.0
    assert TokenBucket(1, 0, tokens=0).wait_seconds(0) == float("inf")


def test_state_round_trips_through_json_exactly() -> None:
    bucket = TokenBucket(10, Fraction(1, 6))
    for now in (0, 0, 0.1, 3.3):
        bucket.try_take(now)

    stored = json.loads(json.dumps(bucket.state))
    restored = TokenBucket.from_state(10, Fraction(1, 6), stored)

    assert restored.tokens == bucket.tokens
    assert restored.updated_at == bucket.updated_at
    assert TokenBucket.from_state(10, 1, None).tokens == 10  # nothing stored: a full bucket


def test_a_stored_level_is_capped_by_a_lowered_capacity() -> None:
    restored = TokenBucket.from_state(5, 1, {"tokens": "9", "updated_at": "0"})

    assert restored.tokens == 5


@pytest.mark.parametrize(
    ("capacity", "rate"), [(0, 1), (-1, 1), (1, -1)], ids=["zero", "negative", "negative-rate"]
)
def test_bad_bucket_configuration_is_refused(capacity: int, rate: int) -> None:
    with pytest.raises(ValueError):
        TokenBucket(capacity, rate)


# --- limits --------------------------------------------------------------------------------------


def test_limit_splits_the_count_into_burst_and_steady_rate() -> None:
    limit = Limit(20, 60)

    assert limit.capacity == 10
    assert limit.refill_per_second == Fraction(10, 60)
    assert Limit(20, 60, burst=5).refill_per_second == Fraction(15, 60)
    with pytest.raises(ValueError):
        Limit(20, 60, burst=20)
    with pytest.raises(ValueError):
        Limit(1, 60)


def test_vendor_presets() -> None:
    assert VENDOR_LIMITS["wecom"] == (Limit(20, 60),)
    assert VENDOR_LIMITS["dingtalk"] == (Limit(20, 60),)
    assert VENDOR_LIMITS["feishu"] == (Limit(100, 60), Limit(5, 1))
    assert limiter_for("webhook") is None
    feishu = limiter_for("feishu")
    assert feishu is not None
    assert len(feishu.buckets) == 2


def test_a_naive_bucket_would_break_a_20_per_minute_limit() -> None:
    # Why the presets are split: capacity 20 refilled at 20/min lets 39 through in one minute.
    naive = RateLimiter([TokenBucket(20, Fraction(20, 60))])

    sent = run(naive, [second / 10 for second in range(600)])

    assert max_in_window(sent, 60) > 20


@pytest.mark.parametrize("kind", ["wecom", "dingtalk"])
def test_a_500_message_burst_gets_exactly_20_through_in_the_first_minute(kind: str) -> None:
    limiter = limiter_for(kind)
    assert limiter is not None
    queue = 500
    sent: list[float] = []
    # All 500 arrive at 0; the sender retries the queue head every 100 ms for two minutes.
    for tick in range(1201):
        now = tick / 10
        while queue and limiter.try_take(now):
            queue -= 1
            sent.append(now)

    assert sum(1 for t in sent if t <= 60) == 20
    assert sent[:10] == [0.0] * 10  # the burst half goes at once
    assert sent[10:13] == [6.0, 12.0, 18.0]  # then one every six seconds
    assert max_in_window(sent, 60) == 20
    assert queue == 500 - len(sent)  # the rest waits (or goes into a digest), none is lost


def test_feishu_burst_respects_both_limits() -> None:
    limiter = limiter_for("feishu")
    assert limiter is not None
    arrivals = [tick / 100 for tick in range(12_000)]  # 100 offers a second for two minutes

    sent = run(limiter, arrivals)

    assert max_in_window(sent, 1) <= 5
    assert max_in_window(sent, 60) <= 100
    assert sum(1 for t in sent if t <= 60) == 100  # and the minute's full allowance is used


def test_a_refusal_by_one_bucket_spends_nothing_from_the_other() -> None:
    per_minute, per_second = TokenBucket(50, Fraction(50, 60)), TokenBucket(2, 3)
    limiter = RateLimiter([per_minute, per_second])

    assert run(limiter, [0, 0, 0, 0]) == [0, 0]

    assert per_minute.available(0) == 48  # the two refused offers cost nothing


def test_limiter_state_round_trips() -> None:
    limiter = limiter_for("feishu")
    assert limiter is not None
    run(limiter, [0, 0, 0.2, 0.4])

    restored = limiter_for("feishu", json.loads(json.dumps(limiter.state)))

    assert restored is not None
    assert [b.state for b in restored.buckets] == [b.state for b in limiter.buckets]
    with pytest.raises(ValueError, match="match"):
        limiter_for("feishu", [None])


def test_limiter_wait_seconds_is_the_longest_wait() -> None:
    limiter = RateLimiter([TokenBucket(1, Fraction(1, 6)), TokenBucket(1, 1)])
    limiter.try_take(0)

    assert limiter.wait_seconds(0) == 6.0
    assert limiter.wait_seconds(6) == 0.0


# --- properties ----------------------------------------------------------------------------------


def arrivals_from_gaps(max_gap: float) -> st.SearchStrategy[list[float]]:
    """Sorted arrival times built from gaps, many of them zero: bursts and lulls."""
    gap = st.one_of(st.just(0.0), st.floats(min_value=0, max_value=max_gap, allow_nan=False))

    def accumulate(gaps: list[float]) -> list[float]:
        times, now = [], 0.0
        for step in gaps:
            now += step
            times.append(now)
        return times

    return st.lists(gap, max_size=400).map(accumulate)


ARRIVALS = arrivals_from_gaps(6.0)
FAST_ARRIVALS = arrivals_from_gaps(0.5)


@settings(max_examples=200, deadline=None)
@given(ARRIVALS)
@pytest.mark.parametrize("kind", ["wecom", "dingtalk"])
def test_never_more_than_20_in_any_sliding_minute(kind: str, arrivals: list[float]) -> None:
    limiter = limiter_for(kind)
    assert limiter is not None

    sent = run(limiter, arrivals)

    assert max_in_window(sent, 60) <= 20


@settings(max_examples=200, deadline=None)
@given(st.one_of(ARRIVALS, FAST_ARRIVALS))
def test_feishu_never_exceeds_5_a_second_or_100_a_minute(arrivals: list[float]) -> None:
    limiter = limiter_for("feishu")
    assert limiter is not None

    sent = run(limiter, arrivals)

    assert max_in_window(sent, 1) <= 5
    assert max_in_window(sent, 60) <= 100


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), max_size=60).map(sorted),
    st.integers(min_value=0, max_value=60),
)
def test_storing_and_restoring_mid_stream_changes_no_decision(
    arrivals: list[float], split: int
) -> None:
    straight = limiter_for("feishu")
    first = limiter_for("feishu")
    assert straight is not None
    assert first is not None

    expected = [straight.try_take(now) for now in arrivals]
    decisions = [first.try_take(now) for now in arrivals[:split]]
    restored = limiter_for("feishu", json.loads(json.dumps(first.state)))
    assert restored is not None
    decisions += [restored.try_take(now) for now in arrivals[split:]]

    assert decisions == expected


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=0.5, max_value=30, allow_nan=False))
def test_a_steady_sender_gets_the_steady_rate(gap: float) -> None:
    # Liveness: the limiter throttles, it does not starve. Offers every `gap` seconds for ten
    # minutes get the burst plus everything that dripped in (10 + 600 / 6 for WeCom), or every
    # offer when they come slower than that.
    limiter = limiter_for("wecom")
    assert limiter is not None
    arrivals = [n * gap for n in range(int(600 / gap) + 1)]

    sent = run(limiter, arrivals)

    allowance = 10 + 600 // 6
    assert len(sent) >= min(len(arrivals), allowance - 1)
    assert len(sent) <= allowance
