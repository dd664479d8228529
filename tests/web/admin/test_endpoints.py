"""Callback endpoints: created, changed and rotated through the services, the URL shown once."""

from __future__ import annotations

import re

from django.contrib.auth.hashers import check_password
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alarms.models import CallbackEndpoint
from alarms.selectors.endpoints import ENDPOINT_CACHE_SECONDS, active_endpoint_for_token_hash
from alarms.services.endpoints import hash_token
from tests.support.admin import ENDPOINTS, messages_of
from tests.support.factories import make_endpoint

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


def change_url(endpoint: CallbackEndpoint) -> str:
    return f"{ENDPOINTS}{endpoint.pk}/change/"


def change_form(endpoint: CallbackEndpoint, **fields: str | None) -> dict[str, str]:
    """The change form as a browser posts it (an unchecked "active" box is simply absent)."""
    data: dict[str, str | None] = {
        "timezone": endpoint.timezone,
        "basic_auth_username": endpoint.basic_auth_username,
        "basic_auth_password": "",
        **({"is_active": "on"} if endpoint.is_active else {}),
    }
    data.update(fields)
    return {name: value for name, value in data.items() if value is not None}


def endpoint_updates(ctx: CaptureQueriesContext) -> list[str]:
    return [
        query["sql"]
        for query in ctx.captured_queries
        if query["sql"].startswith('UPDATE "alarms_callbackendpoint"')
    ]


def test_change_page_sets_and_clears_basic_auth_through_the_service(
    superuser_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    url = change_url(admin_endpoint)

    superuser_client.post(
        url,
        change_form(admin_endpoint, basic_auth_username="tencent", basic_auth_password="pw-1"),
    )
    admin_endpoint.refresh_from_db()
    assert check_password("pw-1", admin_endpoint.basic_auth_password_hash)

    superuser_client.post(url, change_form(admin_endpoint, basic_auth_username=""))
    admin_endpoint.refresh_from_db()
    assert (admin_endpoint.basic_auth_username, admin_endpoint.basic_auth_password_hash) == ("", "")
    assert (admin_endpoint.timezone, admin_endpoint.is_active) == ("Asia/Shanghai", True)


def test_endpoint_name_is_not_editable(
    superuser_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    response = superuser_client.post(
        change_url(admin_endpoint), change_form(admin_endpoint, name="renamed")
    )

    assert response.status_code == 302
    admin_endpoint.refresh_from_db()
    assert admin_endpoint.name == "admin-tests"


def test_time_zone_change_goes_through_the_service_and_forgets_the_cached_lookup(
    superuser_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    cached = active_endpoint_for_token_hash(admin_endpoint.token_hash)
    assert cached is not None and cached.timezone == "Asia/Shanghai"

    with CaptureQueriesContext(connection) as ctx:
        response = superuser_client.post(
            change_url(admin_endpoint), change_form(admin_endpoint, timezone="Europe/Berlin")
        )

    assert response.status_code == 302
    admin_endpoint.refresh_from_db()
    assert (admin_endpoint.name, admin_endpoint.timezone, admin_endpoint.is_active) == (
        "admin-tests",
        "Europe/Berlin",
        True,
    )
    # One UPDATE of the changed column only: no whole-row save over the token or auth columns.
    [update] = endpoint_updates(ctx)
    assert update.startswith('UPDATE "alarms_callbackendpoint" SET "timezone" = ')
    assert "token_hash" not in update and "basic_auth" not in update and '"name"' not in update
    fresh = active_endpoint_for_token_hash(admin_endpoint.token_hash)
    assert fresh is not None and fresh.timezone == "Europe/Berlin"
    history = superuser_client.get(f"{ENDPOINTS}{admin_endpoint.pk}/history/").content.decode()
    assert "Changed Time zone." in history


def test_deactivating_an_endpoint_makes_its_callback_url_unknown_at_once(
    superuser_client: Client, db: None
) -> None:
    new = make_endpoint(name="to-retire")
    assert active_endpoint_for_token_hash(new.endpoint.token_hash) is not None  # cached

    response = superuser_client.post(
        change_url(new.endpoint), change_form(new.endpoint, is_active=None)
    )

    assert response.status_code == 302
    new.endpoint.refresh_from_db()
    assert (new.endpoint.is_active, new.endpoint.timezone) == (False, "Asia/Shanghai")
    callback = Client().post(new.path, b'{"sessionId": "x"}', content_type="application/json")
    assert callback.status_code == 404


def test_unknown_time_zone_on_the_change_page_is_an_error_on_the_form(
    superuser_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    with CaptureQueriesContext(connection) as ctx:
        response = superuser_client.post(
            change_url(admin_endpoint),
            change_form(admin_endpoint, timezone="Mars/Olympus", is_active=None),
        )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["timezone"] == ["Unknown time zone (use an IANA name such as Asia/Shanghai)."]
    assert "Unknown time zone" in response.content.decode()
    assert endpoint_updates(ctx) == []
    admin_endpoint.refresh_from_db()
    assert (admin_endpoint.timezone, admin_endpoint.is_active) == ("Asia/Shanghai", True)


def test_users_without_change_permission_see_time_zone_and_active_read_only(
    viewer_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    page = viewer_client.get(change_url(admin_endpoint)).content.decode()
    response = viewer_client.post(
        change_url(admin_endpoint), change_form(admin_endpoint, timezone="UTC", is_active=None)
    )

    assert 'name="timezone"' not in page
    assert 'name="is_active"' not in page
    assert "Asia/Shanghai" in page
    assert response.status_code == 403
    admin_endpoint.refresh_from_db()
    assert (admin_endpoint.timezone, admin_endpoint.is_active) == ("Asia/Shanghai", True)


def test_change_form_offers_time_zone_and_active_to_users_who_may_change(
    superuser_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    html = superuser_client.get(change_url(admin_endpoint)).content.decode()

    assert 'name="timezone"' in html
    assert 'name="is_active"' in html
    assert 'name="name"' not in html
    assert f"every server notices within {ENDPOINT_CACHE_SECONDS} s" in html


def test_endpoints_cannot_be_deleted(
    superuser_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    response = superuser_client.get(f"{ENDPOINTS}{admin_endpoint.pk}/delete/")

    assert response.status_code == 403
