"""Changelist actions: bulk acknowledge / unacknowledge and re-processing deliveries."""

from __future__ import annotations

from typing import Any

from django.test import Client

from alarms.choices import DeliveryStatus, EventType
from alarms.models import Alarm, CallbackEndpoint, Delivery
from alarms.pipeline.store import store_delivery
from alarms.services.operator import acknowledge_alarm
from alarms.tasks import process_delivery
from tests.support.admin import ALARMS, DELIVERIES, messages_of
from tests.support.factories import apply_alarm


def _run_action(client: Client, url: str, action: str, ids: list[int]) -> Any:
    return client.post(url, {"action": action, "_selected_action": ids})


def test_acknowledge_selected_reports_how_many_changed(
    operator_client: Client, operator_user: Any, admin_endpoint: CallbackEndpoint
) -> None:
    alarms = [apply_alarm(admin_endpoint) for _ in range(3)]
    acknowledge_alarm(alarm=alarms[0], actor=operator_user)

    response = _run_action(operator_client, ALARMS, "acknowledge_selected", [a.pk for a in alarms])

    assert response.status_code == 302
    assert messages_of(response) == ["2 alarms acknowledged. 1 was already acknowledged."]
    assert Alarm.objects.filter(acknowledged_by=operator_user).count() == 3
    assert (
        Alarm.objects.get(pk=alarms[0].pk).events.filter(type=EventType.ACKNOWLEDGED).count() == 1
    )


def test_acknowledge_selected_uses_the_singular(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    alarm = apply_alarm(admin_endpoint)

    response = _run_action(operator_client, ALARMS, "acknowledge_selected", [alarm.pk])

    assert messages_of(response) == ["1 alarm acknowledged."]


def test_unacknowledge_selected_reports_how_many_changed(
    operator_client: Client, operator_user: Any, admin_endpoint: CallbackEndpoint
) -> None:
    acknowledged = [apply_alarm(admin_endpoint) for _ in range(2)]
    for alarm in acknowledged:
        acknowledge_alarm(alarm=alarm, actor=operator_user)
    never = apply_alarm(admin_endpoint)

    response = _run_action(
        operator_client,
        ALARMS,
        "unacknowledge_selected",
        [a.pk for a in [*acknowledged, never]],
    )

    assert messages_of(response) == ["2 alarms unacknowledged. 1 was not acknowledged."]
    assert not Alarm.objects.filter(acknowledged_at__isnull=False).exists()


def test_reprocess_selected_runs_deliveries_through_the_pipeline_again(
    superuser_client: Client,
    admin_endpoint: CallbackEndpoint,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # A JSON array is stored (store_delivery takes any bytes) and fails processing.
    stored = store_delivery(
        endpoint_id=admin_endpoint.pk,
        body=b"[1, 2]",
        session_id="",
        remote_addr="203.0.113.5",
        content_type="application/json",
        user_agent="test",
    )
    process_delivery(stored.delivery_id)
    duplicate = store_delivery(
        endpoint_id=admin_endpoint.pk,
        body=b"[1, 2]",
        session_id="",
        remote_addr="203.0.113.5",
        content_type="application/json",
        user_agent="test",
    )
    failed = Delivery.objects.get(pk=stored.delivery_id)
    assert (failed.status, failed.attempts) == (DeliveryStatus.FAILED, 1)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _run_action(
            superuser_client,
            DELIVERIES,
            "reprocess_selected",
            [stored.delivery_id, duplicate.delivery_id],
        )

    assert len(callbacks) == 1  # queued after commit, not inside the transaction
    assert messages_of(response) == ["1 delivery queued for reprocessing. 1 duplicate skipped."]
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (DeliveryStatus.FAILED, 2)
    assert "JSON object" in failed.error
    assert Delivery.objects.get(pk=duplicate.delivery_id).status == DeliveryStatus.DUPLICATE


def test_bulk_actions_refuse_more_than_the_limit(
    operator_client: Client, admin_endpoint: CallbackEndpoint, monkeypatch: Any
) -> None:
    from alarms.admin import operations

    monkeypatch.setattr(operations, "BULK_ACTION_LIMIT", 2)
    alarms = [apply_alarm(admin_endpoint) for _ in range(3)]

    response = operator_client.post(
        ALARMS,
        {
            "action": "acknowledge_selected",
            "select_across": "1",  # "select all 3 alarms", as the browser sends it
            "_selected_action": [a.pk for a in alarms],
        },
    )

    assert messages_of(response) == ["At most 2 alarms can be changed at once; narrow the filters."]
    assert not Alarm.objects.filter(pk__in=[a.pk for a in alarms], acknowledged_at__isnull=False)


def _failed_delivery(endpoint: CallbackEndpoint) -> Delivery:
    # A JSON array is stored (store_delivery takes any bytes) and fails processing.
    stored = store_delivery(
        endpoint_id=endpoint.pk,
        body=b'["not", "an", "alarm"]',
        session_id="",
        remote_addr="203.0.113.5",
        content_type="application/json",
        user_agent="test",
    )
    process_delivery(stored.delivery_id)
    return Delivery.objects.get(pk=stored.delivery_id, status=DeliveryStatus.FAILED, attempts=1)


def test_operator_can_reprocess_deliveries(
    operator_client: Client,
    admin_endpoint: CallbackEndpoint,
    django_capture_on_commit_callbacks: Any,
) -> None:
    failed = _failed_delivery(admin_endpoint)

    with django_capture_on_commit_callbacks(execute=True):
        response = _run_action(operator_client, DELIVERIES, "reprocess_selected", [failed.pk])

    assert messages_of(response) == ["1 delivery queued for reprocessing."]
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (DeliveryStatus.FAILED, 2)


def test_viewer_cannot_reprocess_deliveries(
    viewer_client: Client,
    admin_endpoint: CallbackEndpoint,
    django_capture_on_commit_callbacks: Any,
) -> None:
    failed = _failed_delivery(admin_endpoint)
    before = Delivery.objects.filter(pk=failed.pk).values().get()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _run_action(viewer_client, DELIVERIES, "reprocess_selected", [failed.pk])

    assert callbacks == []
    assert messages_of(response) == []  # the viewer has no actions: the POST is ignored
    assert Delivery.objects.filter(pk=failed.pk).values().get() == before
