"""Issue 14 findings 11, 12 and 13 (messages): CSP and the pages that must satisfy it,
Permissions-Policy, no-store on authenticated responses, forwarded headers, message storage."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client, override_settings

from alarms.choices import AlarmStatus, DeliveryStatus
from alarms.permissions import OPERATOR
from alarms.services.endpoints import NewEndpoint
from tests.support.accounts import client_for, console_user
from tests.support.factories import apply_alarm, make_delivery

pytestmark = pytest.mark.django_db


class _InlineFinder(HTMLParser):
    """Everything a strict CSP would block: inline scripts, styles and handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.nonces: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        for name, _ in attrs:
            if name == "style" or name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
        executable = names.get("type") in (None, "", "text/javascript", "module")
        if (tag == "script" and not names.get("src") and executable) or tag == "style":
            if names.get("nonce"):
                self.nonces.append(str(names["nonce"]))
            else:
                self._in = tag
        if tag == "a" and str(names.get("href") or "").startswith("javascript:"):
            self.problems.append("<a href=javascript:...>")

    def handle_data(self, data: str) -> None:
        if self._in and data.strip():
            self.problems.append(f"inline <{self._in}>: {data.strip()[:60]}")

    def handle_endtag(self, tag: str) -> None:
        self._in = None


def inline_problems(html: str) -> list[str]:
    finder = _InlineFinder()
    finder.feed(html)
    return finder.problems


def directives(response: Any) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    parts = (part.strip().split() for part in header.split(";") if part.strip())
    return {part[0]: part[1:] for part in parts}


@pytest.fixture
def operator_client() -> Client:
    return client_for(console_user("otto", OPERATOR))


@pytest.fixture
def superuser_client(django_user_model: Any) -> Client:
    return client_for(django_user_model.objects.create_superuser("root", "r@example.com", None))


# --- CSP ----------------------------------------------------------------------------------------


def test_every_page_sends_a_strict_content_security_policy(client: Client) -> None:
    policy = directives(client.get("/accounts/login/"))

    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no nonce: this page used none
    assert policy["style-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["base-uri"] == ["'self'"]


def test_board_and_alarm_page_have_no_inline_script_or_style(
    operator_client: Client, endpoint: NewEndpoint
) -> None:
    firing = apply_alarm(endpoint.endpoint)
    apply_alarm(endpoint.endpoint, status=AlarmStatus.RECOVERED)

    for url in ("/", f"/alarms/{firing.pk}/", "/?status=recovered"):
        response = operator_client.get(url)
        assert response.status_code == 200, url
        assert inline_problems(response.content.decode()) == [], url
        assert "Content-Security-Policy" in response


def test_board_badges_take_their_colour_from_the_status_stylesheet(
    operator_client: Client, endpoint: NewEndpoint
) -> None:
    apply_alarm(endpoint.endpoint)

    board = operator_client.get("/").content.decode()
    css = operator_client.get("/assets/status.css")

    assert '<link rel="stylesheet" href="/assets/status.css">' in board
    assert "alarmhub-bg-dc3545" in board  # firing
    assert css.status_code == 200
    assert css["Content-Type"].startswith("text/css")
    for member in [*AlarmStatus, *DeliveryStatus]:
        rule = f".alarmhub-bg-{member.colour[1:]} {{ background-color: {member.colour}; }}"
        assert rule in css.content.decode()


def test_status_stylesheet_is_cacheable_and_public(client: Client) -> None:
    first = client.get("/assets/status.css")
    again = client.get("/assets/status.css", HTTP_IF_NONE_MATCH=first["ETag"])

    assert "public" in first["Cache-Control"]
    assert "no-store" not in first["Cache-Control"]
    assert again.status_code == 304


def test_admin_lists_and_login_have_no_inline_script_or_style(
    superuser_client: Client, client: Client, endpoint: NewEndpoint
) -> None:
    apply_alarm(endpoint.endpoint)
    make_delivery(endpoint.endpoint)

    pages = {
        "alarms": superuser_client.get("/admin/alarms/alarm/"),
        "deliveries": superuser_client.get("/admin/alarms/delivery/"),
        "index": superuser_client.get("/admin/"),
        "login": client.get("/admin/login/"),
    }

    for name, response in pages.items():
        assert response.status_code == 200, name
        assert inline_problems(response.content.decode()) == [], name
    assert "alarmhub-bg-dc3545" in pages["alarms"].content.decode()
    assert "/assets/status.css" in pages["alarms"].content.decode()


def test_swagger_page_inline_code_carries_the_nonce_sent_in_the_header(
    superuser_client: Client,
) -> None:
    response = superuser_client.get("/api/v1/docs/")
    finder = _InlineFinder()
    finder.feed(response.content.decode())
    policy = directives(response)

    assert response.status_code == 200
    assert finder.problems == []
    assert len(finder.nonces) == 2  # the style block and the init script
    nonce = f"'nonce-{finder.nonces[0]}'"
    assert set(finder.nonces) == {finder.nonces[0]}
    assert nonce in policy["script-src"]
    assert nonce in policy["style-src"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]


# --- Permissions-Policy and Cache-Control -----------------------------------------------------


def test_permissions_policy_denies_unused_browser_features(client: Client) -> None:
    policy = client.get("/healthz")["Permissions-Policy"]

    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in policy


def test_authenticated_pages_and_api_responses_are_not_stored(
    operator_client: Client, endpoint: NewEndpoint
) -> None:
    alarm = apply_alarm(endpoint.endpoint)

    for url in ("/", f"/alarms/{alarm.pk}/", "/api/v1/alarms/", f"/api/v1/alarms/{alarm.pk}/"):
        response = operator_client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url


def test_token_authenticated_api_responses_are_not_stored(endpoint: NewEndpoint) -> None:
    from alarms.services.tokens import create_token

    key = create_token(user=console_user("api-user", OPERATOR)).key
    response = Client().get("/api/v1/alarms/", HTTP_AUTHORIZATION=f"Token {key}")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_the_login_response_that_sets_the_session_cookie_is_not_stored(client: Client) -> None:
    console_user("lena", OPERATOR)

    response = client.post("/accounts/login/", {"username": "lena", "password": "pw-unused-123"})

    assert response.status_code == 302
    assert "sessionid" in response.cookies
    assert "no-store" in response["Cache-Control"]


def test_anonymous_responses_are_left_to_their_views(client: Client) -> None:
    response = client.get("/api/v1/callbacks/no-such-token/")

    assert response.status_code == 404
    assert "no-store" not in response.get("Cache-Control", "")


# --- X-Forwarded-Proto (finding 11) -----------------------------------------------------------


@override_settings(SECURE_SSL_REDIRECT=True)
def test_x_forwarded_proto_is_ignored_without_a_named_proxy(client: Client) -> None:
    response = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == 301
    assert response["Location"].startswith("https://")


@override_settings(
    SECURE_SSL_REDIRECT=True,
    ALARMHUB_TRUSTED_PROXIES=["10.0.0.1"],
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
)
def test_x_forwarded_proto_counts_only_from_the_trusted_proxy(client: Client) -> None:
    via_proxy = client.get(
        "/accounts/login/", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="10.0.0.1"
    )
    direct = client.get(
        "/accounts/login/", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="203.0.113.9"
    )

    assert via_proxy.status_code == 200
    assert direct.status_code == 301


def _settings_with(**environ: str) -> dict[str, Any]:
    """Selected settings as a fresh process computes them from ``environ``."""
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'proxy': getattr(s, 'SECURE_PROXY_SSL_HEADER', None), "
        "'cache': s.CACHES['default']['BACKEND'], 'messages': s.MESSAGE_STORAGE}))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "alarmhub.settings", **environ}
    for name in ("DJANGO_TRUSTED_PROXY", "DJANGO_SECURE_PROXY_SSL_HEADER", "CACHE_URL"):
        if name not in environ:
            env.pop(name, None)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def test_proxy_ssl_header_is_off_by_default_and_opt_in() -> None:
    assert _settings_with()["proxy"] is None
    assert _settings_with(DJANGO_TRUSTED_PROXY="10.0.0.1")["proxy"] == [
        "HTTP_X_FORWARDED_PROTO",
        "https",
    ]
    assert _settings_with(DJANGO_SECURE_PROXY_SSL_HEADER="True")["proxy"] is not None


# --- messages (finding 13) --------------------------------------------------------------------


def test_the_one_time_callback_url_never_travels_in_a_cookie(superuser_client: Client) -> None:
    response = superuser_client.post(
        "/admin/alarms/callbackendpoint/add/",
        {"name": "tencent-new", "timezone": "Asia/Shanghai", "source": "tencent"},
        follow=True,
    )
    page = response.content.decode()
    path = re.search(r"/api/v1/callbacks/[A-Za-z0-9_-]{20,}/", page)

    assert path is not None  # shown once, on the page
    assert all("callbacks" not in morsel.value for morsel in superuser_client.cookies.values())
    assert "messages" not in superuser_client.cookies
    assert _settings_with()["messages"].endswith("SessionStorage")
