"""The Basic-auth username is half of a credential: only users who may change endpoints see it."""

from __future__ import annotations

from django.test import Client

from tests.support.admin import ENDPOINTS
from tests.support.factories import make_endpoint

USERNAME = "tencent-basic-user-7f3a"


def _pages(client: Client, pk: int) -> str:
    return "".join(
        client.get(url).content.decode()
        for url in (ENDPOINTS, f"{ENDPOINTS}{pk}/change/", f"{ENDPOINTS}{pk}/history/")
    )


def test_viewers_see_that_basic_auth_is_on_but_not_the_username(viewer_client: Client) -> None:
    endpoint = make_endpoint(
        name="guarded", basic_auth_username=USERNAME, basic_auth_password="pw"
    ).endpoint

    html = _pages(viewer_client, endpoint.pk)
    change = viewer_client.get(f"{ENDPOINTS}{endpoint.pk}/change/").content.decode()

    assert USERNAME not in html
    assert "icon-yes" in change  # "Basic auth: yes"


def test_users_who_may_change_endpoints_see_and_edit_the_username(
    superuser_client: Client,
) -> None:
    endpoint = make_endpoint(
        name="guarded", basic_auth_username=USERNAME, basic_auth_password="pw"
    ).endpoint

    change = superuser_client.get(f"{ENDPOINTS}{endpoint.pk}/change/").content.decode()

    assert f'value="{USERNAME}"' in change
