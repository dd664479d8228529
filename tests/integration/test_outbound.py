"""Outbound messages end to end: a callback over HTTP → the worker's lifecycle → the outbox →
the worker's sender → a signed webhook on a fake receiver (127.0.0.1) that verifies it."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.integration.conftest import (
    EndpointPool,
    post_callback,
    psql,
    tencent_metric_body,
    wait_until,
)
from tests.support.services import CeleryWorker, WebServer

SECRET = "SEC-integration-webhook-secret"


class Receiver:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.bad_signatures = 0
        self.status = 200


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            timestamp = self.headers.get("X-AlarmHub-Timestamp", "")
            expected = (
                "sha256="
                + hmac.new(
                    SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
                ).hexdigest()
            )
            if hmac.compare_digest(expected, self.headers.get("X-AlarmHub-Signature", "")):
                state.bodies.append(json.loads(body))
                self.send_response(state.status)
            else:
                state.bad_signatures += 1
                self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def _channel(db: str, url: str, policy_id: str) -> int:
    # The in-process ORM points at SQLite: the channel is written straight into PostgreSQL.
    rows = psql(
        db,
        "INSERT INTO alarms_channel (name, kind, url, secret, filter, events, language,"
        " is_active, last_error, rate_state, created_at, updated_at)"
        " VALUES (%s, 'webhook', %s, %s, %s, %s, 'en', true, '', '{}', now(), now())"
        " RETURNING id",
        f"it-{uuid.uuid4().hex[:8]}",
        url,
        SECRET,
        json.dumps({"policy_id": [policy_id]}),
        json.dumps(["triggered", "recovered"]),
    )
    return int(rows[0][0])


def test_a_callback_becomes_a_signed_webhook_sent_by_the_worker(
    callback_env: dict[str, str],
    callback_web: WebServer,
    shared_worker: CeleryWorker,
    endpoint_pool: EndpointPool,
    receiver: tuple[Receiver, str],
) -> None:
    state, url = receiver
    db = callback_env["DATABASE_URL"]
    policy_id = f"policy-{uuid.uuid4().hex[:8]}"
    channel = _channel(db, url, policy_id)
    path, _ = endpoint_pool.take()
    try:
        body = tencent_metric_body(
            policy_id=policy_id,
            instance_id="ins-outb0001",
            first_occur="2024-05-01 10:00:00",
            session_id=uuid.uuid4().hex,
        )
        assert post_callback(callback_web, path, body).status_code == 200

        wait_until(lambda: bool(state.bodies), 30, 0.1, message="the webhook")
        [sent] = state.bodies
        assert sent["event"] == "triggered"
        assert sent["alarm"]["policy_id"] == policy_id
        assert sent["url"].endswith(f"/alarms/{sent['alarm']['id']}/")
        assert state.bad_signatures == 0

        def recorded() -> bool:
            rows = psql(
                db,
                "SELECT m.status, count(t.id) FROM alarms_outboundmessage m"
                " LEFT JOIN alarms_outboundattempt t ON t.message_id = m.id"
                " WHERE m.channel_id = %s GROUP BY m.status",
                channel,
            )
            return [(status, int(n)) for status, n in rows] == [("sent", 1)]

        wait_until(recorded, 15, 0.1, message="the message marked sent with one attempt")
    finally:
        # Off, not deleted (the cascade is Django's): later tests' alarms must not reach it.
        psql(db, "UPDATE alarms_channel SET is_active = false WHERE id = %s", channel)


def test_a_receiver_that_is_down_keeps_the_message_for_a_retry(
    callback_env: dict[str, str],
    callback_web: WebServer,
    shared_worker: CeleryWorker,
    endpoint_pool: EndpointPool,
    receiver: tuple[Receiver, str],
) -> None:
    state, url = receiver
    state.status = 503
    db = callback_env["DATABASE_URL"]
    policy_id = f"policy-{uuid.uuid4().hex[:8]}"
    channel = _channel(db, url, policy_id)
    path, _ = endpoint_pool.take()
    try:
        body = tencent_metric_body(
            policy_id=policy_id,
            instance_id="ins-outb0002",
            first_occur="2024-05-01 11:00:00",
            session_id=uuid.uuid4().hex,
        )
        assert post_callback(callback_web, path, body).status_code == 200

        def retrying() -> bool:
            rows = psql(
                db,
                "SELECT m.status, m.attempts, m.next_attempt_at > now() + interval '20 seconds',"
                " t.status_code, t.outcome FROM alarms_outboundmessage m"
                " JOIN alarms_outboundattempt t ON t.message_id = m.id WHERE m.channel_id = %s",
                channel,
            )
            return [tuple(row) for row in rows] == [("pending", 1, True, 503, "transient")]

        wait_until(retrying, 30, 0.1, message="a pending message with one transient attempt")
    finally:
        # Off, not deleted (the cascade is Django's): later tests' alarms must not reach it.
        psql(db, "UPDATE alarms_channel SET is_active = false WHERE id = %s", channel)
