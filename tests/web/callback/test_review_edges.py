"""Edges found in review: chunked bodies, bare paths, long fields, embedded-mode sweeps."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, RequestFactory
from django.utils import timezone

from alarms import tasks as tasks_module
from alarms.choices import DeliveryStatus
from alarms.ingress.callback import CallbackView
from alarms.models import Alarm, Delivery, Instance
from alarms.services.endpoints import NewEndpoint
from alarms.services.lifecycle import apply_notification
from tests.support.factories import encode, notification, post_callback, tencent_payload

pytestmark = pytest.mark.django_db


def chunked_request(path: str, body: bytes, *, terminated: bool):
    request = RequestFactory().post(path, data=body, content_type="application/json")
    del request.META["CONTENT_LENGTH"]
    request.META["HTTP_TRANSFER_ENCODING"] = "chunked"
    request.META["wsgi.input"] = io.BytesIO(body)
    if terminated:
        request.META["wsgi.input_terminated"] = True
    return request


def test_chunked_body_is_read_when_the_server_terminates_the_input(
    endpoint: NewEndpoint, django_capture_on_commit_callbacks
) -> None:
    body = encode(tencent_payload(session_id="chunky"))
    token = endpoint.token
    with django_capture_on_commit_callbacks(execute=True):
        response = CallbackView.as_view()(
            chunked_request(endpoint.path, body, terminated=True), token=token
        )
    assert response.data == {"sessionId": "chunky", "retCode": 0}
    assert bytes(Delivery.objects.get().body or b"") == body


def test_chunked_body_the_server_cannot_terminate_gets_411_not_a_silent_200(
    endpoint: NewEndpoint,
) -> None:
    body = encode(tencent_payload())
    response = CallbackView.as_view()(
        chunked_request(endpoint.path, body, terminated=False), token=endpoint.token
    )
    assert response.status_code == 411
    assert response.data["retCode"] != 0
    assert not Delivery.objects.exists()


def test_callback_path_without_trailing_slash_is_accepted(endpoint: NewEndpoint) -> None:
    response = post_callback(Client(), endpoint.path.rstrip("/"), tencent_payload())
    assert response.status_code == 200
    assert Delivery.objects.count() == 1


def test_overlong_text_fields_are_clipped_to_their_columns_not_lost(
    endpoint: NewEndpoint,
) -> None:
    alarm = apply_notification(
        endpoint=endpoint.endpoint,
        notification=notification(
            region="r" * 60,
            unit="u" * 60,
            current_value="9" * 120,
            instance_name="n" * 400,
            policy_type="t" * 120,
        ),
    ).alarm
    alarm.refresh_from_db()
    assert alarm.region == "r" * 50
    assert alarm.unit == "u" * 50
    assert alarm.current_value == "9" * 100
    assert Instance.objects.get().name == "n" * 300
    assert alarm.policy.policy_type == "t" * 100


def test_impossible_since_date_is_a_clear_command_error(db: None) -> None:
    with pytest.raises(CommandError, match="not a valid date"):
        call_command("reprocess_deliveries", "--since", "2024-13-45")


@pytest.mark.django_db(transaction=True)
def test_embedded_mode_sweeps_stranded_deliveries_on_the_next_callback(
    endpoint: NewEndpoint, settings, monkeypatch
) -> None:
    # A delivery left pending (say the process died before its in-process task ran).
    monkeypatch.setattr(tasks_module, "enqueue_delivery", lambda _id: False)
    post_callback(Client(), endpoint.path, tencent_payload(session_id="left-behind"))
    monkeypatch.undo()
    Delivery.objects.update(status_changed_at=timezone.now() - timedelta(minutes=5))
    monkeypatch.setattr(tasks_module, "_last_embedded_sweep", 0.0)

    post_callback(Client(), endpoint.path, tencent_payload(session_id="next-one", instance_id="i2"))

    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.PROCESSED}
    assert Alarm.objects.count() == 2
