"""Channels in the admin: the secret is write-only, saves go through the service, and the
"Send a test message" action reports what happened. The outbox is read-only history."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from alarms.models import Channel, OutboundMessage
from tests.support.admin import messages_of

SECRET = "SEC-admin-secret-value-77"
CHANGELIST = reverse("admin:alarms_channel_changelist")
ADD = reverse("admin:alarms_channel_add")


def change_url(channel: Channel) -> str:
    return reverse("admin:alarms_channel_change", args=[channel.pk])


def form_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "feishu-ops",
        "kind": "feishu",
        "url": "https://open.feishu.cn/open-apis/bot/v2/hook/abc",
        "secret": SECRET,
        "events": ["triggered", "recovered"],
        "filter": '{"namespace": ["qce/cvm"]}',
        "language": "zh-hans",
        "escalate_after_seconds": "",
        "is_active": "on",
    }
    data.update(overrides)
    return data


@pytest.fixture
def channel(db: None) -> Channel:
    return Channel.objects.create(
        name="hook",
        kind="webhook",
        url="http://127.0.0.1:9/hook",
        secret=SECRET,
        events=["triggered"],
    )


def test_adding_a_channel_stores_the_secret_and_never_shows_it(admin_client: Client) -> None:
    response = admin_client.post(ADD, form_data())

    assert response.status_code == 302, response.content.decode()[:2000]
    channel = Channel.objects.get(name="feishu-ops")
    assert channel.secret == SECRET
    assert channel.filter == {"namespace": ["qce/cvm"]}
    for url in (CHANGELIST, change_url(channel)):
        page = admin_client.get(url)
        assert page.status_code == 200
        assert SECRET not in page.content.decode()


def test_saving_without_a_secret_keeps_it(admin_client: Client, channel: Channel) -> None:
    data = form_data(name="hook", kind="webhook", url=channel.url, secret="", filter="{}")

    response = admin_client.post(change_url(channel), data)

    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.secret == SECRET
    assert channel.events == ["triggered", "recovered"]


def test_an_invalid_filter_is_shown_on_the_form(admin_client: Client) -> None:
    response = admin_client.post(ADD, form_data(filter='{"status": ["burning"]}'))

    assert response.status_code == 200
    assert "burning" in response.content.decode()
    assert not Channel.objects.exists()


def test_send_a_test_message_action_reports_the_outcome(
    admin_client: Client, channel: Channel, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            CHANGELIST,
            {"action": "send_test", "_selected_action": [channel.pk]},
            follow=True,
        )

    message = OutboundMessage.objects.get(channel=channel)
    assert message.is_test
    assert message.tries.count() == 1  # nothing listens on port 9: retried later
    assert any("queued" in text for text in messages_of(response))


def test_outbound_messages_are_read_only(admin_client: Client, channel: Channel) -> None:
    message = OutboundMessage.objects.create(channel=channel, event="test", is_test=True)
    url = reverse("admin:alarms_outboundmessage_change", args=[message.pk])

    page = admin_client.get(url)

    assert page.status_code == 200
    assert SECRET not in page.content.decode()
    assert admin_client.get(reverse("admin:alarms_outboundmessage_add")).status_code == 403


def test_staff_without_manage_channel_cannot_see_channels_or_the_outbox(
    norole_client: Client, channel: Channel
) -> None:
    message = OutboundMessage.objects.create(channel=channel, event="test", is_test=True)

    for url in (
        CHANGELIST,
        change_url(channel),
        ADD,
        reverse("admin:alarms_outboundmessage_changelist"),
        reverse("admin:alarms_outboundmessage_change", args=[message.pk]),
    ):
        assert norole_client.get(url).status_code == 403, url


def test_the_manage_channel_permission_alone_opens_channels_and_the_outbox(
    channel: Channel,
) -> None:
    from django.contrib.auth.models import Permission

    from tests.conftest import make_staff_user

    user = make_staff_user("ops-channels")
    user.user_permissions.add(Permission.objects.get(codename="manage_channel"))
    client = Client()
    client.force_login(user)

    assert client.get(CHANGELIST).status_code == 200
    assert client.get(reverse("admin:alarms_outboundmessage_changelist")).status_code == 200
    models = [
        m["object_name"] for app in client.get("/admin/").context["app_list"] for m in app["models"]
    ]
    assert {"Channel", "OutboundMessage"} <= set(models)
