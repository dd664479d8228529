"""The outbox sender against fake robots on 127.0.0.1 that verify signatures the vendors' way
(computed here independently of alarms.notify.signing) and answer with the vendors' codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.utils import timezone

from alarms.choices import OutboundStatus
from alarms.models import Alarm, Channel, OutboundMessage
from alarms.notify import sender
from alarms.notify.sender import MAX_ATTEMPTS, send_message
from alarms.services.lifecycle import apply_notification
from alarms.services.outbox import requeue_due_messages
from tests.support.factories import make_endpoint, notification

SECRET = "SEC-fake-robot-secret-42"
BASE_URL = "https://alarmhub.example.com"


@dataclass
class Received:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeRobots:
    """One server, a path per vendor; ``answers[path]`` is a queue of (status, JSON) replies
    given after the signature check passes (default: the vendor's success)."""

    url: str
    received: list[Received] = field(default_factory=list)
    answers: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    secret: str = SECRET

    def of(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]


_SUCCESS: dict[str, tuple[int, dict[str, Any]]] = {
    "/webhook": (200, {"ok": True}),
    "/wecom": (200, {"errcode": 0, "errmsg": "ok"}),
    "/dingtalk": (200, {"errcode": 0, "errmsg": "ok"}),
    "/feishu": (200, {"code": 0, "msg": "success", "data": {}}),
}


def _signature_error(robots: FakeRobots, got: Received) -> tuple[int, dict[str, Any]] | None:
    """The vendor's answer to a bad signature, or None when it verifies."""
    key = robots.secret.encode()
    if got.path == "/webhook":
        timestamp = got.headers.get("x-alarmhub-timestamp", "")
        expected = (
            "sha256="
            + hmac.new(key, f"{timestamp}.".encode() + got.body, hashlib.sha256).hexdigest()
        )
        if not hmac.compare_digest(expected, got.headers.get("x-alarmhub-signature", "")):
            return 401, {"error": "bad signature"}
    elif got.path == "/dingtalk":
        timestamp = got.query.get("timestamp", [""])[0]
        # parse_qs already URL-decoded the sign once.
        sign = got.query.get("sign", [""])[0]
        digest = hmac.new(key, f"{timestamp}\n{robots.secret}".encode(), hashlib.sha256).digest()
        if not timestamp or sign != base64.b64encode(digest).decode():
            return 200, {"errcode": 310000, "errmsg": "sign not match"}
    elif got.path == "/feishu":
        body = got.json()
        timestamp = body.get("timestamp", "")
        digest = hmac.new(f"{timestamp}\n{robots.secret}".encode(), b"", hashlib.sha256).digest()
        if body.get("sign") != base64.b64encode(digest).decode():
            return 200, {
                "code": 19021,
                "msg": "sign match fail or timestamp is not within one hour",
            }
    return None


@pytest.fixture
def robots() -> Iterator[FakeRobots]:
    state: dict[str, FakeRobots] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            got = Received(
                path=parts.path,
                query=parse_qs(parts.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length),
            )
            fake = state["robots"]
            fake.received.append(got)
            answer = _signature_error(fake, got)
            if answer is None:
                queue = fake.answers.get(got.path) or []
                answer = queue.pop(0) if queue else _SUCCESS[got.path]
            status, payload = answer
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["robots"] = FakeRobots(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["robots"]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _base_url(settings: Any) -> None:
    settings.ALARMHUB_BASE_URL = BASE_URL
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def make_channel(robots: FakeRobots, kind: str, *, secret: str = SECRET, **extra: Any) -> Channel:
    path = {"webhook": "/webhook", "wecom": "/wecom", "dingtalk": "/dingtalk", "feishu": "/feishu"}
    url = f"{robots.url}{path[kind]}"
    if kind == "dingtalk":
        url += "?access_token=tok-123"
    fields: dict[str, Any] = {
        "name": f"{kind}-{Channel.objects.count()}",
        "kind": kind,
        "url": url,
        "secret": secret,
        "events": ["triggered", "recovered", "acknowledged"],
        "language": "en",
    }
    fields.update(extra)
    return Channel.objects.create(**fields)


def fire(instance_id: str = "ins-1", **overrides: Any) -> Alarm:
    endpoint = make_endpoint().endpoint
    n = notification(instance_id=instance_id, dimensions={"unInstanceId": instance_id}, **overrides)
    return apply_notification(endpoint=endpoint, notification=n).alarm


def only_message(channel: Channel) -> OutboundMessage:
    return OutboundMessage.objects.get(channel=channel, is_digest=False)


@pytest.mark.django_db
def test_webhook_is_posted_signed_with_the_alarm_json_and_its_absolute_link(
    robots: FakeRobots,
) -> None:
    channel = make_channel(robots, "webhook")
    alarm = fire(policy_name="CPU high")
    message = only_message(channel)

    assert send_message(message.pk) == "sent"

    [got] = robots.of("/webhook")
    body = got.json()
    assert body["event"] == "triggered"
    assert body["url"] == f"{BASE_URL}/alarms/{alarm.pk}/"
    assert body["alarm"]["id"] == alarm.pk
    assert body["alarm"]["policy_name"] == "CPU high"
    assert body["alarm"]["status"] == "firing"
    assert body["alarm"]["url"] == f"{BASE_URL}/api/v1/alarms/{alarm.pk}/"
    assert got.headers["x-alarmhub-signature"].startswith("sha256=")
    message.refresh_from_db()
    assert message.status == OutboundStatus.SENT
    assert message.sent_at is not None
    assert message.attempts == 1
    [attempt] = message.tries.all()
    assert (attempt.outcome, attempt.status_code, attempt.error) == ("ok", 200, "")


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["dingtalk", "feishu", "wecom"])
def test_robots_get_their_own_signed_format(robots: FakeRobots, kind: str) -> None:
    channel = make_channel(robots, kind)
    fire()

    assert send_message(only_message(channel).pk) == "sent"

    [got] = robots.of(f"/{kind}")
    body = got.json()
    if kind == "dingtalk":
        assert got.query["access_token"] == ["tok-123"]
        assert body["msgtype"] == "markdown"
        assert "CPU utilization" in body["markdown"]["text"]
    elif kind == "feishu":
        assert body["msg_type"] == "interactive"
    else:
        assert f"{BASE_URL}/alarms/" in body["markdown"]["content"]


@pytest.mark.django_db
def test_a_wrong_secret_is_a_permanent_failure_recorded_on_the_channel(
    robots: FakeRobots,
) -> None:
    channel = make_channel(robots, "dingtalk", secret="not-the-robots-secret")
    fire()
    message = only_message(channel)

    assert send_message(message.pk) == "failed"

    message.refresh_from_db()
    channel.refresh_from_db()
    assert message.status == OutboundStatus.FAILED
    assert "310000" in channel.last_error
    assert channel.last_error_at is not None
    [attempt] = message.tries.all()
    assert attempt.outcome == "permanent"
    # Neither the secret nor the robot's access token leaks into what the admin shows.
    for text in (channel.last_error, message.last_error, attempt.error):
        assert "not-the-robots-secret" not in text
        assert "tok-123" not in text


@pytest.mark.django_db
def test_a_vendor_rate_limit_answer_pauses_the_robot_and_retries_later(
    robots: FakeRobots,
) -> None:
    robots.answers["/dingtalk"] = [(200, {"errcode": 130101, "errmsg": "send too fast"})]
    channel = make_channel(robots, "dingtalk")
    fire()
    message = only_message(channel)
    now = timezone.now()

    assert send_message(message.pk, now=now) == "retry"

    message.refresh_from_db()
    assert message.status == OutboundStatus.PENDING
    assert message.attempts == 1
    # DingTalk bans for ten minutes: nothing goes out before that.
    assert message.next_attempt_at is not None
    assert message.next_attempt_at >= now + timedelta(seconds=600)
    assert send_message(message.pk, now=now + timedelta(seconds=60)) == "skipped"
    assert len(robots.of("/dingtalk")) == 1

    assert send_message(message.pk, now=now + timedelta(seconds=601)) == "sent"
    assert [t.outcome for t in message.tries.all()] == ["transient", "ok"]


@pytest.mark.django_db
def test_transient_errors_back_off_exponentially_then_fail_after_max_attempts(
    robots: FakeRobots,
) -> None:
    robots.answers["/webhook"] = [(503, {"error": "down"})] * MAX_ATTEMPTS
    channel = make_channel(robots, "webhook")
    fire()
    message = only_message(channel)
    now = timezone.now()
    waits = []

    for _ in range(MAX_ATTEMPTS - 1):
        assert send_message(message.pk, now=now) == "retry"
        message.refresh_from_db()
        assert message.next_attempt_at is not None
        waits.append((message.next_attempt_at - now).total_seconds())
        now = message.next_attempt_at
    assert send_message(message.pk, now=now) == "failed"

    assert waits[:4] == [30, 60, 120, 240]
    assert max(waits) <= sender.BACKOFF_MAX_SECONDS
    message.refresh_from_db()
    channel.refresh_from_db()
    assert message.status == OutboundStatus.FAILED
    assert message.tries.count() == MAX_ATTEMPTS
    assert {t.status_code for t in message.tries.all()} == {503}
    assert "HTTP 503" in channel.last_error


@pytest.mark.django_db
def test_a_rerun_of_a_sent_message_sends_nothing(robots: FakeRobots) -> None:
    channel = make_channel(robots, "webhook")
    fire()
    message = only_message(channel)

    assert send_message(message.pk) == "sent"
    assert send_message(message.pk) == "skipped"
    assert len(robots.received) == 1


@pytest.mark.django_db
def test_overflow_beyond_the_rate_limit_is_merged_into_one_digest(robots: FakeRobots) -> None:
    channel = make_channel(robots, "wecom", secret="")
    alarms = [fire(instance_id=f"ins-{i}") for i in range(13)]
    now = timezone.now()
    results = [
        send_message(OutboundMessage.objects.get(channel=channel, alarm=alarm).pk, now=now)
        for alarm in alarms
    ]

    # WeCom allows 20 a minute: a burst of 10, the rest over the minute.
    assert results.count("sent") == 10
    assert results.count("merged") == 3
    digest = OutboundMessage.objects.get(channel=channel, is_digest=True)
    assert digest.merged.count() == 3
    assert digest.next_attempt_at is not None and digest.next_attempt_at > now
    assert send_message(digest.pk, now=now) == "skipped"  # not due yet

    assert send_message(digest.pk, now=digest.next_attempt_at) == "sent"
    content = robots.of("/wecom")[-1].json()["markdown"]["content"]
    assert "3 more alarms in qce/cvm: 3 firing" in content
    assert len(robots.of("/wecom")) == 11  # never more than the limit allows


@pytest.mark.django_db
def test_the_sweep_requeues_stuck_and_overdue_messages(robots: FakeRobots) -> None:
    channel = make_channel(robots, "webhook")
    fire()
    message = only_message(channel)
    long_ago = timezone.now() - timedelta(hours=1)
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=OutboundStatus.SENDING, status_changed_at=long_ago
    )

    # Embedded mode: re-publishing runs the sender at once.
    result = requeue_due_messages()

    assert result.unstuck == 1
    message.refresh_from_db()
    assert message.status == OutboundStatus.SENT
    assert len(robots.of("/webhook")) == 1


@pytest.mark.django_db
def test_email_channels_send_plain_text_through_django_mail() -> None:
    channel = Channel.objects.create(
        name="mail",
        kind="email",
        url="ops@example.com, oncall@example.com",
        events=["triggered"],
        language="en",
    )
    alarm = fire(policy_name="Disk full")

    assert send_message(only_message(channel).pk) == "sent"

    [email] = mail.outbox
    assert email.to == ["ops@example.com", "oncall@example.com"]
    assert email.subject.startswith("[Alarm]")
    assert f"{BASE_URL}/alarms/{alarm.pk}/" in email.body
    assert "**" not in email.body


@pytest.mark.django_db
def test_a_test_message_to_a_webhook_says_test_and_has_no_alarm(robots: FakeRobots) -> None:
    from alarms.services.channels import send_test_message

    channel = make_channel(robots, "webhook")
    message = send_test_message(channel=channel, actor=None)

    assert send_message(message.pk) == "sent"
    body = robots.of("/webhook")[0].json()
    assert body["event"] == "test"
    assert body["alarm"] is None


@pytest.mark.django_db
def test_unreachable_endpoint_is_transient_and_keeps_the_message(robots: FakeRobots) -> None:
    channel = Channel.objects.create(
        name="down",
        kind="webhook",
        url="http://127.0.0.1:9/hook?key=robot-key",
        events=["triggered"],
    )
    fire()
    message = only_message(channel)

    assert send_message(message.pk) == "retry"

    message.refresh_from_db()
    assert message.status == OutboundStatus.PENDING
    [attempt] = message.tries.all()
    assert attempt.status_code is None
    assert attempt.outcome == "transient"
    assert "robot-key" not in attempt.error
