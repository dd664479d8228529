"""Issue 14 findings 6 and 10: login lockout on every login form; password reset gated."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client, override_settings

from alarms.permissions import OPERATOR
from tests.support.accounts import console_user

pytestmark = pytest.mark.django_db

PASSWORD = "pw-unused-123"  # tests.support.accounts.console_user's
LOGIN_FORMS = ["/accounts/login/", "/admin/login/"]


def _login(client: Client, url: str, username: str, password: str, ip: str) -> Any:
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def lena() -> User:
    return console_user("lena", OPERATOR, staff=True)


@pytest.mark.parametrize("url", LOGIN_FORMS)
def test_five_wrong_passwords_lock_the_user_out_even_with_the_right_one(
    url: str, lena: User
) -> None:
    client = Client()
    failures = [_login(client, url, "lena", "wrong", "198.51.100.7") for _ in range(5)]

    response = _login(client, url, "lena", PASSWORD, "198.51.100.7")

    assert [r.status_code for r in failures] == [200] * 4 + [429]  # the 5th locks
    assert response.status_code == 429
    assert not _logged_in(client)


@pytest.mark.parametrize("url", LOGIN_FORMS)
def test_a_lockout_leaves_other_addresses_and_other_users_alone(url: str, lena: User) -> None:
    console_user("max", OPERATOR, staff=True)
    for _ in range(5):
        _login(Client(), url, "lena", "wrong", "198.51.100.7")

    elsewhere, colleague = Client(), Client()
    assert _login(elsewhere, url, "lena", PASSWORD, "203.0.113.20").status_code == 302
    assert _login(colleague, url, "max", PASSWORD, "198.51.100.7").status_code == 302
    assert _logged_in(elsewhere) and _logged_in(colleague)


def test_a_successful_login_resets_the_failure_count(lena: User) -> None:
    client = Client()
    for _ in range(4):
        _login(client, "/accounts/login/", "lena", "wrong", "198.51.100.7")
    assert _login(client, "/accounts/login/", "lena", PASSWORD, "198.51.100.7").status_code == 302
    client.logout()
    for _ in range(4):
        _login(client, "/accounts/login/", "lena", "wrong", "198.51.100.7")

    assert _login(client, "/accounts/login/", "lena", PASSWORD, "198.51.100.7").status_code == 302


def test_failed_logins_are_recorded_and_logged(lena: User, caplog: Any) -> None:
    from axes.models import AccessAttempt  # type: ignore[import-untyped]

    with caplog.at_level("WARNING", logger="axes"):
        for _ in range(5):
            _login(Client(), "/accounts/login/", "lena", "wrong", "198.51.100.7")

    attempt = AccessAttempt.objects.get(username="lena", ip_address="198.51.100.7")
    assert attempt.failures_since_start == 5
    messages = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("lena" in m and "198.51.100.7" in m for m in messages)
    assert any("Locking out" in m for m in messages)
    assert not any(PASSWORD in m or "wrong" in m for m in messages)


# --- password reset (finding 10) --------------------------------------------------------------


@override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend")
def test_password_reset_pages_are_off_without_email(client: Client) -> None:
    for url in (
        "/accounts/password_reset/",
        "/accounts/password_reset/done/",
        "/accounts/reset/MQ/set-password/",
        "/accounts/reset/done/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post("/accounts/password_reset/", {"email": "x@example.com"}).status_code == 404


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def test_password_reset_works_with_email_and_is_throttled_per_address(
    client: Client, lena: User
) -> None:
    lena.email = "lena@example.com"
    lena.save(update_fields=["email"])

    answers = [
        client.post(
            "/accounts/password_reset/", {"email": "lena@example.com"}, REMOTE_ADDR="198.51.100.7"
        ).status_code
        for _ in range(6)
    ]
    other = client.post(
        "/accounts/password_reset/", {"email": "lena@example.com"}, REMOTE_ADDR="203.0.113.20"
    )

    assert answers == [302] * 5 + [429]
    assert other.status_code == 302
    assert len(mail.outbox) == 6


def test_logout_and_password_change_keep_their_names() -> None:
    from django.urls import reverse

    assert reverse("login") == "/accounts/login/"
    assert reverse("logout") == "/accounts/logout/"
    assert reverse("password_change") == "/accounts/password_change/"
