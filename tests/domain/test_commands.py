"""DESIGN §4 commands: create_callback_endpoint, reprocess_deliveries, requeue_stranded."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from io import StringIO
from typing import Any
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from alarms.choices import DeliveryStatus
from alarms.models import Alarm, AlarmEvent, CallbackEndpoint, Delivery
from alarms.services.endpoints import NewEndpoint, hash_token
from tests.support.factories import fixture_bytes, post_callback, tencent_payload

pytestmark = pytest.mark.django_db


def run(*args: Any, **options: Any) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def later(seconds: int) -> Any:
    """Move the clock forward (everything reading ``django.utils.timezone.now``)."""
    return mock.patch(
        "django.utils.timezone.now", return_value=timezone.now() + timedelta(seconds=seconds)
    )


# --- create_callback_endpoint -----------------------------------------------------------------

CALLBACK_PATH = re.compile(r"/api/v1/callbacks/(?P<token>[A-Za-z0-9_-]+)/")


def test_create_callback_endpoint_prints_the_callback_path_as_its_last_line(client: Any) -> None:
    output = run("create_callback_endpoint", "Tencent production")

    last_line = output.strip().splitlines()[-1]
    match = CALLBACK_PATH.fullmatch(last_line)
    assert match, output
    endpoint = CallbackEndpoint.objects.get()
    assert endpoint.name == "Tencent production"
    assert endpoint.timezone == "Asia/Shanghai"
    assert endpoint.is_active
    # The printed path is a working callback URL.
    response = post_callback(client, last_line, tencent_payload(session_id="hello"))
    assert response.json() == {"sessionId": "hello", "retCode": 0}


def test_created_token_has_at_least_128_bits_and_differs_each_time() -> None:
    tokens = {
        CALLBACK_PATH.fullmatch(run("create_callback_endpoint", f"e{i}").splitlines()[-1])["token"]  # type: ignore[index]
        for i in range(5)
    }

    assert len(tokens) == 5
    # 22 URL-safe base64 characters carry 132 bits.
    assert all(len(token) >= 22 for token in tokens)


def test_token_is_stored_only_as_a_hash() -> None:
    output = run("create_callback_endpoint", "hashed")
    token = CALLBACK_PATH.fullmatch(output.splitlines()[-1])["token"]  # type: ignore[index]

    endpoint = CallbackEndpoint.objects.get()
    assert endpoint.token_hash == hash_token(token)
    assert token not in endpoint.token_hash
    # Nowhere in the database: every column of every table.
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (introspected names)
            for row in cursor.fetchall():
                assert token not in repr(row), table


def test_create_callback_endpoint_accepts_a_timezone() -> None:
    run("create_callback_endpoint", "us-account", "--timezone", "America/New_York")

    assert CallbackEndpoint.objects.get().timezone == "America/New_York"


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "UTC+8", "", "../etc/passwd"])
def test_create_callback_endpoint_rejects_an_unknown_timezone(zone: str) -> None:
    with pytest.raises(CommandError, match="time zone"):
        run("create_callback_endpoint", "bad-zone", "--timezone", zone)

    assert not CallbackEndpoint.objects.exists()


def test_create_callback_endpoint_rejects_a_duplicate_name() -> None:
    run("create_callback_endpoint", "twice")

    with pytest.raises(CommandError, match="already exists"):
        run("create_callback_endpoint", "twice")
    assert CallbackEndpoint.objects.count() == 1


def test_create_callback_endpoint_requires_a_password_with_basic_auth_user() -> None:
    with pytest.raises(CommandError, match="password"):
        run("create_callback_endpoint", "basic", "--basic-auth-user", "tencent")

    assert not CallbackEndpoint.objects.exists()


# --- reprocess_deliveries ---------------------------------------------------------------------


def alarm_state() -> list[Mapping[str, Any]]:
    """Every alarm column that processing writes (not the bookkeeping timestamps)."""
    return list(
        Alarm.objects.order_by("fingerprint", "first_occurred_at").values(
            "fingerprint",
            "first_occurred_at",
            "status",
            "recovered_at",
            "superseded",
            "trigger_seen",
            "notification_count",
            "current_value",
            "duration_seconds",
            "last_notified_at",
            "flapping",
            "snapshot_rank",
            "policy_id",
            "instance_id",
        )
    )


@pytest.fixture
def processed_history(
    client: Any, endpoint: NewEndpoint, django_capture_on_commit_callbacks: Any
) -> None:
    """Trigger, repeat and recovery of one alarm, another firing alarm, and a custom template."""
    bodies = [
        fixture_bytes("metric_cvm_disk_usage_trigger_repeat_real"),
        fixture_bytes("metric_cvm_disk_usage_recovery_real"),
        fixture_bytes("metric_cdb_cpu_use_rate_trigger_real_intl"),
        fixture_bytes("custom_content_template_body_fixture"),
        fixture_bytes("metric_cvm_disk_usage_trigger_repeat_real"),  # a retry: duplicate
    ]
    for body in bodies:
        with django_capture_on_commit_callbacks(execute=True):
            assert post_callback(client, endpoint.path, body).status_code == 200
    assert sorted(Delivery.objects.values_list("status", flat=True)) == [
        "duplicate",
        "failed",
        "processed",
        "processed",
        "processed",
    ]


@pytest.mark.usefixtures("processed_history")
def test_reprocess_deliveries_is_idempotent_and_gives_the_same_alarms() -> None:
    before = alarm_state()
    events_before = AlarmEvent.objects.count()

    first = run("reprocess_deliveries")
    second = run("reprocess_deliveries")

    assert "Reprocessed 4 deliveries" in first
    assert "3 processed" in first and "1 failed" in first
    assert first == second
    assert alarm_state() == before
    assert AlarmEvent.objects.count() == events_before
    # Duplicates stay duplicates; the custom template is still failed with its reason.
    assert Delivery.objects.filter(status=DeliveryStatus.DUPLICATE).count() == 1
    failed = Delivery.objects.get(status=DeliveryStatus.FAILED)
    assert "not a Tencent alarm" in failed.error


@pytest.mark.usefixtures("processed_history")
def test_reprocess_deliveries_with_status_failed_touches_only_failed_ones() -> None:
    processed_at = dict(
        Delivery.objects.filter(status=DeliveryStatus.PROCESSED).values_list("pk", "processed_at")
    )

    output = run("reprocess_deliveries", "--status", "failed")

    assert "Reprocessed 1 deliveries: 1 failed." in output
    assert (
        dict(
            Delivery.objects.filter(status=DeliveryStatus.PROCESSED).values_list(
                "pk", "processed_at"
            )
        )
        == processed_at
    )


def test_reprocess_deliveries_recovers_a_delivery_that_failed_on_a_transient_error(
    client: Any, endpoint: NewEndpoint, django_capture_on_commit_callbacks: Any
) -> None:
    with (
        mock.patch(
            "alarms.pipeline.process.apply_notifications", side_effect=DatabaseError("constraint x")
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        post_callback(client, endpoint.path, tencent_payload())
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert "database error" in delivery.error
    assert not Alarm.objects.exists()

    run("reprocess_deliveries", "--status", "failed")

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PROCESSED
    assert delivery.error == ""
    alarm = Alarm.objects.get()
    assert delivery.alarm_ids == [alarm.pk]
    assert alarm.notification_count == 1


def test_reprocess_deliveries_since_skips_older_deliveries(
    client: Any, endpoint: NewEndpoint, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post_callback(client, endpoint.path, b'{"old": true}')
        post_callback(client, endpoint.path, b'{"new": true}')
    old, new = Delivery.objects.order_by("pk")
    Delivery.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=3))
    processed_at = {d.pk: d.processed_at for d in (old, new)}
    since = (timezone.now() - timedelta(days=1)).isoformat()

    output = run("reprocess_deliveries", "--since", since)

    assert "Reprocessed 1 deliveries" in output
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.processed_at == processed_at[old.pk]
    assert new.processed_at != processed_at[new.pk]
    # A plain date works too.
    day = (timezone.now() - timedelta(days=5)).date().isoformat()
    assert "Reprocessed 2 deliveries" in run("reprocess_deliveries", "--since", day)


def test_reprocess_deliveries_rejects_a_bad_since() -> None:
    with pytest.raises(CommandError, match="not an ISO 8601"):
        run("reprocess_deliveries", "--since", "last tuesday")


# --- requeue_stranded -------------------------------------------------------------------------


def test_requeue_stranded_processes_deliveries_left_pending_or_processing_too_long(
    client: Any, endpoint: NewEndpoint, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.ALARMHUB_REQUEUE_AFTER_SECONDS = 60
    with (
        mock.patch("alarms.tasks.process_delivery.delay", side_effect=BrokerError("down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        post_callback(client, endpoint.path, tencent_payload(instance_id="ins-lost"))
        post_callback(client, endpoint.path, tencent_payload(instance_id="ins-dead-worker"))
    _lost, dead_worker = Delivery.objects.order_by("pk")
    # A worker claimed this one and was killed before finishing.
    Delivery.objects.filter(pk=dead_worker.pk).update(status=DeliveryStatus.PROCESSING)

    assert "Re-queued 0 deliveries" in run("requeue_stranded")
    with later(61):
        output = run("requeue_stranded")

    assert "Re-queued 2 deliveries; 0 could not be published" in output
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.PROCESSED}
    assert set(Alarm.objects.values_list("instance__instance_id", flat=True)) == {
        "ins-lost",
        "ins-dead-worker",
    }


def test_requeue_stranded_leaves_finished_and_fresh_deliveries_alone(
    client: Any, endpoint: NewEndpoint, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post_callback(client, endpoint.path, tencent_payload())
        post_callback(client, endpoint.path, b'{"not": "an alarm"}')
    post_callback(client, endpoint.path, tencent_payload(instance_id="ins-fresh"))  # not queued

    with later(30):
        assert "Re-queued 0 deliveries" in run("requeue_stranded")
    assert sorted(Delivery.objects.values_list("status", flat=True)) == [
        "failed",
        "pending",
        "processed",
    ]


def test_requeue_stranded_keeps_a_delivery_pending_while_the_broker_is_down(
    client: Any, endpoint: NewEndpoint, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.ALARMHUB_REQUEUE_AFTER_SECONDS = 60
    with (
        mock.patch("alarms.tasks.process_delivery.delay", side_effect=BrokerError("down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        post_callback(client, endpoint.path, tencent_payload())

        with later(120):
            output = run("requeue_stranded")

    assert "Re-queued 0 deliveries; 1 could not be published" in output
    assert Delivery.objects.get().status == DeliveryStatus.PENDING
    # Once the broker is back, a later sweep gets it through.
    with later(240):
        run("requeue_stranded")
    assert Delivery.objects.get().status == DeliveryStatus.PROCESSED
