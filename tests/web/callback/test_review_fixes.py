"""Edges a review of the callback found: each answered as the contract says, never a 500."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from django.core.cache import caches
from django.test import Client

from alarms.ingress import throttle
from alarms.models import Delivery
from alarms.services.endpoints import set_endpoint_bearer_token
from tests.support.factories import make_endpoint, post_callback, tencent_payload

pytestmark = pytest.mark.django_db

TENCENT = "203.0.113.10"


@pytest.fixture(autouse=True)
def _empty_credentials_cache() -> Iterator[None]:
    caches[throttle.VERIFIED_CREDENTIALS_CACHE].clear()
    yield
    caches[throttle.VERIFIED_CREDENTIALS_CACHE].clear()


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_a_misconfigured_endpoint_does_not_lock_out_another_from_the_same_address(
    client: Client,
) -> None:
    stale = make_endpoint(basic_auth_username="tencent", basic_auth_password="new-password")
    healthy = make_endpoint(basic_auth_username="tencent", basic_auth_password="its-password")
    for n in range(15):  # Tencent retrying a stale password, past the per-minute limit
        post_callback(
            client, stale.path, tencent_payload(session_id=f"s{n}"),
            REMOTE_ADDR=TENCENT, HTTP_AUTHORIZATION=basic("tencent", "old-password"),
        )  # fmt: skip

    response = post_callback(
        client, healthy.path, tencent_payload(session_id="fine"),
        REMOTE_ADDR=TENCENT, HTTP_AUTHORIZATION=basic("tencent", "its-password"),
    )  # fmt: skip

    assert response.status_code == 200, response.content
    assert Delivery.objects.filter(session_id="fine").exists()


def test_a_basic_header_that_is_not_ascii_is_a_401_not_a_500(client: Client) -> None:
    endpoint = make_endpoint(basic_auth_username="tencent", basic_auth_password="pw")

    response = post_callback(
        client, endpoint.path, tencent_payload(), HTTP_AUTHORIZATION="Basic ééé"
    )

    assert response.status_code == 401
    assert response.json()["retCode"] == 1


def test_an_absurdly_long_content_length_is_a_413_not_a_500(client: Client) -> None:
    endpoint = make_endpoint()

    response = post_callback(client, endpoint.path, tencent_payload(), CONTENT_LENGTH="9" * 5000)

    assert response.status_code == 413
    assert not Delivery.objects.exists()


def test_a_new_bearer_token_is_enforced_at_once(client: Client) -> None:
    new = make_endpoint()
    assert post_callback(client, new.path, tencent_payload(session_id="a")).status_code == 200

    set_endpoint_bearer_token(endpoint=new.endpoint, token="s3cret-bearer")

    refused = post_callback(client, new.path, tencent_payload(session_id="b"))
    allowed = post_callback(
        client, new.path, tencent_payload(session_id="c"),
        HTTP_AUTHORIZATION="Bearer s3cret-bearer",
    )  # fmt: skip
    assert refused.status_code == 401
    assert allowed.status_code == 200
