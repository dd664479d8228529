"""Issue 14 findings 7 and 8: per-IP throttling of callback failures in a shared cache."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client, override_settings

from alarms.ingress import throttle
from alarms.models import Delivery
from alarms.services.endpoints import NewEndpoint
from tests.support.factories import make_endpoint, post_callback, tencent_payload

pytestmark = pytest.mark.django_db

FLOODER = "198.51.100.66"
TENCENT = "203.0.113.10"


@pytest.fixture(autouse=True)
def _empty_credentials_cache() -> Iterator[None]:
    caches[throttle.VERIFIED_CREDENTIALS_CACHE].clear()
    yield
    caches[throttle.VERIFIED_CREDENTIALS_CACHE].clear()


def _flood_unknown_tokens(client: Client, count: int, ip: str = FLOODER) -> list[int]:
    return [
        post_callback(client, f"/api/v1/callbacks/random-{n:04d}/", {}, REMOTE_ADDR=ip).status_code
        for n in range(count)
    ]


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_unknown_tokens_beyond_the_limit_answer_429_with_a_nonzero_retcode(client: Client) -> None:
    answers = _flood_unknown_tokens(client, 35)

    assert answers[:30] == [404] * 30
    assert set(answers[30:]) == {429}
    response = client.get("/api/v1/callbacks/random-9999/", REMOTE_ADDR=FLOODER)
    assert response.status_code == 429
    assert response.json()["retCode"] == 1
    assert response["Retry-After"] == "60"


def test_a_flood_from_one_address_leaves_other_addresses_alone(client: Client) -> None:
    _flood_unknown_tokens(client, 40)

    assert _flood_unknown_tokens(client, 1, ip=TENCENT) == [404]


def test_a_valid_token_is_never_throttled_by_a_flood_from_its_own_address(
    client: Client, endpoint: NewEndpoint
) -> None:
    _flood_unknown_tokens(client, 40)

    response = post_callback(client, endpoint.path, tencent_payload(), REMOTE_ADDR=FLOODER)

    assert response.status_code == 200
    assert response.json()["retCode"] == 0
    assert Delivery.objects.filter(endpoint=endpoint.endpoint).count() == 1


def test_throttled_floods_are_not_logged_line_by_line(client: Client, caplog: Any) -> None:
    with caplog.at_level("WARNING", logger="django.request"):
        _flood_unknown_tokens(client, 60)

    assert len([r for r in caplog.records if r.name == "django.request"]) <= 30


@pytest.fixture
def basic_endpoint(db: None) -> NewEndpoint:
    return make_endpoint(
        name="with-basic", basic_auth_username="tencent", basic_auth_password="s3cret-pass"
    )


def test_wrong_basic_passwords_beyond_the_limit_answer_429_without_hashing(
    client: Client, basic_endpoint: NewEndpoint, monkeypatch: Any
) -> None:
    answers = [
        post_callback(
            client,
            basic_endpoint.path,
            tencent_payload(),
            REMOTE_ADDR=FLOODER,
            HTTP_AUTHORIZATION=_basic("tencent", f"guess-{n}"),
        ).status_code
        for n in range(12)
    ]
    hashed: list[str] = []

    def counting_check_password(*args: Any) -> bool:
        hashed.append("x")
        return False

    monkeypatch.setattr("alarms.ingress.callback.check_password", counting_check_password)
    blocked = post_callback(
        client,
        basic_endpoint.path,
        tencent_payload(),
        REMOTE_ADDR=FLOODER,
        HTTP_AUTHORIZATION=_basic("tencent", "guess-again"),
    )

    assert answers[:10] == [401] * 10
    assert set(answers[10:]) == {429}
    assert blocked.status_code == 429
    assert blocked.json()["retCode"] == 1
    assert hashed == []  # no slow hash spent on a blocked address


def test_verified_credentials_survive_a_flood_and_a_guessing_neighbour(
    client: Client, basic_endpoint: NewEndpoint
) -> None:
    good = _basic("tencent", "s3cret-pass")
    first = post_callback(
        client, basic_endpoint.path, tencent_payload(), REMOTE_ADDR=FLOODER, HTTP_AUTHORIZATION=good
    )
    # More unknown tokens than the local-memory default cache holds (300 entries).
    with override_settings(ALARMHUB_CALLBACK_UNKNOWN_TOKENS_PER_MINUTE=10_000):
        _flood_unknown_tokens(client, 400)
    for n in range(12):
        post_callback(
            client,
            basic_endpoint.path,
            tencent_payload(),
            REMOTE_ADDR=FLOODER,
            HTTP_AUTHORIZATION=_basic("tencent", f"guess-{n}"),
        )

    again = post_callback(
        client, basic_endpoint.path, tencent_payload(), REMOTE_ADDR=FLOODER, HTTP_AUTHORIZATION=good
    )

    assert first.status_code == 200
    assert again.status_code == 200


@override_settings(ALARMHUB_CALLBACK_UNKNOWN_TOKENS_PER_MINUTE=3)
def test_throttle_opens_rather_than_failing_when_the_cache_is_down(
    client: Client, monkeypatch: Any
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("cache down")

    monkeypatch.setattr(caches["default"], "incr", broken)
    monkeypatch.setattr(caches["default"], "add", broken)

    assert _flood_unknown_tokens(client, 5) == [404] * 5


# --- finding 8: the shared cache ---------------------------------------------------------------


def _default_cache_with(**environ: str) -> dict[str, Any]:
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.CACHES))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "alarmhub.settings", **environ}
    if "CACHE_URL" not in environ:
        env.pop("CACHE_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0 or not environ, out.stderr
    return {
        "returncode": out.returncode,
        "stderr": out.stderr,
        **(json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else {}),
    }


def test_cache_url_points_the_shared_cache_at_redis() -> None:
    caches_ = _default_cache_with(CACHE_URL="redis://127.0.0.1:6379/2")

    assert caches_["default"]["BACKEND"] == "alarmhub.cache.FailOpenRedisCache"
    assert caches_["default"]["LOCATION"] == "redis://127.0.0.1:6379/2"
    # Verified Basic-auth headers stay per process, out of the flood's reach.
    assert caches_["callback_auth"]["BACKEND"].endswith("LocMemCache")


def test_without_cache_url_the_embedded_default_uses_local_memory() -> None:
    assert _default_cache_with()["default"]["BACKEND"].endswith("LocMemCache")


def test_an_unsupported_cache_url_stops_start_up_with_a_message() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "alarmhub.settings", "CACHE_URL": "dbcache://x"}
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert out.returncode != 0
    assert "CACHE_URL" in out.stderr


def test_an_unreachable_redis_reads_as_a_miss_instead_of_an_error() -> None:
    from alarmhub.cache import FailOpenRedisCache

    cache = FailOpenRedisCache(
        "redis://127.0.0.1:1/0", {"OPTIONS": {"socket_connect_timeout": 0.2}}
    )

    assert cache.get("anything", "default") == "default"
    cache.set("anything", 1)  # dropped, not raised
    assert cache.add("other", 1) is False
