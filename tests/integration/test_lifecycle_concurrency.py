"""DESIGN §3.4 end to end: any arrival order, processed by concurrent workers, ends in the same
alarms as Tencent's own order processed one at a time.

Hypothesis draws a set of trigger/repeat/recovery callbacks (with byte-identical re-sends) over a
few alarm identities and occurrences. Endpoint B gets them in a random order while two worker
processes (concurrency 2 each) race through them; endpoint A gets them in chronological order,
each one processed before the next is sent. Both must end with the same alarms, and those must
match a small model of the pairing rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.conftest import (
    EndpointPool,
    post_callback,
    tencent_metric_body,
    wait_deliveries_settled,
)
from tests.support.services import CeleryWorker, WebServer, psql

LOCAL_OFFSET = timedelta(hours=8)  # endpoints read Tencent's times in Asia/Shanghai
BASE = datetime(2024, 6, 1, 10, 0)  # local time of the earliest occurrence
POLICIES = ("policy-lc000001", "policy-lc000002")
INSTANCES = ("ins-lc000001", "ins-lc000002", "ins-lc000003")
# Most pairs of occurrences are within the flapping window (1 h), one is not.
OCCURRENCE_MINUTES = (0, 25, 50, 130)
STEP = 300  # seconds between Tencent's repeat notifications in this model
FLAPPING_WINDOW = timedelta(hours=1)  # ALARMHUB_FLAPPING_WINDOW_SECONDS default
FLAPPING_EPISODES = 2  # ALARMHUB_FLAPPING_EPISODES in callback_env


@dataclass(frozen=True)
class Notification:
    """One callback Tencent would send: a trigger (duration 0), a repeat, or the recovery."""

    policy_id: str
    instance_id: str
    first: datetime  # local
    duration: int
    recovered: bool
    session_id: str
    value: str

    @property
    def occurrence(self) -> tuple[str, str, datetime]:
        return (self.policy_id, self.instance_id, self.first)

    @property
    def rank(self) -> tuple[int, int, str]:
        """Tencent's own order within one occurrence: alarming by duration, then recovery."""
        return (int(self.recovered), self.duration, self.session_id)

    @property
    def body(self) -> bytes:
        return tencent_metric_body(
            policy_id=self.policy_id,
            instance_id=self.instance_id,
            first_occur=f"{self.first:%Y-%m-%d %H:%M:%S}",
            session_id=self.session_id,
            duration=self.duration,
            recover_time=f"{self.first + timedelta(seconds=self.duration):%Y-%m-%d %H:%M:%S}"
            if self.recovered
            else None,
            value=self.value,
        )


@dataclass(frozen=True)
class Scenario:
    notifications: list[Notification]
    resends: list[int]  # indexes into notifications, each a byte-identical re-send
    arrival: list[int]  # endpoint B's arrival order: every index, re-sends included

    @property
    def total(self) -> int:
        return len(self.arrival)

    def shuffled(self) -> list[bytes]:
        return [self.notifications[i].body for i in self.arrival]

    def canonical(self) -> list[bytes]:
        """Tencent's chronological order; a re-send follows its original."""
        ordered = sorted(
            range(len(self.notifications)),
            key=lambda i: (
                self.notifications[i].first + timedelta(seconds=self.notifications[i].duration),
                self.notifications[i].rank,
            ),
        )
        bodies = []
        for i in ordered:
            bodies += [self.notifications[i].body] * (1 + self.resends.count(i))
        return bodies


@st.composite
def scenarios(draw: Callable[..., Any]) -> Scenario:
    identities = draw(
        st.lists(
            st.tuples(st.sampled_from(POLICIES), st.sampled_from(INSTANCES)),
            min_size=2,
            max_size=3,
            unique=True,
        )
    )
    notifications: list[Notification] = []

    def add(identity: tuple[str, str], first: datetime, duration: int, recovered: bool) -> None:
        value = "12.5" if recovered else f"{91 + duration // STEP}.5"
        session = f"lifecycle{len(notifications):04d}".ljust(24, "x")  # a new one per push
        notifications.append(Notification(*identity, first, duration, recovered, session, value))

    for identity in identities:
        occurrences = draw(st.integers(1, 2))
        minutes = draw(st.permutations(OCCURRENCE_MINUTES))[:occurrences]
        for minute in minutes:
            first = BASE + timedelta(minutes=minute)
            trigger = draw(st.booleans())
            repeats = draw(st.lists(st.integers(1, 6), max_size=2, unique=True))
            # Unrecovered occurrences are what rule 5 (superseding) is about: make them common.
            recovery = draw(st.sampled_from([None, None, None, 1, 4, 8]))
            if not trigger and not repeats and recovery is None:
                trigger = True
            if trigger:
                add(identity, first, 0, recovered=False)
            for step in repeats:
                add(identity, first, step * STEP, recovered=False)
            if recovery is not None:
                add(identity, first, recovery * STEP + 60, recovered=True)

    resends = draw(st.lists(st.integers(0, len(notifications) - 1), max_size=4))
    arrival = draw(st.permutations([*range(len(notifications)), *resends]))
    return Scenario(notifications=notifications, resends=resends, arrival=list(arrival))


# What is compared: the alarm's identity without the endpoint, then its lifecycle state.
PROJECTION = """
SELECT p.policy_id, i.instance_id, a.metric_name, a.first_occurred_at,
       a.status, a.recovered_at, a.superseded, a.trigger_seen, a.notification_count,
       a.current_value, a.duration_seconds, a.last_notified_at, a.flapping
  FROM alarms_alarm a
  LEFT JOIN alarms_policy p ON p.id = a.policy_id
  LEFT JOIN alarms_instance i ON i.id = a.instance_id
 WHERE a.endpoint_id = %s
 ORDER BY 1, 2, 3, 4
"""


def _utc(local: datetime) -> datetime:
    return (local - LOCAL_OFFSET).replace(tzinfo=UTC)


def expected_alarms(notifications: list[Notification]) -> list[tuple[Any, ...]]:
    """The pairing rules (DESIGN §3) as a model, in ``PROJECTION``'s shape."""
    occurrences: dict[tuple[str, str, datetime], list[Notification]] = {}
    for n in notifications:
        occurrences.setdefault(n.occurrence, []).append(n)
    rows = []
    for (policy, instance, first), group in sorted(occurrences.items()):
        recovery = next((n for n in group if n.recovered), None)
        siblings = [f for (p, i, f) in occurrences if (p, i) == (policy, instance)]
        newer = any(other > first for other in siblings)
        episodes = sum(1 for other in siblings if first - FLAPPING_WINDOW < other <= first)
        top = max(group, key=lambda n: n.rank)  # the snapshot comes from the latest notification
        recovered_at = _utc(first + timedelta(seconds=recovery.duration)) if recovery else None
        rows.append(
            (
                policy,
                instance,
                "disk_usage",
                _utc(first),
                "recovered" if recovery or newer else "firing",
                recovered_at,
                recovery is None and newer,  # rule 5: closed by a newer occurrence
                any(not n.recovered for n in group),
                len(group),
                top.value,
                top.duration,
                _utc(first + timedelta(seconds=top.duration)),
                episodes >= FLAPPING_EPISODES,
            )
        )
    return rows


def test_any_arrival_order_with_concurrent_workers_ends_like_tencents_order_one_by_one(
    callback_env: dict[str, str],
    callback_web: WebServer,
    shared_worker: CeleryWorker,
    celery_worker_factory: Callable[..., CeleryWorker],
    endpoint_pool: EndpointPool,
) -> None:
    db = callback_env["DATABASE_URL"]
    # The session's shared worker plus this one: two worker processes, concurrency 2 each.
    celery_worker_factory("lifecycle", concurrency=2, env=callback_env)

    def post_all(path: str, bodies: list[bytes], *, one_by_one: int | None = None) -> None:
        """POST in order; with ``one_by_one`` (the endpoint id), each is processed before the
        next is sent."""
        for sent, body in enumerate(bodies, 1):
            response = post_callback(callback_web, path, body)
            assert response.status_code == 200, (response.status_code, response.text[:300])
            if one_by_one is not None:
                wait_deliveries_settled(db, one_by_one, sent, timeout=20)

    @settings(
        max_examples=8,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(scenarios())
    def check(scenario: Scenario) -> None:
        (path_a, endpoint_a), (path_b, endpoint_b) = endpoint_pool.take(), endpoint_pool.take()
        distinct, total = len(scenario.notifications), scenario.total
        expected_statuses = {"processed": distinct}
        if total > distinct:
            expected_statuses["duplicate"] = total - distinct

        # B first: the workers race through it while A is fed one callback at a time.
        post_all(path_b, scenario.shuffled())
        post_all(path_a, scenario.canonical(), one_by_one=endpoint_a)
        assert wait_deliveries_settled(db, endpoint_a, total) == expected_statuses
        assert wait_deliveries_settled(db, endpoint_b, total) == expected_statuses

        one_by_one = psql(db, PROJECTION, endpoint_a)
        concurrent = psql(db, PROJECTION, endpoint_b)
        assert concurrent == one_by_one, "random order + concurrent workers differ"
        assert one_by_one == expected_alarms(scenario.notifications)

    check()
