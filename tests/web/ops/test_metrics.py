"""GET /metrics (DESIGN §6 Operations): Prometheus text computed from the database."""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext, override_settings
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from alarms.choices import DeliveryStatus, OutboundStatus
from alarms.models import (
    CallbackEndpoint,
    Channel,
    Delivery,
    Heartbeat,
    OutboundMessage,
    PruneTally,
)
from alarms.ops.views import is_loopback, metrics
from alarms.tasks import requeue_stranded_deliveries
from tests.support.factories import apply_alarm, make_endpoint

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
_bodies = itertools.count(1)


def delivery(
    endpoint: CallbackEndpoint, status: str, *, received: datetime = NOW, changed: datetime = NOW
) -> Delivery:
    body = f'{{"n": {next(_bodies)}}}'.encode()
    row = Delivery.objects.create(
        endpoint=endpoint, body=body, body_sha256=hashlib.sha256(body).hexdigest(), status=status
    )
    # auto_now_add fields: set the times afterwards.
    Delivery.objects.filter(pk=row.pk).update(received_at=received, status_changed_at=changed)
    return row


def scrape(client: Client, **headers: Any) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """``{family name: {sorted labels: value}}`` from a loopback scrape; asserts 200."""
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == CONTENT_TYPE_LATEST
    return parse(response.content.decode())


def parse(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    families: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        samples = families.setdefault(family.name, {})
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            samples[tuple(sorted(sample.labels.items()))] = sample.value
    return families


@pytest.fixture
def ep(db: None) -> CallbackEndpoint:
    return make_endpoint(name="metrics").endpoint


def test_metrics_count_deliveries_by_status_and_the_unprocessed_backlog(
    client: Client, ep: CallbackEndpoint
) -> None:
    for _ in range(3):
        delivery(ep, DeliveryStatus.PROCESSED)
    delivery(ep, DeliveryStatus.FAILED)
    # The oldest unprocessed callback arrived 10 minutes ago; the sweep touched it just now.
    delivery(ep, DeliveryStatus.PENDING, received=NOW - timedelta(minutes=10), changed=NOW)
    delivery(ep, DeliveryStatus.PROCESSING, received=NOW - timedelta(minutes=2))

    with mock.patch("django.utils.timezone.now", return_value=NOW):
        families = scrape(client)

    totals = {labels[0][1]: value for labels, value in families["alarmhub_deliveries"].items()}
    assert totals == {
        "pending": 1,
        "processing": 1,
        "processed": 3,
        "duplicate": 0,
        "failed": 1,
    }
    assert families["alarmhub_deliveries_pending"] == {(): 2}
    # Measured from received_at: the sweep's status_changed_at reset does not hide the age.
    assert families["alarmhub_oldest_pending_delivery_seconds"] == {(): 600}


def test_metrics_count_firing_alarms_per_namespace(client: Client, ep: CallbackEndpoint) -> None:
    apply_alarm(ep, namespace="qce/cvm")
    apply_alarm(ep, namespace="qce/cvm")
    apply_alarm(ep, namespace="qce/cdb")
    apply_alarm(ep, namespace="qce/lb", status="recovered", duration_seconds=60)

    families = scrape(client)

    assert families["alarmhub_alarms_firing"] == {
        (("namespace", "qce/cdb"),): 1,
        (("namespace", "qce/cvm"),): 2,
    }


def test_metrics_on_an_empty_database_declare_every_family(client: Client, db: None) -> None:
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    text = response.content.decode()
    families = parse(text)

    assert families["alarmhub_deliveries_pending"] == {(): 0}
    assert families["alarmhub_oldest_pending_delivery_seconds"] == {(): 0}
    assert families["alarmhub_alarms_firing"] == {}
    assert families["alarmhub_last_sweep_timestamp_seconds"] == {(): 0}
    assert families["alarmhub_stats_hours_awaiting_rollup"] == {(): 0}
    # No outbound messages exist yet: the family is declared, with no samples.
    assert families["alarmhub_outbound_messages"] == {}
    assert "# TYPE alarmhub_outbound_messages_total counter" in text
    assert "# TYPE alarmhub_deliveries_total counter" in text


def outbound(kind: str, *statuses: str) -> None:
    channel, _ = Channel.objects.get_or_create(
        name=f"metrics-{kind}", defaults={"kind": kind, "url": "https://example.com/hook"}
    )
    for status in statuses:
        OutboundMessage.objects.create(channel=channel, event="triggered", status=status)


def test_metrics_count_outbound_messages_by_channel_kind_and_result(
    client: Client, db: None
) -> None:
    outbound("dingtalk", "sent", "sent", "failed", "merged")
    outbound("webhook", "sent", "pending")

    families = scrape(client)

    samples = families["alarmhub_outbound_messages"]
    # Every result of a kind that has messages is there, zeros included.
    assert set(samples) == {
        (("kind", kind), ("result", status.value))
        for kind in ("dingtalk", "webhook")
        for status in OutboundStatus
    }
    nonzero = {
        dict(labels)["kind"] + "/" + dict(labels)["result"]: v for labels, v in samples.items() if v
    }
    assert nonzero == {
        "dingtalk/sent": 2,
        "dingtalk/failed": 1,
        "dingtalk/merged": 1,
        "webhook/sent": 1,
        "webhook/pending": 1,
    }


def test_the_beat_sweep_records_its_heartbeat_for_the_metric(client: Client, db: None) -> None:
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        requeue_stranded_deliveries()
    later = NOW + timedelta(minutes=1)
    with mock.patch("django.utils.timezone.now", return_value=later):
        requeue_stranded_deliveries()  # the second run updates the one row

    assert list(Heartbeat.objects.values_list("name", "at")) == [(Heartbeat.SWEEP, later)]
    families = scrape(client)
    assert families["alarmhub_last_sweep_timestamp_seconds"] == {(): later.timestamp()}


def test_metrics_cost_the_same_queries_however_many_rows(
    client: Client, ep: CallbackEndpoint
) -> None:
    delivery(ep, DeliveryStatus.PENDING)
    apply_alarm(ep, namespace="qce/cvm")
    with CaptureQueriesContext(connection) as few:
        scrape(client)

    for status in DeliveryStatus:
        for _ in range(3):
            delivery(ep, status)
    for n in range(5):
        apply_alarm(ep, namespace=f"qce/ns{n}")
    Heartbeat.beat(Heartbeat.SWEEP)
    for kind in ("wecom", "feishu", "email"):
        outbound(kind, "sent", "failed", "pending")
    PruneTally.add({"alarms_delivery": 10, "bodies": 3})
    with CaptureQueriesContext(connection) as many:
        scrape(client)

    assert len(few) == len(many) == 7, [q["sql"] for q in many.captured_queries]


def test_pruned_rows_are_counted_per_table_across_runs(client: Client, db: None) -> None:
    assert scrape(client)["alarmhub_pruned_rows"] == {}

    PruneTally.add({"alarms_delivery": 5000, "bodies": 12})
    PruneTally.add({"alarms_delivery": 2500, "alarms_outboundmessage": 0})

    assert scrape(client)["alarmhub_pruned_rows"] == {
        (("table", "alarms_delivery"),): 7500.0,
        (("table", "bodies"),): 12.0,
    }


# --- who may scrape ---------------------------------------------------------------------------


@pytest.mark.parametrize("addr", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_without_a_token_loopback_clients_may_scrape(addr: str, db: None) -> None:
    request = RequestFactory().get("/metrics", REMOTE_ADDR=addr)
    assert metrics(request).status_code == 200


@pytest.mark.parametrize("addr", ["10.0.0.5", "192.168.1.2", "2001:db8::1", "", "not-an-ip"])
def test_without_a_token_other_clients_are_refused(addr: str, db: None) -> None:
    request = RequestFactory().get("/metrics", REMOTE_ADDR=addr)
    response = metrics(request)
    assert response.status_code == 403
    assert b"ALARMHUB_METRICS_TOKEN" in response.content


def test_without_a_token_a_request_through_a_local_proxy_is_refused(db: None) -> None:
    # nginx on the same host connects from 127.0.0.1 on behalf of anyone.
    request = RequestFactory().get(
        "/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9"
    )
    assert metrics(request).status_code == 403


@override_settings(ALARMHUB_METRICS_TOKEN="s3cret-metrics-token")
def test_with_a_token_the_right_bearer_token_is_required(client: Client, db: None) -> None:
    remote: dict[str, Any] = {"REMOTE_ADDR": "10.1.2.3"}
    missing = client.get("/metrics", **remote)
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    # Loopback does not stand in for the token once one is set.
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 401
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-tokeX", **remote)
    assert wrong.status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Basic czNjcmV0", **remote).status_code == 401

    right = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token", **remote)

    assert right.status_code == 200
    assert "alarmhub_deliveries_pending" in parse(right.content.decode())


def test_metrics_answer_only_safe_methods(client: Client, db: None) -> None:
    assert client.post("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 405


@override_settings(SECURE_SSL_REDIRECT=True)
def test_a_plain_http_loopback_scrape_is_not_redirected_to_https(client: Client, db: None) -> None:
    assert client.get("/admin/", REMOTE_ADDR="127.0.0.1").status_code == 301  # the setting holds
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200


def test_is_loopback_rejects_garbage() -> None:
    assert not is_loopback("localhost")
    assert is_loopback("127.0.0.1")
