"""Search at scale keeps its answers: short and Chinese terms, a term matching nearly every
alarm, and rows in either search-text format (issue 16). The search is one predicate on the
alarm table; rows in the old format are still found through their policy and instance."""

from __future__ import annotations

from django.contrib.auth.models import User

from alarms.models import Alarm
from alarms.services.endpoints import NewEndpoint
from alarms.services.lifecycle import search_text_of
from alarms.services.search_text import SEARCH_TEXT_MARK
from tests.support.accounts import client_for
from tests.support.factories import apply_alarm


def api_ids(user: User, **params: str) -> list[int]:
    body = client_for(user).get("/api/v1/alarms/", params).json()
    return [row["id"] for row in body["results"]]


def rewrite_in_full_format(*alarms: Alarm) -> None:
    """What the lifecycle writes with the names (and what benchmarks.seed writes)."""
    for alarm in Alarm.objects.filter(pk__in=[a.pk for a in alarms]).select_related(
        "policy", "instance"
    ):
        alarm.search_text = search_text_of(alarm)
        alarm.save(update_fields=["search_text"])


def test_two_character_terms_are_found_chinese_and_latin(
    endpoint: NewEndpoint, viewer: User
) -> None:
    disk = apply_alarm(endpoint.endpoint, metric_display_name="磁盘使用率")
    cdb = apply_alarm(
        endpoint.endpoint, namespace="qce/cdb", policy_id="policy-cdb", policy_name="数据库告警"
    )
    apply_alarm(endpoint.endpoint, metric_display_name="CPU利用率")
    assert set(api_ids(viewer, q="磁盘")) == {disk.pk}
    assert set(api_ids(viewer, q="db")) == {cdb.pk}
    assert set(api_ids(viewer, q="数据")) == {cdb.pk}  # a Chinese policy name, joined
    rewrite_in_full_format(disk, cdb)
    assert set(api_ids(viewer, q="磁盘")) == {disk.pk}
    assert set(api_ids(viewer, q="DB")) == {cdb.pk}
    assert set(api_ids(viewer, q="数据")) == {cdb.pk}  # now from the row's own text


def test_a_term_matching_nearly_every_alarm_pages_newest_first(
    endpoint: NewEndpoint, viewer: User
) -> None:
    matching = [apply_alarm(endpoint.endpoint) for _ in range(53)]  # all in qce/cvm
    apply_alarm(endpoint.endpoint, namespace="custom/app", instance_id="custom-1")
    rewrite_in_full_format(*matching[::2])  # a table with both formats, as after an upgrade
    newest = sorted(matching, key=lambda a: (a.first_occurred_at, a.pk), reverse=True)

    body = client_for(viewer).get("/api/v1/alarms/", {"q": "qce"}).json()
    second = client_for(viewer).get(body["next"]).json()

    assert [row["id"] for row in body["results"]] == [a.pk for a in newest[:50]]
    assert [row["id"] for row in second["results"]] == [a.pk for a in newest[50:]]


def test_full_format_rows_are_found_by_every_joined_name(
    endpoint: NewEndpoint, viewer: User
) -> None:
    wanted = apply_alarm(
        endpoint.endpoint,
        policy_id="policy-disk",
        policy_name="Disk full on web",
        instance_id="ins-findme",
        instance_name="订单服务-1",
        metric_name="disk_usage_pct",
    )
    event = apply_alarm(
        endpoint.endpoint,
        kind="event",
        metric_name="",
        metric_display_name="",
        event_name="guest_reboot",
        event_display_name="机器重启",
    )
    other = apply_alarm(endpoint.endpoint, policy_id="policy-other", policy_name="Other")
    rewrite_in_full_format(wanted, event, other)
    assert Alarm.objects.filter(search_text__startswith=SEARCH_TEXT_MARK).count() == 3
    for term in ("Disk full", "policy-disk", "ins-findme", "订单服务", "usage_pct"):
        assert api_ids(viewer, q=term) == [wanted.pk], term
    assert api_ids(viewer, q="guest_reboot") == [event.pk]
    assert api_ids(viewer, q="机器") == [event.pk]


def test_a_term_never_matches_across_two_parts_of_the_full_format(
    endpoint: NewEndpoint, viewer: User
) -> None:
    alarm = apply_alarm(endpoint.endpoint, namespace="qce/cdb", region="ap-shanghai")
    rewrite_in_full_format(alarm)
    # Each part on its own matches; the two glued together (as " ".join would) do not.
    assert api_ids(viewer, q="qce/cdb") == [alarm.pk]
    assert api_ids(viewer, q="cdb ap-shanghai") == []


def test_a_full_format_row_keeps_the_names_it_was_written_with(
    endpoint: NewEndpoint, viewer: User
) -> None:
    """The one difference from joining at read time: a policy renamed later finds the alarms
    it raised since under the new name; older ones keep the name they fired with."""
    alarm = apply_alarm(endpoint.endpoint, policy_id="policy-r", policy_name="Old name")
    rewrite_in_full_format(alarm)
    assert alarm.policy is not None
    alarm.policy.name = "New name"
    alarm.policy.save(update_fields=["name"])
    assert api_ids(viewer, q="Old name") == [alarm.pk]
    assert api_ids(viewer, q="New name") == []
