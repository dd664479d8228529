"""The two search-text formats: the old one unchanged, the full one marked and names first."""

from __future__ import annotations

from typing import Any

from alarms.services.search_text import (
    MAX_SEARCH_TEXT,
    SEARCH_TEXT_MARK,
    SearchNames,
    alarm_search_text,
)

SNAPSHOT: dict[str, Any] = {
    "metric_display_name": "磁盘使用率",
    "event_display_name": "",
    "namespace": "qce/cvm",
    "region": "ap-guangzhou",
    "dimensions": {"unInstanceId": "ins-1", "objDetail": {"lanIp": "10.0.0.7"}},
}


def test_without_names_the_old_format_is_unchanged() -> None:
    assert alarm_search_text(**SNAPSHOT) == "磁盘使用率 qce/cvm ap-guangzhou ins-1 10.0.0.7"


def test_with_names_the_text_is_marked_and_holds_the_names_first() -> None:
    names = SearchNames(
        metric_name="disk_usage",
        policy_name="磁盘告警",
        policy_id="policy-1",
        instance_id="ins-1",
        instance_name="web-1",
    )
    text = alarm_search_text(**SNAPSHOT, names=names)
    assert text.split(SEARCH_TEXT_MARK) == [
        "",
        "disk_usage",
        "磁盘告警",
        "policy-1",
        "ins-1",  # once, although the dimensions repeat it
        "web-1",
        "磁盘使用率",
        "qce/cvm",
        "ap-guangzhou",
        "10.0.0.7",
    ]


def test_the_cut_shortens_the_dimensions_never_the_names() -> None:
    long_dimensions = {f"k{i}": f"value-{i:05d}" for i in range(1000)}
    names = SearchNames(policy_name="policy name", instance_id="ins-kept")
    text = alarm_search_text(**{**SNAPSHOT, "dimensions": long_dimensions}, names=names)
    assert len(text) == MAX_SEARCH_TEXT
    assert text.startswith(f"{SEARCH_TEXT_MARK}policy name{SEARCH_TEXT_MARK}ins-kept")


def test_the_mark_inside_a_value_cannot_fake_a_part_boundary() -> None:
    names = SearchNames(policy_name=f"a{SEARCH_TEXT_MARK}b")
    text = alarm_search_text(**SNAPSHOT, names=names)
    assert text.split(SEARCH_TEXT_MARK)[1] == "a b"
    assert alarm_search_text(**SNAPSHOT, names=SearchNames()).startswith(SEARCH_TEXT_MARK)
