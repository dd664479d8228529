"""Storing a delivery (the callback's one write) records exactly what the model would save."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.db.models import Model
from django.utils import timezone

from alarms.choices import DeliveryStatus
from alarms.models import Delivery
from alarms.pipeline.store import store_delivery
from alarms.services.endpoints import NewEndpoint

pytestmark = pytest.mark.django_db

BODY = '{"sessionId": "s-1", "alarmStatus": "1", "text": "磁盘"}'.encode()


# Differ by construction: the key, the moments of storing, and the body and its unique digest.
UNCOMPARED = ("id", "received_at", "status_changed_at", "body", "unique_body_sha256")


def _columns(row: Model) -> dict[str, object]:
    return {
        field.attname: getattr(row, field.attname)
        for field in row._meta.concrete_fields
        if field.attname not in UNCOMPARED
    }


def test_a_stored_delivery_has_every_column_the_model_would_have_given_it(
    endpoint: NewEndpoint,
) -> None:
    before = timezone.now()
    stored = store_delivery(
        endpoint_id=endpoint.endpoint.pk,
        body=BODY,
        session_id="s-1",
        remote_addr="2001:db8::1",
        content_type="application/json",
        user_agent="Tencent",
    )
    digest = hashlib.sha256(BODY).hexdigest()
    expected = Delivery.objects.create(
        endpoint=endpoint.endpoint,
        body=b"other",
        body_sha256=digest,
        unique_body_sha256=None,
        session_id="s-1",
        remote_addr="2001:db8::1",
        content_type="application/json",
        user_agent="Tencent",
    )

    row = Delivery.objects.get(pk=stored.delivery_id)
    assert not stored.duplicate
    assert row.body is not None and bytes(row.body) == BODY
    assert _columns(row) == _columns(expected)
    assert row.unique_body_sha256 == digest
    assert row.status == DeliveryStatus.PENDING and row.attempts == 0
    for moment in (row.received_at, row.status_changed_at):
        assert before <= moment <= timezone.now() + timedelta(seconds=1)


def test_a_byte_identical_body_is_stored_as_a_duplicate_of_the_first(endpoint: NewEndpoint) -> None:
    first, second = (
        store_delivery(
            endpoint_id=endpoint.endpoint.pk,
            body=BODY,
            session_id="s-1",
            remote_addr=None,
            content_type="",
            user_agent="",
        )
        for _ in range(2)
    )

    assert (first.duplicate, second.duplicate) == (False, True)
    duplicate = Delivery.objects.get(pk=second.delivery_id)
    assert duplicate.status == DeliveryStatus.DUPLICATE
    assert duplicate.duplicate_of_id == first.delivery_id
