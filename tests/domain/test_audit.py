"""The audit log (issue 14, finding 14): one entry per action, with who, what and from where."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from alarms.models import ApiToken, AuditEntry, CallbackEndpoint, Delivery
from alarms.pipeline.store import store_delivery
from alarms.services.audit import AuditAction, record
from alarms.services.endpoints import (
    create_callback_endpoint,
    rotate_endpoint_token,
    set_endpoint_basic_auth,
    update_callback_endpoint,
)
from alarms.services.operator import bulk_acknowledge, bulk_unacknowledge
from alarms.services.tokens import create_token, revoke_token
from tests.conftest import make_staff_user
from tests.support.factories import apply_alarm, make_endpoint

pytestmark = pytest.mark.django_db

ADDRESS = "198.51.100.7"
ENDPOINTS = "/admin/alarms/callbackendpoint/"


def only_entry(action: str) -> AuditEntry:
    """The one entry of ``action`` (fails when there are none or several)."""
    entries = list(AuditEntry.objects.filter(action=action))
    assert len(entries) == 1, [(e.action, e.details) for e in AuditEntry.objects.all()]
    return entries[0]


def client_from(user: Any, address: str = ADDRESS) -> Client:
    client = Client(REMOTE_ADDR=address)
    client.force_login(user)
    return client


@pytest.fixture
def root(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser("audit-root", "root@example.com", "pw")


# --- record() itself --------------------------------------------------------------------------


def test_record_snapshots_the_actor_name_and_describes_the_target(root: Any) -> None:
    endpoint = make_endpoint(name="described").endpoint

    entry = record(
        action="test.action", actor=root, target=endpoint, remote_addr=ADDRESS, reason="x"
    )
    root.username = "renamed"
    root.save()

    entry.refresh_from_db()
    assert (entry.actor, entry.actor_name) == (root, "audit-root")
    assert (entry.target_type, entry.target_id, entry.target_repr) == (
        "alarms.callbackendpoint",
        str(endpoint.pk),
        "described",
    )
    assert (entry.remote_addr, entry.details) == (ADDRESS, {"reason": "x"})


def test_record_keeps_the_entry_when_the_actor_is_deleted(root: Any) -> None:
    entry = record(action="test.action", actor=root)
    root.delete()

    entry.refresh_from_db()
    assert (entry.actor, entry.actor_name) == (None, "audit-root")


def test_record_drops_an_invalid_address_and_unstorable_text(root: Any) -> None:
    entry = record(action="test.action", actor=root, remote_addr="not-an-ip", note="a\ud800b")

    entry.refresh_from_db()
    assert entry.remote_addr is None
    assert entry.details == {"note": "a\ufffdb"}


# --- logins -----------------------------------------------------------------------------------


def test_a_login_is_recorded_with_who_and_from_where() -> None:
    user = make_staff_user("alice", password="correct-horse")

    response = Client(REMOTE_ADDR=ADDRESS).post(
        "/admin/login/", {"username": "alice", "password": "correct-horse"}
    )

    assert response.status_code == 302
    entry = only_entry(AuditAction.LOGIN)
    assert (entry.actor, entry.actor_name, entry.remote_addr) == (user, "alice", ADDRESS)


def test_a_failed_login_is_recorded_with_the_username_tried_but_never_the_password() -> None:
    make_staff_user("alice", password="correct-horse")

    Client(REMOTE_ADDR=ADDRESS).post("/admin/login/", {"username": "alice", "password": "guess-1"})

    entry = only_entry(AuditAction.LOGIN_FAILED)
    assert (entry.actor, entry.target_repr, entry.remote_addr) == (None, "alice", ADDRESS)
    assert entry.details == {"username": "alice"}
    assert not AuditEntry.objects.filter(action=AuditAction.LOGIN).exists()


def test_a_forwarded_for_header_is_ignored_without_a_trusted_proxy() -> None:
    make_staff_user("alice", password="correct-horse")

    Client(REMOTE_ADDR=ADDRESS, HTTP_X_FORWARDED_FOR="10.9.9.9").post(
        "/admin/login/", {"username": "alice", "password": "correct-horse"}
    )

    assert only_entry(AuditAction.LOGIN).remote_addr == ADDRESS


# --- API tokens -------------------------------------------------------------------------------


def test_api_token_creation_and_revocation_are_recorded_without_the_key(root: Any) -> None:
    new = create_token(user=root, name="ci")
    created = only_entry(AuditAction.API_TOKEN_CREATED)
    revoke_token(token=new.token)
    revoked = only_entry(AuditAction.API_TOKEN_REVOKED)

    for entry in (created, revoked):
        assert (entry.target_type, entry.target_id) == ("auth.user", str(root.pk))
        assert entry.details["prefix"] == new.key[:8]
        assert new.key not in str(entry.details) + entry.target_repr


def test_tokens_made_and_revoked_in_the_admin_name_the_admin_user_and_address(
    root: Any, django_user_model: Any
) -> None:
    owner = django_user_model.objects.create_user("api-robot")
    client = client_from(root)
    tokens = "/admin/alarms/apitoken/"

    added = client.post(f"{tokens}add/", {"user": owner.pk, "name": "robot"}, follow=True)
    token = ApiToken.objects.get(user=owner)
    shown = " ".join(str(m) for m in added.context["messages"])
    client.post(tokens, {"action": "revoke", "_selected_action": [token.pk]})

    token.refresh_from_db()
    assert token.revoked_at is not None
    key = shown.split('<code class="alarmhub-token">')[1].split("</code>")[0]
    assert key.startswith(token.prefix) and len(key) == 40
    for action in (AuditAction.API_TOKEN_CREATED, AuditAction.API_TOKEN_REVOKED):
        entry = only_entry(action)
        assert (entry.actor, entry.remote_addr, entry.target_repr) == (root, ADDRESS, "api-robot")
        assert key not in str(entry.details)


def test_drf_create_token_command_is_recorded(root: Any) -> None:
    call_command("drf_create_token", "audit-root", stdout=None)

    assert only_entry(AuditAction.API_TOKEN_CREATED).target_repr == "audit-root"


# --- endpoints --------------------------------------------------------------------------------


def test_endpoint_services_record_create_rotate_deactivate_and_basic_auth(root: Any) -> None:
    new = create_callback_endpoint(name="audited", actor=root, remote_addr=ADDRESS)
    endpoint = new.endpoint
    rotated = rotate_endpoint_token(endpoint=endpoint, actor=root, remote_addr=ADDRESS)
    update_callback_endpoint(endpoint=endpoint, is_active=False, actor=root, remote_addr=ADDRESS)
    set_endpoint_basic_auth(
        endpoint=endpoint,
        username="basic-user",
        password="s3cret-basic-pw",
        actor=root,
        remote_addr=ADDRESS,
    )

    actions = [
        AuditAction.ENDPOINT_CREATED,
        AuditAction.ENDPOINT_TOKEN_ROTATED,
        AuditAction.ENDPOINT_DEACTIVATED,
        AuditAction.ENDPOINT_BASIC_AUTH_CHANGED,
    ]
    for action in actions:
        entry = only_entry(action)
        assert (entry.actor_name, entry.remote_addr, entry.target_id) == (
            "audit-root",
            ADDRESS,
            str(endpoint.pk),
        )
        # Bearer secrets never reach the log: neither token nor password nor username.
        text = str(entry.details)
        assert new.token not in text and rotated.token not in text
        assert "s3cret-basic-pw" not in text and "basic-user" not in text
    assert only_entry(AuditAction.ENDPOINT_BASIC_AUTH_CHANGED).details == {
        "was_enabled": False,
        "enabled": True,
        "username_changed": True,
        "password_changed": True,
    }


def test_an_update_that_changes_nothing_records_nothing(root: Any) -> None:
    endpoint = make_endpoint(name="steady").endpoint
    before = AuditEntry.objects.count()

    update_callback_endpoint(endpoint=endpoint, is_active=True, timezone=endpoint.timezone)

    assert AuditEntry.objects.count() == before


def test_the_create_command_records_the_endpoint_without_an_actor() -> None:
    call_command("create_callback_endpoint", "from-cli", stdout=None)

    entry = only_entry(AuditAction.ENDPOINT_CREATED)
    assert (entry.actor, entry.target_repr) == (None, "from-cli")


def test_admin_endpoint_changes_record_the_admin_user_and_address(root: Any) -> None:
    client = client_from(root)
    client.post(f"{ENDPOINTS}add/", {"name": "via-admin", "timezone": "UTC"})
    endpoint = CallbackEndpoint.objects.get(name="via-admin")
    client.post(ENDPOINTS, {"action": "rotate_token", "_selected_action": [endpoint.pk]})
    client.post(
        f"{ENDPOINTS}{endpoint.pk}/change/",
        {"timezone": "UTC", "basic_auth_username": "tencent", "basic_auth_password": "pw-2"},
    )  # the "active" box unticked: deactivates, and turns Basic auth on

    for action in (
        AuditAction.ENDPOINT_CREATED,
        AuditAction.ENDPOINT_TOKEN_ROTATED,
        AuditAction.ENDPOINT_DEACTIVATED,
        AuditAction.ENDPOINT_BASIC_AUTH_CHANGED,
    ):
        entry = only_entry(action)
        assert (entry.actor, entry.remote_addr, entry.target_repr) == (root, ADDRESS, "via-admin")


def test_a_time_zone_change_in_the_admin_records_old_and_new(root: Any) -> None:
    endpoint = make_endpoint(name="tz").endpoint

    client_from(root).post(
        f"{ENDPOINTS}{endpoint.pk}/change/",
        {"timezone": "UTC", "is_active": "on", "basic_auth_username": ""},
    )

    entry = only_entry(AuditAction.ENDPOINT_CHANGED)
    assert entry.details == {"timezone": {"old": "Asia/Shanghai", "new": "UTC"}}
    assert entry.actor == root


# --- reprocessing -----------------------------------------------------------------------------


def _stored_delivery(endpoint: CallbackEndpoint) -> int:
    return store_delivery(
        endpoint_id=endpoint.pk,
        body=b"[1, 2]",
        session_id="",
        remote_addr=None,
        content_type="application/json",
        user_agent="",
    ).delivery_id


def test_reprocessing_in_the_admin_is_recorded(root: Any) -> None:
    endpoint = make_endpoint(name="reprocessed").endpoint
    delivery_id = _stored_delivery(endpoint)

    client_from(root).post(
        "/admin/alarms/delivery/",
        {"action": "reprocess_selected", "_selected_action": [delivery_id]},
    )

    entry = only_entry(AuditAction.DELIVERIES_REPROCESSED)
    assert (entry.actor, entry.remote_addr) == (root, ADDRESS)
    assert entry.details["delivery_ids"] == [delivery_id]
    assert entry.details["selected"] == 1


def test_the_reprocess_command_is_recorded() -> None:
    endpoint = make_endpoint(name="reprocessed").endpoint
    delivery_id = _stored_delivery(endpoint)

    call_command("reprocess_deliveries", "--endpoint", "reprocessed", stdout=None)

    entry = only_entry(AuditAction.DELIVERIES_REPROCESSED)
    assert entry.actor is None
    assert entry.details["via"] == "manage.py reprocess_deliveries"
    assert entry.details["delivery_ids"] == [delivery_id]
    assert entry.details["filters"]["endpoint"] == "reprocessed"
    assert Delivery.objects.get(pk=delivery_id).attempts >= 1


# --- bulk acknowledgements --------------------------------------------------------------------


def test_bulk_acknowledge_and_unacknowledge_each_write_one_entry(root: Any) -> None:
    endpoint = make_endpoint(name="bulk").endpoint
    alarms = [apply_alarm(endpoint) for _ in range(3)]
    ids = [a.pk for a in alarms]

    assert bulk_acknowledge(alarm_ids=ids, actor=root, remote_addr=ADDRESS) == 3
    assert bulk_unacknowledge(alarm_ids=ids[:2], actor=root, remote_addr=ADDRESS) == 2

    acked = only_entry(AuditAction.ALARMS_BULK_ACKNOWLEDGED)
    assert (acked.actor, acked.remote_addr) == (root, ADDRESS)
    assert (acked.details["requested"], acked.details["changed"]) == (3, 3)
    assert sorted(acked.details["alarm_ids"]) == sorted(ids)
    unacked = only_entry(AuditAction.ALARMS_BULK_UNACKNOWLEDGED)
    assert unacked.details["changed"] == 2
    assert sorted(unacked.details["alarm_ids"]) == sorted(ids[:2])


# --- channels and silences --------------------------------------------------------------------

ROBOT_URL = "https://oapi.dingtalk.com/robot/send?access_token=AUDIT-ROBOT-KEY-123"
ROBOT_SECRET = "SEC-audit-channel-secret"


def test_channel_create_change_delete_are_recorded_without_the_url_or_secret(root: Any) -> None:
    from alarms.services.channels import create_channel, delete_channel, update_channel

    channel = create_channel(
        actor=root,
        remote_addr=ADDRESS,
        name="ops robot",
        kind="dingtalk",
        url=ROBOT_URL,
        secret=ROBOT_SECRET,
        events=["triggered"],
    )
    update_channel(
        channel=channel,
        actor=root,
        remote_addr=ADDRESS,
        url=ROBOT_URL.replace("123", "456"),
        secret="SEC-audit-new-secret",
        events=["triggered", "recovered"],
    )
    delete_channel(channel=channel, actor=root, remote_addr=ADDRESS)

    created = only_entry(AuditAction.CHANNEL_CREATED)
    changed = only_entry(AuditAction.CHANNEL_CHANGED)
    deleted = only_entry(AuditAction.CHANNEL_DELETED)
    for entry in (created, changed, deleted):
        assert (entry.actor_name, entry.remote_addr) == ("audit-root", ADDRESS)
        assert (entry.target_type, entry.target_id, entry.target_repr) == (
            "alarms.channel",
            str(channel.pk),
            "ops robot",
        )
        text = str(entry.details)
        assert "AUDIT-ROBOT-KEY" not in text and "oapi.dingtalk.com" not in text
        assert "SEC-audit" not in text
    assert created.details["kind"] == "dingtalk"
    assert created.details["events"] == ["triggered"]
    assert created.details["has_secret"] is True
    assert "url" not in created.details and "secret" not in created.details
    assert changed.details == {
        "changed": ["url", "secret", "events"],
        "events": {"old": ["triggered"], "new": ["triggered", "recovered"]},
    }
    assert deleted.details == {"kind": "dingtalk", "outbound_messages": 0}


def test_a_channel_update_that_changes_nothing_records_nothing(root: Any) -> None:
    from alarms.services.channels import create_channel, update_channel

    channel = create_channel(actor=root, name="quiet", kind="webhook", url="https://example.com/h")
    before = AuditEntry.objects.count()

    update_channel(channel=channel, actor=root, name="quiet", secret=None)

    assert AuditEntry.objects.count() == before


def test_a_refused_channel_write_records_nothing(django_user_model: Any) -> None:
    from django.core.exceptions import PermissionDenied

    from alarms.services.channels import create_channel

    nobody = django_user_model.objects.create_user("no-role", password="pw")
    with pytest.raises(PermissionDenied):
        create_channel(actor=nobody, name="x", kind="webhook", url="https://example.com/h")

    assert not AuditEntry.objects.exists()


def test_silence_create_change_delete_are_recorded_with_what_changed(root: Any) -> None:
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from alarms.services.silences import create_silence, delete_silence, update_silence

    starts = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    silence = create_silence(
        actor=root,
        remote_addr=ADDRESS,
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        filter={"namespace": ["qce/cvm"]},
        comment="maintenance",
    )
    # The same start in another zone is no change; only the end and the comment changed.
    update_silence(
        silence=silence,
        actor=root,
        remote_addr=ADDRESS,
        starts_at=starts.astimezone(ZoneInfo("Asia/Shanghai")),
        ends_at=starts + timedelta(hours=3),
        comment="maintenance, extended",
    )
    delete_silence(silence=silence, actor=root, remote_addr=ADDRESS)

    created = only_entry(AuditAction.SILENCE_CREATED)
    changed = only_entry(AuditAction.SILENCE_CHANGED)
    deleted = only_entry(AuditAction.SILENCE_DELETED)
    for entry in (created, changed, deleted):
        assert (entry.actor_name, entry.remote_addr, entry.target_type, entry.target_id) == (
            "audit-root",
            ADDRESS,
            "alarms.silence",
            str(silence.pk),
        )
    assert created.details == {
        "comment": "maintenance",
        "filter": {"namespace": ["qce/cvm"]},
        "starts_at": "2025-03-01T08:00:00+00:00",
        "ends_at": "2025-03-01T10:00:00+00:00",
        "recurrence": None,
    }
    assert changed.details == {
        "comment": {"old": "maintenance", "new": "maintenance, extended"},
        "ends_at": {"old": "2025-03-01T10:00:00+00:00", "new": "2025-03-01T11:00:00+00:00"},
    }
    assert deleted.details["comment"] == "maintenance, extended"
    assert deleted.target_repr == "maintenance, extended"


def test_deleting_a_silence_twice_records_one_entry(root: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from alarms.services.silences import create_silence, delete_silence

    starts = datetime(2025, 3, 1, tzinfo=UTC)
    silence = create_silence(actor=root, starts_at=starts, ends_at=starts + timedelta(hours=1))

    delete_silence(silence=silence, actor=root)
    delete_silence(silence=silence, actor=root)

    assert AuditEntry.objects.filter(action=AuditAction.SILENCE_DELETED).count() == 1
