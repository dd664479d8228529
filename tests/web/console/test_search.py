"""Search finds what operators see: Chinese display names, IPs in dimensions, namespaces; the
region filter ignores letter case. The board, the API and the admin share one search."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import User

from alarms.services.endpoints import NewEndpoint
from tests.support.accounts import client_for
from tests.support.factories import DEFAULT_FIRST_OCCURRED_AT, apply_alarm


def board_ids(user: User, **params: str) -> set[int]:
    response = client_for(user).get("/", params)
    assert response.status_code == 200
    return {alarm.pk for alarm in response.context["alarms"]}


def api_ids(user: User, **params: str) -> set[int]:
    body = client_for(user).get("/api/v1/alarms/", params).json()
    return {row["id"] for row in body["results"]}


def test_chinese_display_names_are_found(endpoint: NewEndpoint, viewer: User) -> None:
    ping = apply_alarm(
        endpoint.endpoint,
        kind="event",
        metric_name="",
        metric_display_name="",
        event_name="ping_unreachable",
        event_display_name="ping不可达",
    )
    cpu = apply_alarm(endpoint.endpoint, metric_display_name="CPU利用率")
    reboot = apply_alarm(
        endpoint.endpoint,
        kind="event",
        metric_name="",
        metric_display_name="",
        event_name="guest_reboot",
        event_display_name="机器重启",
    )
    assert board_ids(viewer, q="ping不可达") == {ping.pk}
    assert board_ids(viewer, q="利用率") == {cpu.pk}
    assert board_ids(viewer, q="机器重启") == {reboot.pk}
    assert api_ids(viewer, q="利用率") == {cpu.pk}


def test_an_ip_inside_obj_detail_or_dimensions_is_found(
    endpoint: NewEndpoint, viewer: User
) -> None:
    nested = apply_alarm(
        endpoint.endpoint,
        dimensions={"unInstanceId": "ins-a", "objDetail": {"lanIp": "10.8.1.23", "wanIp": ""}},
    )
    flat = apply_alarm(endpoint.endpoint, dimensions={"vip": "172.16.5.9", "port": "3306"})
    apply_alarm(endpoint.endpoint, dimensions={"unInstanceId": "ins-other"})
    assert board_ids(viewer, q="10.8.1.23") == {nested.pk}
    assert board_ids(viewer, q="172.16.5.9") == {flat.pk}
    assert api_ids(viewer, q="10.8.1.23") == {nested.pk}


def test_a_namespace_is_found_by_free_text(endpoint: NewEndpoint, viewer: User) -> None:
    cdb = apply_alarm(endpoint.endpoint, namespace="qce/cdb")
    apply_alarm(endpoint.endpoint, namespace="qce/cvm")
    assert board_ids(viewer, q="qce/cdb") == {cdb.pk}
    assert board_ids(viewer, q="QCE/CDB") == {cdb.pk}


def test_search_text_follows_the_latest_push(endpoint: NewEndpoint, viewer: User) -> None:
    first = apply_alarm(
        endpoint.endpoint, instance_id="ins-moving", dimensions={"objDetail": {"ip": "10.1.1.1"}}
    )
    # A repeat of the same lifecycle, later: its dimensions replace the earlier ones.
    apply_alarm(
        endpoint.endpoint,
        instance_id="ins-moving",
        first_occurred_at=first.first_occurred_at,
        duration_seconds=600,
        dimensions={"objDetail": {"ip": "10.2.2.2"}},
    )
    assert board_ids(viewer, q="10.2.2.2") == {first.pk}
    assert board_ids(viewer, q="10.1.1.1") == set()


def test_text_that_matches_nothing_finds_nothing(endpoint: NewEndpoint, viewer: User) -> None:
    apply_alarm(endpoint.endpoint, metric_display_name="CPU利用率")
    assert board_ids(viewer, q="磁盘") == set()


def test_region_filter_ignores_letter_case(endpoint: NewEndpoint, viewer: User) -> None:
    gz = apply_alarm(endpoint.endpoint, region="ap-guangzhou")
    sh = apply_alarm(endpoint.endpoint, region="ap-shanghai")
    short = apply_alarm(
        endpoint.endpoint, region="gz", first_occurred_at=DEFAULT_FIRST_OCCURRED_AT - timedelta(1)
    )
    assert board_ids(viewer, region="AP-GUANGZHOU") == {gz.pk}
    assert board_ids(viewer, region="GZ") == {short.pk}
    assert board_ids(viewer, region="Ap-Shanghai,ap-guangzhou") == {gz.pk, sh.pk}
    assert api_ids(viewer, region="AP-GUANGZHOU") == {gz.pk}
    # Exact, not a substring: "guangzhou" alone is not a region.
    assert board_ids(viewer, region="guangzhou") == set()
