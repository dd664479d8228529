"""Read-only lists: policies, instances, callback endpoints (without secrets), deliveries."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from alarms import permissions
from alarms.choices import DeliveryStatus
from alarms.models import Alarm, CallbackEndpoint, Delivery
from tests.support.factories import make_delivery, make_endpoint
from tests.web.api.conftest import Account, make_account


def test_policies_and_instances_list_what_alarms_created(
    viewer: APIClient, alarm_factory: Callable[..., Alarm]
) -> None:
    alarm_factory(instance_id="ins-a", instance_name="web-a")
    alarm_factory(instance_id="ins-b", instance_name="web-b", policy_id="policy-2")

    policies = viewer.get("/api/v1/policies/").json()["results"]
    instances = viewer.get("/api/v1/instances/").json()["results"]

    assert sorted(p["policy_id"] for p in policies) == ["policy-2", "policy-test0001"]
    assert {p["name"] for p in policies} == {"CPU high"}
    assert [i["instance_id"] for i in instances] == ["ins-b", "ins-a"]  # newest first
    assert instances[0]["dimensions"] == {"unInstanceId": "ins-b"}
    filtered = viewer.get("/api/v1/instances/", {"instance_id": ["ins-a", "x"]}).json()
    assert [i["name"] for i in filtered["results"]] == ["web-a"]
    one = viewer.get(f"/api/v1/policies/{policies[0]['id']}/")
    assert one.status_code == 200
    assert one.json()["last_seen_at"].endswith("Z")


def test_endpoints_list_never_shows_a_secret(viewer: APIClient, db: None) -> None:
    plain = make_endpoint(name="plain")
    guarded = make_endpoint(
        name="guarded", basic_auth_username="tencent", basic_auth_password="s3cret-pass"
    )

    response = viewer.get("/api/v1/endpoints/")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["name"] for r in rows] == ["plain", "guarded"]
    assert set(rows[0]) == {
        "id",
        "name",
        "timezone",
        "is_active",
        "token_hint",
        "basic_auth_enabled",
        "created_at",
    }
    assert [r["basic_auth_enabled"] for r in rows] == [False, True]
    assert rows[0]["token_hint"] == plain.token[:6]
    text = response.content.decode()
    for new in (plain, guarded):
        endpoint = CallbackEndpoint.objects.get(pk=new.endpoint.pk)
        assert new.token not in text
        assert endpoint.token_hash not in text
    assert guarded.endpoint.basic_auth_password_hash not in text
    assert "s3cret-pass" not in text
    assert "tencent" not in text  # the Basic auth user name stays private too


def test_endpoints_filter_by_active_flag(viewer: APIClient, db: None) -> None:
    make_endpoint(name="on")
    make_endpoint(name="off", is_active=False)

    rows = viewer.get("/api/v1/endpoints/", {"is_active": "false"}).json()["results"]

    assert [r["name"] for r in rows] == ["off"]
    assert viewer.get("/api/v1/endpoints/", {"is_active": "nope"}).status_code == 400


@pytest.fixture
def deliveries(api_endpoint: CallbackEndpoint) -> dict[str, Delivery]:
    ok = make_delivery(api_endpoint, body='{"sessionId": "ok", "text": "中文"}'.encode())
    bad = make_delivery(api_endpoint, body=b'{"x": "\xff\xfe"}')
    Delivery.objects.filter(pk=bad.pk).update(status=DeliveryStatus.FAILED, error="not an alarm")
    other = make_delivery(make_endpoint(name="other").endpoint)
    pruned = make_delivery(api_endpoint)
    Delivery.objects.filter(pk=pruned.pk).update(body=None)
    return {"ok": ok, "bad": bad, "other": other, "pruned": pruned}


def test_deliveries_show_the_body_as_text_newest_first(
    accounts: dict[str, Account], deliveries: dict[str, Delivery]
) -> None:
    # Staff with a role: staff alone is refused (tests/web/api/test_permissions.py).
    staff = make_account("staff-viewer", groups=(permissions.VIEWER,), staff=True).client()

    rows = staff.get("/api/v1/deliveries/").json()["results"]

    by_id = {row["id"]: row for row in rows}
    assert [row["id"] for row in rows] == sorted(by_id, reverse=True)
    assert by_id[deliveries["ok"].pk]["body"] == '{"sessionId": "ok", "text": "中文"}'
    assert by_id[deliveries["bad"].pk]["body"] == '{"x": "\ufffd\ufffd"}'
    assert by_id[deliveries["pruned"].pk]["body"] is None
    failed = by_id[deliveries["bad"].pk]
    assert (failed["status"], failed["error"]) == ("failed", "not an alarm")
    assert {"received_at", "session_id", "attempts", "alarm", "endpoint"} <= set(failed)


def test_deliveries_filter_by_status_and_endpoint(
    accounts: dict[str, Account], deliveries: dict[str, Delivery]
) -> None:
    staff = accounts["superuser"].client()

    failed = staff.get("/api/v1/deliveries/", {"status": "failed"}).json()["results"]
    other = deliveries["other"]
    by_endpoint = staff.get("/api/v1/deliveries/", {"endpoint": other.endpoint_id}).json()

    assert [row["id"] for row in failed] == [deliveries["bad"].pk]
    assert [row["id"] for row in by_endpoint["results"]] == [other.pk]
    assert list(staff.get("/api/v1/deliveries/", {"status": "lost"}).json()) == ["status"]
    assert list(staff.get("/api/v1/deliveries/", {"endpoint": "x"}).json()) == ["endpoint"]


def test_deliveries_are_staff_only(
    accounts: dict[str, Account], deliveries: dict[str, Delivery]
) -> None:
    for role in ("norole", "viewer", "operator"):
        assert accounts[role].client().get("/api/v1/deliveries/").status_code == 403
    detail = f"/api/v1/deliveries/{deliveries['ok'].pk}/"
    assert accounts["operator"].client().get(detail).status_code == 403
    assert accounts["staff"].client().get(detail).status_code == 403  # staff without a role
    assert accounts["superuser"].client().get(detail).status_code == 200
