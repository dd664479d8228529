"""The channels API (DESIGN §6 "Channels"): CRUD for staff or ``manage_channel`` only, the
secret write-only, every invalid input a 400 naming the field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from alarms.models import Channel
from tests.web.api.conftest import Account, make_account

LIST = "/api/v1/channels/"
SECRET = "SEC-very-secret-value-1234"


def detail(pk: int) -> str:
    return f"{LIST}{pk}/"


def valid_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "ops-robot",
        "kind": "dingtalk",
        "url": "https://oapi.dingtalk.com/robot/send?access_token=abc",
        "secret": SECRET,
        "filter": {"namespace": ["qce/cvm"], "status": ["firing"]},
        "events": ["triggered", "recovered"],
        "is_active": True,
    }
    body.update(overrides)
    return body


@pytest.fixture
def manager(db: None) -> Account:
    """Not staff, but holding the ``manage_channel`` permission."""
    account = make_account("channel-manager")
    assert account.user is not None
    account.user.user_permissions.add(Permission.objects.get(codename="manage_channel"))
    return account


@pytest.fixture
def staff(accounts: dict[str, Account]) -> APIClient:
    return accounts["staff"].client()


@pytest.fixture
def channel(db: None) -> Channel:
    return Channel.objects.create(
        name="existing",
        kind="webhook",
        url="https://hooks.example.com/in",
        secret=SECRET,
        events=["triggered"],
    )


def test_staff_creates_a_channel_and_the_secret_is_stored_but_not_returned(
    staff: APIClient,
) -> None:
    response = staff.post(LIST, valid_body(), format="json")

    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) == {
        "id",
        "name",
        "kind",
        "url",
        "filter",
        "events",
        "is_active",
        "last_error",
        "language",
        "escalate_after_seconds",
    }
    assert SECRET not in response.content.decode()
    stored = Channel.objects.get(pk=data["id"])
    assert stored.secret == SECRET
    assert stored.filter == {"namespace": ["qce/cvm"], "status": ["firing"]}
    assert stored.events == ["triggered", "recovered"]
    assert stored.created_by is not None and stored.created_by.username == "staff"


def test_the_secret_never_appears_in_list_detail_patch_or_test_responses(
    staff: APIClient, channel: Channel
) -> None:
    responses = [
        staff.get(LIST),
        staff.get(detail(channel.pk)),
        staff.patch(detail(channel.pk), {"name": "renamed"}, format="json"),
        staff.options(LIST),
        staff.get("/api/v1/schema/"),
    ]
    for response in responses:
        assert SECRET not in response.content.decode(), response.request["PATH_INFO"]
    assert responses[1].status_code == 200
    assert "secret" not in responses[1].json()


def test_patch_without_a_secret_keeps_it_and_an_empty_one_clears_it(
    staff: APIClient, channel: Channel
) -> None:
    response = staff.patch(detail(channel.pk), {"events": ["acknowledged"]}, format="json")
    assert response.status_code == 200, response.content
    channel.refresh_from_db()
    assert channel.secret == SECRET
    assert channel.events == ["acknowledged"]

    assert staff.patch(detail(channel.pk), {"secret": ""}, format="json").status_code == 200
    channel.refresh_from_db()
    assert channel.secret == ""


def test_put_is_not_offered(staff: APIClient, channel: Channel) -> None:
    assert staff.put(detail(channel.pk), valid_body(), format="json").status_code == 405


def test_delete_removes_the_channel(staff: APIClient, channel: Channel) -> None:
    assert staff.delete(detail(channel.pk)).status_code == 204
    assert not Channel.objects.filter(pk=channel.pk).exists()


@pytest.mark.parametrize(
    ("role", "code"),
    [
        ("anonymous", 401),
        ("norole", 403),
        ("viewer", 403),
        ("operator", 403),
        ("staff", 200),
        ("superuser", 200),
    ],
)
def test_only_staff_or_manage_channel_may_list(
    accounts: dict[str, Account], channel: Channel, role: str, code: int
) -> None:
    assert accounts[role].client().get(LIST).status_code == code


@pytest.mark.parametrize("role", ["norole", "viewer", "operator"])
def test_others_may_not_create_change_delete_or_test(
    accounts: dict[str, Account], channel: Channel, role: str
) -> None:
    client = accounts[role].client()
    assert client.post(LIST, valid_body(name="x"), format="json").status_code == 403
    assert client.patch(detail(channel.pk), {"name": "y"}, format="json").status_code == 403
    assert client.delete(detail(channel.pk)).status_code == 403
    assert client.post(f"{detail(channel.pk)}test/").status_code == 403
    channel.refresh_from_db()
    assert channel.name == "existing"
    assert Channel.objects.count() == 1


def test_a_user_with_manage_channel_who_is_not_staff_may_manage(manager: Account) -> None:
    client = manager.client()
    response = client.post(LIST, valid_body(), format="json")
    assert response.status_code == 201, response.content
    assert client.get(LIST).json()["results"][0]["name"] == "ops-robot"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"kind": "slack"}, "kind"),
        ({"events": ["triggered", "exploded"]}, "events"),
        ({"url": "ftp://robot.example.com/"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": ""}, "url"),
        ({"kind": "email", "url": "ops@example.com, not-an-address"}, "url"),
        ({"filter": {"colour": ["red"]}}, "filter"),
        ({"filter": {"status": ["burning"]}}, "filter"),
        ({"filter": {"first_occurred_after": ["yesterday-ish"]}}, "filter"),
        ({"filter": {"namespace": "qce/cvm"}}, "filter"),
        ({"filter": ["namespace"]}, "filter"),
        ({"escalate_after_seconds": 5}, "escalate_after_seconds"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_input_is_a_400_naming_the_field(
    staff: APIClient, overrides: dict[str, Any], field: str
) -> None:
    response = staff.post(LIST, valid_body(**overrides), format="json")

    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not Channel.objects.exists()


def test_an_invalid_filter_400_names_the_bad_filter(staff: APIClient) -> None:
    response = staff.post(LIST, valid_body(filter={"status": ["burning"]}), format="json")

    assert response.status_code == 400
    assert "status" in json.dumps(response.json()["filter"])


def test_a_duplicate_name_is_a_400(staff: APIClient, channel: Channel) -> None:
    response = staff.post(LIST, valid_body(name="existing"), format="json")
    assert response.status_code == 400
    assert "name" in response.json()


def test_email_channel_takes_comma_separated_addresses(staff: APIClient) -> None:
    body = valid_body(kind="email", url="ops@example.com,  oncall@example.com", secret="")
    response = staff.post(LIST, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["url"] == "ops@example.com, oncall@example.com"


def test_test_action_sends_through_the_outbox_and_reports_the_outcome(
    staff: APIClient, channel: Channel, django_capture_on_commit_callbacks: Any
) -> None:
    # Nothing listens on the channel's host: the test message is tried and recorded.
    Channel.objects.filter(pk=channel.pk).update(url="http://127.0.0.1:9/hook")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(f"{detail(channel.pk)}test/")

    assert response.status_code == 202, response.content
    data = response.json()
    message = channel.messages.get(pk=data["message_id"])
    assert message.is_test
    assert message.tries.count() == 1
    assert message.tries.get().outcome == "transient"
    assert SECRET not in response.content.decode()
