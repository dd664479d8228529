"""DESIGN §3.4 for Alertmanager (§6): any permutation of the same bodies ends in the same alarms.

Hypothesis builds a few alert sends (1–3 rules × 1–3 hosts, one or two ``startsAt`` per pair,
firing or resolved at some ``endsAt``) and groups them into 1–4 webhook bodies the way one
aggregation group is re-sent: a body carries several alerts, firing and resolved together, and a
later body may repeat an alert with another one added. Each body is stored as a delivery and run
through the real pipeline (``store_delivery`` + ``run_delivery``) in several orders, with some
deliveries reprocessed; every order must end in the same alarms, and in the alarms the bodies
describe (one per label set and ``startsAt``, recovered by its latest ``endsAt``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from alarms.choices import DeliveryStatus
from alarms.models import Alarm
from alarms.pipeline.process import reprocess, run_delivery
from alarms.pipeline.store import store_delivery
from alarms.services.endpoints import NewEndpoint, create_callback_endpoint

pytestmark = pytest.mark.django_db

# Every column the lifecycle writes, the snapshot included; not ids or wall-clock timestamps.
PROJECTED_FIELDS = (
    "status",
    "recovered_at",
    "superseded",
    "trigger_seen",
    "notification_count",
    "flapping",
    "kind",
    "level",
    "namespace",
    "region",
    "dimensions",
    "metric_name",
    "metric_display_name",
    "current_value",
    "last_notified_at",
    "duration_seconds",
    "snapshot_rank",
    "extras",
    "search_text",
    "policy__name",
    "instance__instance_id",
)

RULES = {"HostHighCpuLoad": "warning", "HostOutOfMemory": "critical", "HostDiskFull": "warning"}
HOSTS = ("10.0.0.1:9100", "10.0.0.2:9100", "10.0.0.3:9100")
START = datetime(2026, 12, 3, 7, 52, 15, 123456, tzinfo=UTC)
ZERO = "0001-01-01T00:00:00Z"
GROUP_KEY = '{}/{}:{job="node"}'


def rfc3339(when: datetime) -> str:
    # Go writes nanoseconds; the parser truncates them to microseconds.
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "789Z"


@dataclass(frozen=True)
class Send:
    """One alert as one body carries it."""

    rule: str
    host: str
    starts: datetime
    ends: datetime | None  # None while firing, or a resolved alert with the zero time
    resolved: bool
    value: str  # quoted in the summary: Prometheus re-renders annotations on every send

    @property
    def lifecycle(self) -> tuple[str, str, datetime]:
        return (self.rule, self.host, self.starts)

    def alert(self) -> dict[str, Any]:
        labels = {
            "alertname": self.rule,
            "instance": self.host,
            "job": "node",
            "severity": RULES[self.rule],
            "region": "ap-shanghai",
        }
        return {
            "status": "resolved" if self.resolved else "firing",
            "labels": labels,
            "annotations": {
                "summary": f"{self.rule} on {self.host}",
                "description": f"value is {self.value}",
            },
            "startsAt": rfc3339(self.starts),
            "endsAt": rfc3339(self.ends) if self.ends is not None else ZERO,
            "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=up",
            "fingerprint": hashlib.sha256(f"{self.rule}/{self.host}".encode()).hexdigest()[:16],
        }


def webhook_body(sends: list[Send]) -> bytes:
    """The v4 body Alertmanager POSTs for one re-send of the ``job="node"`` group."""
    alerts = [send.alert() for send in sends]
    common = dict(set.intersection(*(set(alert["labels"].items()) for alert in alerts)))
    payload = {
        "version": "4",
        "groupKey": GROUP_KEY,
        "truncatedAlerts": 0,
        "status": "firing" if any(not send.resolved for send in sends) else "resolved",
        "receiver": "alarmhub",
        "groupLabels": {"job": "node"},
        "commonLabels": dict(sorted(common.items())),
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.com:9093",
        "alerts": alerts,
    }
    return json.dumps(payload).encode()


@st.composite
def sends(draw: Callable[..., Any]) -> list[Send]:
    """A pool of alert sends: 1–3 rules × 1–3 hosts, one or two occurrences per pair."""
    rules = draw(st.lists(st.sampled_from(sorted(RULES)), min_size=1, max_size=3, unique=True))
    hosts = draw(st.lists(st.sampled_from(HOSTS), min_size=1, max_size=3, unique=True))
    pool: list[Send] = []
    for rule, host in itertools.product(rules, hosts):
        # Occurrences 0–40 minutes apart: a newer one supersedes, two within the hour flap.
        offsets = draw(st.lists(st.sampled_from((0, 20, 40)), min_size=1, max_size=2, unique=True))
        for offset in offsets:
            starts = START + timedelta(minutes=offset)
            for _ in range(draw(st.integers(1, 3))):
                resolved = draw(st.booleans())
                minutes = draw(st.integers(1, 30))
                zero_end = resolved and draw(st.integers(0, 5)) == 0
                ends = None if not resolved or zero_end else starts + timedelta(minutes=minutes)
                value = draw(st.sampled_from(("91", "97.5")))
                pool.append(Send(rule, host, starts, ends, resolved, value))
    return pool


@st.composite
def bodies(draw: Callable[..., Any]) -> list[list[Send]]:
    """1–4 bodies of one group; each holds an alert (one label set) at most once."""
    pool = draw(sends())
    indexes = st.lists(
        st.sampled_from(range(len(pool))),
        min_size=1,
        max_size=4,
        unique_by=lambda i: (pool[i].rule, pool[i].host),
    )
    return [[pool[i] for i in draw(indexes)] for _ in range(draw(st.integers(1, 4)))]


@contextmanager
def rolled_back() -> Iterator[None]:
    """Everything written inside is undone, so each run starts from the same empty state."""
    savepoint = transaction.savepoint()
    try:
        yield
    finally:
        transaction.savepoint_rollback(savepoint)


def deliver(endpoint_id: int, body: bytes) -> int:
    stored = store_delivery(
        endpoint_id=endpoint_id,
        body=body,
        session_id="",
        remote_addr="10.0.0.9",
        content_type="application/json",
        user_agent="Alertmanager/0.28.1",
    )
    if not stored.duplicate:
        assert run_delivery(stored.delivery_id) == DeliveryStatus.PROCESSED
    return stored.delivery_id


def run(endpoint_id: int, payloads: list[bytes], order: list[int], reruns: int = 0) -> Any:
    """Deliver the bodies in ``order``, reprocess the first ``reruns``, and snapshot the alarms."""
    with rolled_back():
        delivered = [deliver(endpoint_id, payloads[index]) for index in order]
        reprocess(delivered[:reruns])
        return {
            (row.pop("fingerprint"), row.pop("first_occurred_at")): row
            for row in Alarm.objects.values("fingerprint", "first_occurred_at", *PROJECTED_FIELDS)
        }


def expected_alarms(groups: list[list[Send]]) -> dict[tuple[str, str, datetime], Any]:
    """What the bodies say, worked out without the lifecycle code (DESIGN §3 rules 1–5)."""
    distinct = {webhook_body(group): group for group in groups}.values()  # duplicates count once
    seen: dict[tuple[str, str, datetime], list[Send]] = {}
    for group in distinct:
        for send in group:
            seen.setdefault(send.lifecycle, []).append(send)
    expected = {}
    for (rule, host, starts), received in seen.items():
        resolved = [send for send in received if send.resolved]
        newer = any(r == rule and h == host and s > starts for r, h, s in seen)
        ends = [send.ends for send in resolved if send.ends is not None]
        expected[(rule, host, starts)] = {
            "status": "recovered" if resolved or newer else "firing",
            "superseded": not resolved and newer,
            "recovered_at": max(ends, default=None),
            "notification_count": len(received),
        }
    return expected


@pytest.fixture
def am_endpoint(db: None) -> NewEndpoint:
    return create_callback_endpoint(name="prometheus", source="alertmanager", timezone="UTC")


@pytest.fixture
def lifecycle_settings(settings: Any) -> None:
    # Two occurrences within an hour flap, so the generated histories exercise flapping too.
    settings.ALARMHUB_FLAPPING_EPISODES = 2
    settings.ALARMHUB_FLAPPING_WINDOW_SECONDS = 3600


@pytest.mark.usefixtures("lifecycle_settings")
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(groups=bodies(), data=st.data())
def test_any_order_of_alertmanager_bodies_ends_in_the_same_alarms(
    am_endpoint: NewEndpoint, groups: list[list[Send]], data: st.DataObject
) -> None:
    payloads = [webhook_body(group) for group in groups]
    in_order = list(range(len(payloads)))
    shuffled = data.draw(st.permutations(in_order), label="arrival order")
    reruns = data.draw(st.integers(0, len(payloads)), label="reprocessed")
    endpoint_id = am_endpoint.endpoint.pk

    expected = run(endpoint_id, payloads, in_order)
    note(f"in order: {expected}")
    assert run(endpoint_id, payloads, in_order[::-1]) == expected
    assert run(endpoint_id, payloads, shuffled, reruns=reruns) == expected

    # And the alarms are the ones the bodies describe, not merely the same ones every time.
    described = expected_alarms(groups)
    by_identity: dict[tuple[str, str], set[str]] = {}
    for (fingerprint, first_occurred_at), row in expected.items():
        rule, host = row["policy__name"], row["instance__instance_id"]
        by_identity.setdefault((rule, host), set()).add(fingerprint)
        want = described[(rule, host, first_occurred_at)]
        assert {key: row[key] for key in want} == want, (rule, host, first_occurred_at)
    assert len(expected) == len(described)
    # One fingerprint per label set, and no two label sets (two hosts of one rule) share one.
    assert all(len(fingerprints) == 1 for fingerprints in by_identity.values())
    assert len(set.union(*by_identity.values())) == len(by_identity)


def test_two_hosts_of_one_rule_stay_two_alarms_in_every_order_of_the_group_resends(
    am_endpoint: NewEndpoint,
) -> None:
    ends = START + timedelta(minutes=8)
    one_firing = Send("HostHighCpuLoad", HOSTS[0], START, None, False, "91")
    one_resolved = Send("HostHighCpuLoad", HOSTS[0], START, ends, True, "91")
    two_firing = Send("HostHighCpuLoad", HOSTS[1], START, None, False, "97.5")
    three_firing = Send("HostOutOfMemory", HOSTS[2], START, None, False, "91")
    payloads = [
        webhook_body([one_firing, two_firing]),
        webhook_body([one_resolved, two_firing]),  # one host recovers, the other still fires
        webhook_body([one_resolved, two_firing, three_firing]),  # the group re-sent, one added
    ]
    endpoint_id = am_endpoint.endpoint.pk

    outcomes = [
        run(endpoint_id, payloads, list(order)) for order in itertools.permutations(range(3))
    ]

    assert all(outcome == outcomes[0] for outcome in outcomes[1:])
    rows = {(r["policy__name"], r["instance__instance_id"]): r for r in outcomes[0].values()}
    assert len({fingerprint for fingerprint, _ in outcomes[0]}) == 3
    one, two = rows[("HostHighCpuLoad", HOSTS[0])], rows[("HostHighCpuLoad", HOSTS[1])]
    assert (one["status"], one["recovered_at"], one["notification_count"]) == ("recovered", ends, 3)
    assert (two["status"], two["recovered_at"], two["notification_count"]) == ("firing", None, 3)
    assert rows[("HostOutOfMemory", HOSTS[2])]["status"] == "firing"
