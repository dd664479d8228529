"""Optional bearer token on a callback URL (Alertmanager's ``http_config.authorization``)."""

from __future__ import annotations

import base64
import hashlib
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from alarms.models import CallbackEndpoint, Delivery
from alarms.services.endpoints import (
    NewEndpoint,
    create_callback_endpoint,
    set_endpoint_bearer_token,
)
from tests.support.factories import post_callback, tencent_payload

pytestmark = pytest.mark.django_db

TOKEN = "s3cr3t-bearer-t0ken"
ALERTMANAGER_BODY = {
    "version": "4",
    "status": "firing",
    "receiver": "alarmhub",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "HostDown", "instance": "10.0.0.1:9100", "job": "node"},
            "annotations": {},
            "startsAt": "2026-12-03T07:52:15Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": "0123456789abcdef",
        }
    ],
}


@pytest.fixture
def bearer_endpoint(db: None) -> NewEndpoint:
    return create_callback_endpoint(name="prom", source="alertmanager", bearer_token=TOKEN)


def _post(client: Any, path: str, **headers: str) -> Any:
    return post_callback(client, path, ALERTMANAGER_BODY, **headers)


def test_only_the_tokens_sha256_is_stored(bearer_endpoint: NewEndpoint) -> None:
    stored = CallbackEndpoint.objects.get(pk=bearer_endpoint.endpoint.pk).bearer_token_hash

    assert stored == hashlib.sha256(TOKEN.encode()).hexdigest()


def test_the_right_bearer_token_is_accepted_and_stored(
    client: Any, bearer_endpoint: NewEndpoint
) -> None:
    response = _post(client, bearer_endpoint.path, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 200, response.content
    assert Delivery.objects.count() == 1


def test_the_scheme_is_case_insensitive(client: Any, bearer_endpoint: NewEndpoint) -> None:
    response = _post(client, bearer_endpoint.path, HTTP_AUTHORIZATION=f"bearer {TOKEN}")

    assert response.status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        f"Token {TOKEN}",
        "Basic " + base64.b64encode(f"user:{TOKEN}".encode()).decode(),
        "Bearer " + "a" * 5000,
    ],
)
def test_a_missing_or_wrong_token_is_401_with_a_bearer_challenge_and_stores_nothing(
    client: Any, bearer_endpoint: NewEndpoint, header: str | None
) -> None:
    headers = {} if header is None else {"HTTP_AUTHORIZATION": header}

    response = _post(client, bearer_endpoint.path, **headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer ")
    assert response.json()["retCode"] != 0
    assert not Delivery.objects.exists()


def test_empty_post_verification_needs_no_token(client: Any, bearer_endpoint: NewEndpoint) -> None:
    response = post_callback(client, bearer_endpoint.path, b"")

    assert (response.status_code, response.json()) == (200, {"retCode": 0})
    assert not Delivery.objects.exists()


def test_an_endpoint_without_a_token_needs_none(client: Any, endpoint: NewEndpoint) -> None:
    response = post_callback(client, endpoint.path, tencent_payload())

    assert response.status_code == 200


def test_with_basic_auth_too_either_credential_passes(client: Any, db: None) -> None:
    new = create_callback_endpoint(
        name="both",
        source="alertmanager",
        bearer_token=TOKEN,
        basic_auth_username="am",
        basic_auth_password="pw-1234567",
    )
    basic = "Basic " + base64.b64encode(b"am:pw-1234567").decode()

    assert _post(client, new.path, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    assert _post(client, new.path, HTTP_AUTHORIZATION=basic).status_code == 200
    refused = _post(client, new.path)
    assert refused.status_code == 401
    assert "Bearer" in refused["WWW-Authenticate"]
    assert "Basic" in refused["WWW-Authenticate"]


def test_setting_and_clearing_the_token_takes_effect(
    client: Any, bearer_endpoint: NewEndpoint
) -> None:
    set_endpoint_bearer_token(endpoint=bearer_endpoint.endpoint, token="another-token")
    cache.clear()  # other processes: within ENDPOINT_CACHE_SECONDS

    old = _post(client, bearer_endpoint.path, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert old.status_code == 401
    assert (
        _post(client, bearer_endpoint.path, HTTP_AUTHORIZATION="Bearer another-token").status_code
        == 200
    )

    set_endpoint_bearer_token(endpoint=bearer_endpoint.endpoint, token="")
    cache.clear()

    assert _post(client, bearer_endpoint.path).status_code == 200


def test_a_changed_token_is_enforced_at_once_although_the_endpoint_was_cached(
    client: Any, bearer_endpoint: NewEndpoint, django_capture_on_commit_callbacks: Any
) -> None:
    """The bearer hash is cached with the endpoint (one cache read per callback): the service
    forgets that entry, so a revoked token stops working with no wait for the cache TTL."""
    authorized = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
    assert _post(client, bearer_endpoint.path, **authorized).status_code == 200  # now cached

    with django_capture_on_commit_callbacks(execute=True):
        set_endpoint_bearer_token(endpoint=bearer_endpoint.endpoint, token="rotated-token")

    assert _post(client, bearer_endpoint.path, **authorized).status_code == 401
    rotated = {"HTTP_AUTHORIZATION": "Bearer rotated-token"}
    assert _post(client, bearer_endpoint.path, **rotated).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        set_endpoint_bearer_token(endpoint=bearer_endpoint.endpoint, token="")
    assert _post(client, bearer_endpoint.path).status_code == 200
    assert Delivery.objects.count() == 3


@pytest.mark.parametrize("token", ["has space", "tab\there", "é-not-ascii", "x" * 1025])
def test_a_token_that_cannot_travel_in_a_header_is_refused(db: None, token: str) -> None:
    with pytest.raises(ValidationError):
        create_callback_endpoint(name="bad", source="alertmanager", bearer_token=token)

    assert not CallbackEndpoint.objects.exists()


def test_command_reads_the_token_from_a_file(tmp_path: Path, client: Any, db: None) -> None:
    secret = tmp_path / "token"
    secret.write_text(f"{TOKEN}\n", encoding="utf-8")
    out = StringIO()

    call_command(
        "create_callback_endpoint",
        "prom",
        "--source",
        "alertmanager",
        "--bearer-token-file",
        str(secret),
        stdout=out,
    )

    path = out.getvalue().strip().splitlines()[-1]
    assert TOKEN not in out.getvalue()
    assert _post(client, path).status_code == 401
    assert _post(client, path, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


@pytest.mark.parametrize("content", ["", "\n  \n"])
def test_command_refuses_an_empty_token_file(tmp_path: Path, db: None, content: str) -> None:
    secret = tmp_path / "token"
    secret.write_text(content, encoding="utf-8")

    with pytest.raises(CommandError, match="empty"):
        call_command("create_callback_endpoint", "prom", "--bearer-token-file", str(secret))

    assert not CallbackEndpoint.objects.exists()


def test_command_reports_an_unreadable_token_file(tmp_path: Path, db: None) -> None:
    with pytest.raises(CommandError, match="Cannot read the bearer token file"):
        call_command(
            "create_callback_endpoint", "prom", "--bearer-token-file", str(tmp_path / "missing")
        )
