"""Who may do what: every API route against every role (anonymous, no role, viewer, operator,
staff without a role, superuser), authenticated by API token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from alarms.models import Alarm
from tests.web.api.conftest import ROLES, Account

# (method, path template, JSON body, kind of route)
ROUTES: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("get", "/api/v1/alarms/", None, "read"),
    ("get", "/api/v1/alarms/{id}/", None, "read"),
    ("get", "/api/v1/policies/", None, "read"),
    ("get", "/api/v1/instances/", None, "read"),
    ("get", "/api/v1/endpoints/", None, "read"),
    ("post", "/api/v1/alarms/{id}/acknowledge/", {}, "acknowledge"),
    ("post", "/api/v1/alarms/{id}/unacknowledge/", None, "acknowledge"),
    ("post", "/api/v1/alarms/acknowledge/", {"ids": ["{id}"]}, "acknowledge"),
    ("post", "/api/v1/alarms/unacknowledge/", {"ids": ["{id}"]}, "acknowledge"),
    ("post", "/api/v1/alarms/{id}/notes/", {"text": "hello"}, "annotate"),
    ("get", "/api/v1/deliveries/", None, "staff"),
    ("get", "/api/v1/schema/", None, "login"),
    ("get", "/api/v1/docs/", None, "login"),
]

OK = {"read": 200, "acknowledge": 200, "annotate": 201, "staff": 200, "login": 200}
ALLOWED: dict[str, set[str]] = {
    "anonymous": set(),
    "norole": {"login"},
    "viewer": {"read", "login"},
    "operator": {"read", "acknowledge", "annotate", "login"},
    "staff": {"staff", "login"},
    "superuser": {"read", "acknowledge", "annotate", "staff", "login"},
}


def _call(client: APIClient, method: str, path: str, body: Any, alarm: Alarm) -> Any:
    url = path.format(id=alarm.pk)
    if body is None:
        return getattr(client, method)(url)
    if "ids" in body:
        body = {"ids": [alarm.pk]}
    return getattr(client, method)(url, body, format="json")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path", "body", "kind"), ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES]
)
def test_route_answers_by_role(
    accounts: dict[str, Account],
    alarm_factory: Callable[..., Alarm],
    role: str,
    method: str,
    path: str,
    body: Any,
    kind: str,
) -> None:
    alarm = alarm_factory()

    response = _call(accounts[role].client(), method, path, body, alarm)

    if role == "anonymous":
        # Token authentication comes first, so DRF answers 401 with a challenge.
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
    elif kind in ALLOWED[role]:
        assert response.status_code == OK[kind], response.content
    else:
        assert response.status_code == 403
        assert str(alarm.fingerprint) not in response.content.decode()


def test_refused_write_changes_nothing(
    accounts: dict[str, Account], alarm_factory: Callable[..., Alarm]
) -> None:
    alarm = alarm_factory()
    viewer = accounts["viewer"].client()

    viewer.post(f"/api/v1/alarms/{alarm.pk}/acknowledge/")
    viewer.post(f"/api/v1/alarms/{alarm.pk}/notes/", {"text": "x"}, format="json")

    alarm.refresh_from_db()
    assert alarm.acknowledged_at is None
    assert alarm.note_count == 0


def test_session_login_works_and_writes_need_the_csrf_token(
    accounts: dict[str, Account], alarm_factory: Callable[..., Alarm]
) -> None:
    alarm = alarm_factory()
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(accounts["operator"].user)

    assert browser.get("/api/v1/alarms/").status_code == 200
    refused = browser.post(f"/api/v1/alarms/{alarm.pk}/acknowledge/")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]


def test_invalid_token_is_401(db: None) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    assert client.get("/api/v1/alarms/").status_code == 401


def test_callback_and_health_need_no_login(client: Any, db: None) -> None:
    assert client.get("/healthz").status_code == 200
    # An unknown token is the callback's own 404, not a login challenge.
    assert (
        client.post("/api/v1/callbacks/unknown-token/", b"{}", "application/json").status_code
        == 404
    )
