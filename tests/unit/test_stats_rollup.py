"""Which statistics requests the hourly roll-ups answer, and how a sample's lists are scaled
(``selectors.stats_rollup``; the sums themselves are checked on PostgreSQL in
tests/integration/test_stats_rollup_postgres.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from alarms.selectors.stats_rollup import (
    RollupFilter,
    rollup_filter,
    scale_lists,
)

UNUSED: dict[str, Any] = {
    "namespace": [],
    "region": [],
    "status": [],
    "policy_id": [],
    "instance_id": [],
    "acknowledged": "",
    "stale": "",
    "kind": [],
    "source": [],
    "level": [],
    "first_occurred_after": datetime(2026, 12, 1, tzinfo=UTC),
    "first_occurred_before": None,
    "q": "",
}


def test_time_namespace_and_status_are_answered_from_the_roll_ups() -> None:
    filters = {**UNUSED, "namespace": ["qce/cvm", "qce/cdb", "qce/cvm"], "status": ["firing"]}
    assert rollup_filter(filters) == RollupFilter(
        namespaces=("qce/cdb", "qce/cvm"), statuses=("firing",)
    )
    assert rollup_filter(UNUSED) == RollupFilter(namespaces=(), statuses=())


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("region", ["ap-guangzhou"]),
        ("policy_id", ["policy-1"]),
        ("acknowledged", False),  # "unacknowledged only" is a filter, not an empty value
        ("stale", True),
        ("q", "cpu"),
        ("level", ["Serious"]),
        ("source", ["alertmanager"]),
    ],
)
def test_any_other_filter_reads_the_alarms(name: str, value: Any) -> None:
    assert rollup_filter({**UNUSED, name: value}) is None


def test_without_the_filters_the_alarms_are_read() -> None:
    assert rollup_filter(None) is None


def test_the_sample_counts_are_scaled_to_the_window() -> None:
    parts: dict[str, list[dict[str, Any]]] = {
        "by_policy": [{"alarms": 7, "firing": 2, "mtta_seconds": 5.0}],
        "noisiest_instances": [{"alarms": 3, "notifications": None}],
        "flapping": [{"alarms": 5, "flapping_alarms": 1}],
    }
    scale_lists(parts, 12.5)
    assert parts == {
        "by_policy": [{"alarms": 88, "firing": 25, "mtta_seconds": 5.0}],
        "noisiest_instances": [{"alarms": 38, "notifications": 0}],
        "flapping": [{"alarms": 62, "flapping_alarms": 12}],
    }


def test_rows_the_sample_saw_less_than_three_times_are_left_out() -> None:
    rows = [
        {"alarms": n, "firing": 0, "notifications": 0, "flapping_alarms": 0} for n in (4, 3, 2, 1)
    ]
    parts = {
        key: [dict(row) for row in rows] for key in ("by_policy", "noisiest_instances", "flapping")
    }
    scale_lists(parts, 10.0)
    shown = {key: [row["alarms"] for row in found] for key, found in parts.items()}
    assert shown == {key: [40, 30] for key in parts}
    # A "sample" that is the whole window keeps every row.
    whole = {key: [dict(row) for row in rows] for key in parts}
    scale_lists(whole, 1.0)
    assert [row["alarms"] for row in whole["flapping"]] == [4, 3, 2, 1]
