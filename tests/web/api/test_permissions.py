"""Who may do what: every API route against every role (anonymous, no role, viewer, operator,
staff without a role, superuser), authenticated by API token.

Staff alone is not a role: raw deliveries need staff *and* ``view_delivery`` (as in the admin), and
the schema and docs need ``view_alarm`` like the API they describe (issue 14, findings 4 and 13).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from alarms import permissions
from alarms.models import Alarm
from tests.support.factories import make_delivery
from tests.web.api.conftest import ROLES, Account, make_account

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
    ("get", "/api/v1/deliveries/", None, "deliveries"),
    ("get", "/api/v1/deliveries/{delivery}/", None, "deliveries"),
    ("get", "/api/v1/schema/", None, "read"),
    ("get", "/api/v1/docs/", None, "read"),
]

OK = {"read": 200, "acknowledge": 200, "annotate": 201, "deliveries": 200}
ALLOWED: dict[str, set[str]] = {
    "anonymous": set(),
    "norole": set(),
    "viewer": {"read"},
    "operator": {"read", "acknowledge", "annotate"},
    # Staff without a role: the admin refuses them deliveries, so the API does too.
    "staff": set(),
    "superuser": {"read", "acknowledge", "annotate", "deliveries"},
}


def _call(client: APIClient, method: str, path: str, body: Any, alarm: Alarm) -> Any:
    delivery = make_delivery(alarm.endpoint) if "{delivery}" in path else None
    url = path.format(id=alarm.pk, delivery=delivery.pk if delivery else 0)
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


@pytest.mark.parametrize("groups", [(permissions.VIEWER,), (permissions.OPERATOR,)])
def test_staff_with_a_role_reads_deliveries_and_a_viewer_alone_does_not(
    alarm_factory: Callable[..., Alarm], groups: tuple[str, ...]
) -> None:
    alarm = alarm_factory()
    delivery = make_delivery(alarm.endpoint, body=b'{"secret": "raw body"}')
    staff_with_role = make_account("staff-role", groups=groups, staff=True).client()
    role_without_staff = make_account("role-only", groups=groups).client()

    listed = staff_with_role.get("/api/v1/deliveries/")
    refused = role_without_staff.get(f"/api/v1/deliveries/{delivery.pk}/")

    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["results"]] == [delivery.pk]
    assert refused.status_code == 403
    assert "raw body" not in refused.content.decode()


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
    user = accounts["operator"].user
    assert user is not None
    browser.force_login(user)

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
