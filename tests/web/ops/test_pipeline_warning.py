"""The pipeline warning ({% alarmhub_pipeline_warning %}) and the selectors behind it."""

from __future__ import annotations

import hashlib
import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.template import Context, Template
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from alarms.choices import DeliveryStatus
from alarms.models import CallbackEndpoint, Delivery, Heartbeat
from alarms.selectors.pipeline import stalled_deliveries_count, sweep_is_late
from alarms.templatetags.alarmhub_ops import duration_text
from tests.support.factories import make_endpoint

pytestmark = pytest.mark.django_db
_bodies = itertools.count(1)
WARNING = Template("{% load alarmhub_ops %}{% alarmhub_pipeline_warning %}")


def delivery(endpoint: CallbackEndpoint, status: str, *, age: int, changed_age: int = 0) -> None:
    body = f'{{"n": {next(_bodies)}}}'.encode()
    row = Delivery.objects.create(
        endpoint=endpoint, body=body, body_sha256=hashlib.sha256(body).hexdigest(), status=status
    )
    now = timezone.now()
    Delivery.objects.filter(pk=row.pk).update(
        received_at=now - timedelta(seconds=age),
        status_changed_at=now - timedelta(seconds=changed_age),
    )


def render(user: Any) -> str:
    request = RequestFactory().get("/")
    request.user = user
    return WARNING.render(Context({"request": request})).strip()


@pytest.fixture
def ep(db: None) -> CallbackEndpoint:
    return make_endpoint(name="pipeline").endpoint


@override_settings(ALARMHUB_REQUEUE_AFTER_SECONDS=120)
def test_callbacks_waiting_past_the_requeue_delay_are_counted_and_announced(
    ep: CallbackEndpoint, operator_user: Any
) -> None:
    # Waiting 3 and 5 minutes; the sweep re-queued one just now (status_changed_at is fresh).
    delivery(ep, DeliveryStatus.PENDING, age=180, changed_age=0)
    delivery(ep, DeliveryStatus.PROCESSING, age=300, changed_age=200)
    delivery(ep, DeliveryStatus.PENDING, age=30)  # within the delay: a worker may be on it
    delivery(ep, DeliveryStatus.PROCESSED, age=900)
    delivery(ep, DeliveryStatus.FAILED, age=900)

    assert stalled_deliveries_count() == 2
    html = render(operator_user)
    assert "2 callbacks waiting for over 2 min — is a worker running?" in html
    assert 'role="alert"' in html


@override_settings(ALARMHUB_REQUEUE_AFTER_SECONDS=60)
def test_one_waiting_callback_is_singular(ep: CallbackEndpoint, operator_user: Any) -> None:
    delivery(ep, DeliveryStatus.PENDING, age=61)

    assert "1 callback waiting for over 1 min — is a worker running?" in render(operator_user)


def test_nothing_is_shown_when_the_pipeline_keeps_up(
    ep: CallbackEndpoint, operator_user: Any
) -> None:
    delivery(ep, DeliveryStatus.PENDING, age=5)
    delivery(ep, DeliveryStatus.PROCESSED, age=3600)

    assert render(operator_user) == ""


def test_anonymous_visitors_see_no_warning(ep: CallbackEndpoint) -> None:
    delivery(ep, DeliveryStatus.PENDING, age=3600)

    assert render(AnonymousUser()) == ""


def test_staff_who_may_view_deliveries_get_a_link_to_the_waiting_ones(
    ep: CallbackEndpoint, operator_user: Any, staff_no_role_user: Any
) -> None:
    delivery(ep, DeliveryStatus.PENDING, age=3600)

    assert '<a href="/admin/alarms/delivery/?status__exact=pending">' in render(operator_user)
    # The warning itself is for everyone signed in; the link only for who may follow it.
    no_role = render(staff_no_role_user)
    assert "is a worker running?" in no_role
    assert "<a " not in no_role


def test_the_warning_costs_one_query_in_embedded_mode(
    ep: CallbackEndpoint, operator_user: Any
) -> None:
    for _ in range(5):
        delivery(ep, DeliveryStatus.PENDING, age=3600)
    render(operator_user)  # warm the permission cache
    with CaptureQueriesContext(connection) as queries:
        render(operator_user)

    assert len(queries) == 1


@override_settings(CELERY_TASK_ALWAYS_EAGER=False, ALARMHUB_SWEEP_INTERVAL_SECONDS=60)
def test_with_a_broker_a_late_beat_sweep_is_announced(operator_user: Any, db: None) -> None:
    assert sweep_is_late()  # never ran
    assert "is celery beat running?" in render(operator_user)

    Heartbeat.beat(Heartbeat.SWEEP, at=timezone.now() - timedelta(seconds=100))
    assert not sweep_is_late()
    assert render(operator_user) == ""

    Heartbeat.beat(Heartbeat.SWEEP, at=timezone.now() - timedelta(seconds=181))
    assert sweep_is_late()
    assert "is celery beat running?" in render(operator_user)


def test_embedded_mode_has_no_beat_to_miss(operator_user: Any, db: None) -> None:
    assert not sweep_is_late()
    assert render(operator_user) == ""


@pytest.mark.parametrize(
    ("seconds", "text"), [(60, "1 min"), (120, "2 min"), (90, "90 s"), (3600, "60 min")]
)
def test_the_requeue_delay_is_named_in_minutes_when_it_is_whole(seconds: int, text: str) -> None:
    assert duration_text(seconds) == text
