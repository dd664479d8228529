"""Per-endpoint storage quota (issue 14, finding 15): 429 with retCode 1, nothing stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django.test import Client

from alarms.models import AuditEntry, CallbackEndpoint, Delivery
from alarms.selectors.endpoints import forget_endpoint
from alarms.services.audit import AuditAction
from alarms.services.endpoints import NewEndpoint
from tests.support.factories import make_endpoint, post_callback, tencent_payload
from tests.web.ops.test_metrics import scrape

pytestmark = pytest.mark.django_db

# The middle of a one-minute window, so no test straddles a window boundary.
NOW = 1_800_000_030.0


@pytest.fixture
def clock() -> Iterator[mock.MagicMock]:
    with mock.patch("time.time", return_value=NOW) as fake:
        yield fake


def _limit(endpoint: NewEndpoint, per_minute: int | None) -> None:
    CallbackEndpoint.objects.filter(pk=endpoint.endpoint.pk).update(
        max_deliveries_per_minute=per_minute
    )
    forget_endpoint(endpoint.endpoint.token_hash)  # the quota is cached with the endpoint


def _post(client: Client, endpoint: NewEndpoint) -> Any:
    return post_callback(client, endpoint.path, tencent_payload())


def test_callbacks_past_the_endpoint_quota_get_429_with_ret_code_1_and_store_nothing(
    client: Client, endpoint: NewEndpoint, clock: Any
) -> None:
    _limit(endpoint, 2)

    assert [_post(client, endpoint).status_code for _ in range(2)] == [200, 200]
    refused = _post(client, endpoint)

    assert refused.status_code == 429
    body = refused.json()
    assert body["retCode"] == 1  # Tencent retries anything but retCode 0
    assert "quota" in body["error"]
    assert 0 < int(refused["Retry-After"]) <= 61
    assert Delivery.objects.count() == 2


def test_the_quota_is_per_minute_window(client: Client, endpoint: NewEndpoint, clock: Any) -> None:
    _limit(endpoint, 1)
    assert _post(client, endpoint).status_code == 200
    assert _post(client, endpoint).status_code == 429

    clock.return_value = NOW + 60

    assert _post(client, endpoint).status_code == 200
    assert Delivery.objects.count() == 2


def test_the_quota_is_per_endpoint(client: Client, endpoint: NewEndpoint, clock: Any) -> None:
    other = make_endpoint(name="other")
    _limit(endpoint, 1)
    _limit(other, 1)

    assert _post(client, endpoint).status_code == 200
    assert _post(client, other).status_code == 200
    assert _post(client, endpoint).status_code == 429


def test_the_setting_is_the_default_and_the_endpoint_value_wins(
    client: Client, endpoint: NewEndpoint, settings: Any, clock: Any
) -> None:
    settings.ALARMHUB_MAX_DELIVERIES_PER_MINUTE = 1
    other = make_endpoint(name="generous")
    _limit(other, 3)

    assert _post(client, endpoint).status_code == 200
    assert _post(client, endpoint).status_code == 429
    assert [_post(client, other).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_unlimited_when_neither_the_endpoint_nor_the_setting_sets_a_quota(
    client: Client, endpoint: NewEndpoint, settings: Any, clock: Any
) -> None:
    settings.ALARMHUB_MAX_DELIVERIES_PER_MINUTE = None

    assert {_post(client, endpoint).status_code for _ in range(30)} == {200}


def test_url_checks_and_bad_bodies_do_not_use_up_the_quota(
    client: Client, endpoint: NewEndpoint, clock: Any
) -> None:
    _limit(endpoint, 1)
    assert post_callback(client, endpoint.path, b"").status_code == 200  # Tencent's URL check
    assert post_callback(client, endpoint.path, b"not json").status_code == 400

    assert _post(client, endpoint).status_code == 200


def test_rejections_are_counted_in_metrics(
    client: Client, endpoint: NewEndpoint, clock: Any
) -> None:
    before = scrape(Client())["alarmhub_callbacks_rejected"]
    assert before == {(("reason", "quota"),): 0.0}
    _limit(endpoint, 1)
    for _ in range(3):
        _post(client, endpoint)

    after = scrape(Client())["alarmhub_callbacks_rejected"]

    assert after == {(("reason", "quota"),): 2.0}


def test_the_admin_sets_the_quota_and_the_callback_obeys_it_at_once(
    endpoint: NewEndpoint, clock: Any, django_user_model: Any
) -> None:
    superuser_client = Client()
    superuser_client.force_login(django_user_model.objects.create_superuser("root", None, None))
    assert _post(Client(), endpoint).status_code == 200  # caches "unlimited"
    response = superuser_client.post(
        f"/admin/alarms/callbackendpoint/{endpoint.endpoint.pk}/change/",
        {"timezone": "Asia/Shanghai", "is_active": "on", "max_deliveries_per_minute": "1"},
    )

    assert response.status_code == 302
    assert _post(Client(), endpoint).status_code == 200
    assert _post(Client(), endpoint).status_code == 429
    entry = AuditEntry.objects.get(action=AuditAction.ENDPOINT_CHANGED)
    assert entry.details == {"max_deliveries_per_minute": {"old": None, "new": 1}}
