"""Callback endpoints: created and rotated through the services, the URL shown exactly once."""

from __future__ import annotations

import re

from django.contrib.auth.hashers import check_password
from django.test import Client

from alarms.models import CallbackEndpoint
from alarms.services import hash_token
from tests.admin.helpers import ENDPOINTS, messages_of

TOKEN_URL = re.compile(r"http://testserver/api/v1/callbacks/([A-Za-z0-9_-]+)/")


def _token_in(messages: list[str]) -> str:
    tokens = [m.group(1) for text in messages for m in TOKEN_URL.finditer(text)]
    assert len(tokens) == 1, messages
    return tokens[0]


def test_adding_an_endpoint_shows_its_full_callback_url_once(superuser_client: Client) -> None:
    response = superuser_client.post(
        f"{ENDPOINTS}add/",
        {"name": "tencent-prod", "timezone": "Asia/Shanghai", "basic_auth_username": ""},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    endpoint = CallbackEndpoint.objects.get(name="tencent-prod")
    token = _token_in(messages_of(response))
    assert hash_token(token) == endpoint.token_hash
    later = superuser_client.get(response["Location"], follow=True).content.decode()
    assert token not in superuser_client.get(f"{ENDPOINTS}{endpoint.pk}/change/").content.decode()
    assert later.count(token) == 1  # the message, consumed by this page view


def test_adding_an_endpoint_with_basic_auth(superuser_client: Client) -> None:
    superuser_client.post(
        f"{ENDPOINTS}add/",
        {
            "name": "with-auth",
            "timezone": "UTC",
            "basic_auth_username": "tencent",
            "basic_auth_password": "s3cret-pass",
        },
    )

    endpoint = CallbackEndpoint.objects.get(name="with-auth")
    assert endpoint.timezone == "UTC"
    assert endpoint.basic_auth_username == "tencent"
    assert check_password("s3cret-pass", endpoint.basic_auth_password_hash)


def test_add_form_rejects_an_unknown_time_zone_and_a_user_without_password(
    superuser_client: Client,
) -> None:
    response = superuser_client.post(
        f"{ENDPOINTS}add/",
        {"name": "bad", "timezone": "Mars/Olympus", "basic_auth_username": "tencent"},
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "Unknown time zone" in errors["timezone"][0]
    assert errors["basic_auth_password"] == ["A password is required."]
    assert not CallbackEndpoint.objects.filter(name="bad").exists()


def test_token_hash_is_never_displayed(
    superuser_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    pages = [
        superuser_client.get(ENDPOINTS),
        superuser_client.get(f"{ENDPOINTS}{admin_endpoint.pk}/change/"),
        superuser_client.get(f"{ENDPOINTS}{admin_endpoint.pk}/history/"),
    ]

    for page in pages:
        assert page.status_code == 200
        assert admin_endpoint.token_hash not in page.content.decode()
    assert f"/api/v1/callbacks/{admin_endpoint.token_hint}…/" in pages[1].content.decode()


def test_rotate_token_shows_the_new_url_once_and_replaces_the_old_token(
    superuser_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    old_hash = admin_endpoint.token_hash

    response = superuser_client.post(
        ENDPOINTS, {"action": "rotate_token", "_selected_action": [admin_endpoint.pk]}
    )

    admin_endpoint.refresh_from_db()
    token = _token_in(messages_of(response))
    assert admin_endpoint.token_hash == hash_token(token) != old_hash


def test_change_page_sets_and_clears_basic_auth_through_the_service(
    superuser_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    url = f"{ENDPOINTS}{admin_endpoint.pk}/change/"

    superuser_client.post(url, {"basic_auth_username": "tencent", "basic_auth_password": "pw-1"})
    admin_endpoint.refresh_from_db()
    assert check_password("pw-1", admin_endpoint.basic_auth_password_hash)

    superuser_client.post(url, {"basic_auth_username": "", "basic_auth_password": ""})
    admin_endpoint.refresh_from_db()
    assert (admin_endpoint.basic_auth_username, admin_endpoint.basic_auth_password_hash) == ("", "")


def test_endpoint_name_and_time_zone_are_not_editable(
    superuser_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    superuser_client.post(
        f"{ENDPOINTS}{admin_endpoint.pk}/change/",
        {"name": "renamed", "timezone": "UTC", "is_active": "", "basic_auth_username": ""},
    )

    admin_endpoint.refresh_from_db()
    assert (admin_endpoint.name, admin_endpoint.timezone, admin_endpoint.is_active) == (
        "admin-tests",
        "Asia/Shanghai",
        True,
    )


def test_endpoints_cannot_be_deleted(
    superuser_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    response = superuser_client.get(f"{ENDPOINTS}{admin_endpoint.pk}/delete/")

    assert response.status_code == 403
