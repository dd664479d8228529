"""The callback URL, response by response (DESIGN §4 "Callback")."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import DatabaseError, OperationalError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from alarms import tasks
from alarms.choices import DeliveryStatus
from alarms.models import Alarm, CallbackEndpoint, Delivery
from alarms.services.endpoints import NewEndpoint
from tests.support.factories import encode, make_endpoint, post_callback, tencent_payload

pytestmark = pytest.mark.django_db


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


# --- stored -> 200 with the sessionId echoed --------------------------------------------------


def test_stored_alarm_answers_200_with_session_id_echo_and_ret_code_0(
    client: Any, endpoint: NewEndpoint
) -> None:
    response = post_callback(client, endpoint.path, tencent_payload(session_id="ECkYDW5CbFII"))

    assert response.status_code == 200
    assert response.json() == {"sessionId": "ECkYDW5CbFII", "retCode": 0}
    assert Delivery.objects.get().session_id == "ECkYDW5CbFII"


def test_missing_session_id_is_echoed_as_empty_string(client: Any, endpoint: NewEndpoint) -> None:
    payload = tencent_payload()
    del payload["sessionId"]

    response = post_callback(client, endpoint.path, payload)

    assert response.status_code == 200
    assert response.json() == {"sessionId": "", "retCode": 0}
    assert Delivery.objects.get().session_id == ""


def test_numeric_session_id_is_echoed_as_text(client: Any, endpoint: NewEndpoint) -> None:
    response = post_callback(
        client, endpoint.path, tencent_payload(session_id=None) | {"sessionId": 42}
    )

    assert response.json() == {"sessionId": "42", "retCode": 0}


def test_json_object_that_is_not_an_alarm_is_stored_answered_200_and_fails_with_clear_error(
    client: Any, endpoint: NewEndpoint, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = post_callback(client, endpoint.path, {"sessionId": "abc", "hello": "world"})

    assert response.status_code == 200
    assert response.json() == {"sessionId": "abc", "retCode": 0}
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert "not a Tencent alarm" in delivery.error
    assert "alarmObjInfo" in delivery.error
    assert delivery.alarm_ids == []
    assert not Alarm.objects.exists()


def test_stored_alarm_is_processed_into_an_alarm_after_commit(
    client: Any, endpoint: NewEndpoint, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post_callback(client, endpoint.path, tencent_payload(instance_id="ins-abc"))

    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PROCESSED
    assert delivery.attempts == 1
    assert delivery.processed_at is not None
    [alarm_id] = delivery.alarm_ids
    assert Alarm.objects.get(pk=alarm_id).instance.instance_id == "ins-abc"


# --- URL verification: GET / HEAD / empty POST ------------------------------------------------


@pytest.mark.parametrize("method", ["get", "head"])
def test_url_verification_by_get_or_head_answers_200_and_stores_nothing(
    client: Any, endpoint: NewEndpoint, method: str
) -> None:
    response = getattr(client, method)(endpoint.path)

    assert response.status_code == 200
    if method == "get":
        assert response.json() == {"retCode": 0}
    assert not Delivery.objects.exists()


@pytest.mark.parametrize("body", [b"", b"   \r\n\t "], ids=["empty", "whitespace"])
def test_url_verification_by_empty_post_answers_200_and_stores_nothing(
    client: Any, endpoint: NewEndpoint, body: bytes
) -> None:
    response = post_callback(client, endpoint.path, body)

    assert response.status_code == 200
    assert response.json() == {"retCode": 0}
    assert not Delivery.objects.exists()


@pytest.mark.parametrize("method", ["put", "delete", "patch", "options", "trace"])
def test_other_methods_answer_405(client: Any, endpoint: NewEndpoint, method: str) -> None:
    response = getattr(client, method)(endpoint.path)

    assert response.status_code == 405
    assert not Delivery.objects.exists()


# --- unknown / inactive endpoints -------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_unknown_token_answers_404(client: Any, endpoint: NewEndpoint, method: str) -> None:
    path = "/api/v1/callbacks/not-a-real-token-at-all/"
    if method == "post":
        response = post_callback(client, path, tencent_payload())
    else:
        response = client.get(path)

    assert response.status_code == 404
    assert response.json()["retCode"] != 0
    assert not Delivery.objects.exists()


def test_very_long_unknown_token_answers_404(client: Any, endpoint: NewEndpoint) -> None:
    response = post_callback(client, f"/api/v1/callbacks/{'a' * 5000}/", tencent_payload())

    assert response.status_code == 404


@pytest.mark.parametrize("method", ["get", "post"])
def test_inactive_endpoint_answers_404(client: Any, method: str) -> None:
    inactive = make_endpoint(name="retired", is_active=False)

    if method == "post":
        response = post_callback(client, inactive.path, tencent_payload())
    else:
        response = client.get(inactive.path)

    assert response.status_code == 404
    assert not Delivery.objects.exists()


# --- bodies that are not a JSON object -> 400 -------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json at all", "not valid JSON"),
        (b'{"sessionId": "abc",', "not valid JSON"),
        (b"\xff\xfe\xfa{}", "not UTF-8"),
        (b'{"sessionId": "\xe4\xb8"}', "not UTF-8"),
        (b"[]", "must be a JSON object"),
        (b'[{"sessionId": "abc"}]', "must be a JSON object"),
        (b'"a string"', "must be a JSON object"),
        (b"42", "must be a JSON object"),
        (b"1e400", "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b"true", "must be a JSON object"),
        (b"NaN", "not valid JSON"),
        (b'{"sessionId": "abc", "x": Infinity}', "not valid JSON"),
        (b'{"a":' + b"[" * 100 + b"]" * 100 + b"}", "nested deeper than 64 levels"),
    ],
    ids=[
        "text",
        "truncated",
        "invalid-utf8",
        "invalid-utf8-inside-string",
        "empty-array",
        "array-of-objects",
        "string",
        "number",
        "huge-number",
        "null",
        "boolean",
        "nan",
        "infinity-inside-object",
        "deeply-nested-object",
    ],
)
def test_body_that_is_not_a_json_object_answers_400_with_error(
    client: Any, endpoint: NewEndpoint, body: bytes, message: str
) -> None:
    response = post_callback(client, endpoint.path, body)

    assert response.status_code == 400
    assert response.json()["retCode"] == 1
    assert message in response.json()["error"]
    assert not Delivery.objects.exists()


def test_utf8_bom_is_accepted(client: Any, endpoint: NewEndpoint) -> None:
    body = b"\xef\xbb\xbf" + encode(tencent_payload(session_id="bom"))

    response = post_callback(client, endpoint.path, body)

    assert response.status_code == 200
    assert response.json() == {"sessionId": "bom", "retCode": 0}
    assert bytes(Delivery.objects.get().body or b"") == body


# --- size limit -> 413 ------------------------------------------------------------------------


def test_body_over_max_body_bytes_answers_413_and_stores_nothing(
    client: Any, endpoint: NewEndpoint, settings: Any
) -> None:
    body = encode(tencent_payload())
    settings.ALARMHUB_MAX_BODY_BYTES = len(body) - 1

    response = post_callback(client, endpoint.path, body)

    assert response.status_code == 413
    assert response.json()["retCode"] != 0
    assert not Delivery.objects.exists()


def test_body_exactly_at_max_body_bytes_is_stored(
    client: Any, endpoint: NewEndpoint, settings: Any
) -> None:
    body = encode(tencent_payload())
    settings.ALARMHUB_MAX_BODY_BYTES = len(body)

    response = post_callback(client, endpoint.path, body)

    assert response.status_code == 200
    assert Delivery.objects.count() == 1


def test_default_limit_of_one_mebibyte_rejects_a_bigger_body(
    client: Any, endpoint: NewEndpoint
) -> None:
    payload = tencent_payload(padding="x" * (1024 * 1024))

    response = post_callback(client, endpoint.path, payload)

    assert response.status_code == 413
    assert not Delivery.objects.exists()


# --- storage failure -> 503 -------------------------------------------------------------------


def test_database_failure_while_storing_answers_503_so_tencent_retries(
    client: Any, endpoint: NewEndpoint, django_capture_on_commit_callbacks: Any
) -> None:
    # Warm the endpoint cache first: the look-up must not be what fails here.
    post_callback(client, endpoint.path, b"")

    def disk_error(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.startswith('INSERT INTO "alarms_delivery"'):
            raise DatabaseError("disk I/O error")
        return execute(sql, params, many, context)

    with (
        connection.execute_wrapper(disk_error),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = post_callback(client, endpoint.path, tencent_payload(session_id="abc"))

    assert response.status_code == 503
    assert response.json()["retCode"] != 0
    assert "disk I/O" not in response.json()["error"]  # no internals leak to the sender
    assert callbacks == []
    assert not Delivery.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_database_down_during_endpoint_lookup_answers_503_not_500(
    client: Any, endpoint: NewEndpoint, method: str
) -> None:
    # Cold cache (a fresh worker process) and the database is unreachable.
    with mock.patch(
        "alarms.selectors.endpoints.CallbackEndpoint.objects.filter",
        side_effect=OperationalError("connection refused"),
    ):
        if method == "post":
            response = post_callback(client, endpoint.path, tencent_payload())
        else:
            response = client.get(endpoint.path)

    assert response.status_code == 503
    assert response.json()["retCode"] != 0
    assert not Delivery.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_failed_commit_answers_503_leaves_no_row_and_queues_nothing(client: Any) -> None:
    """Outside a transaction the INSERT commits by itself: its commit failing is the INSERT failing.

    The database reports a failed commit (a full disk, an fsync error, a dropped connection) as
    the error of the statement that committed.
    """
    new = make_endpoint(name="commit-fails")
    post_callback(client, new.path, b"")  # warm the endpoint cache

    def failing_commit(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.startswith('INSERT INTO "alarms_delivery"'):
            raise DatabaseError("could not commit")
        return execute(sql, params, many, context)

    with (
        connection.execute_wrapper(failing_commit),
        mock.patch.object(tasks.process_delivery, "delay") as publish,
    ):
        response = post_callback(client, new.path, tencent_payload())

    assert response.status_code == 503
    assert response.json()["retCode"] != 0
    assert not Delivery.objects.exists()
    publish.assert_not_called()


def _insert_fails_once(sent: list[str]) -> Any:
    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.startswith('INSERT INTO "alarms_delivery"'):
            sent.append(sql)
            if len(sent) == 1:
                raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    return wrapper


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("connection_usable", "statuses"), [(False, (200, 2)), (True, (503, 1))])
def test_the_insert_is_the_health_check_of_a_reused_connection(
    client: Any, monkeypatch: Any, connection_usable: bool, statuses: tuple[int, int]
) -> None:
    """No SELECT 1 before the INSERT: a connection broken since the last request (a database
    restart) is reopened and the INSERT sent again; a statement that failed on a working
    connection is not retried (503, Tencent retries)."""
    new = make_endpoint(name="db-restarted")
    post_callback(client, new.path, b"")  # warm: the endpoint cached, the connection open
    db = connections["default"]
    # A new request over the reused connection, with CONN_HEALTH_CHECKS on (as in production).
    monkeypatch.setattr(db, "health_check_enabled", True)
    monkeypatch.setattr(db, "health_check_done", False)
    sent: list[str] = []
    with (
        db.execute_wrapper(_insert_fails_once(sent)),
        mock.patch.object(type(db), "is_usable", return_value=connection_usable),
    ):
        response = post_callback(client, new.path, tencent_payload())

    assert (response.status_code, len(sent)) == statuses
    assert Delivery.objects.count() == (1 if response.status_code == 200 else 0)


# --- any Content-Type; what the stored row holds ----------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        None,
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/octet-stream",
    ],
)
def test_any_content_type_is_accepted_and_body_stored_byte_exact(
    client: Any, endpoint: NewEndpoint, content_type: str | None
) -> None:
    body = encode(tencent_payload(session_id="ct")).replace(b", ", b",\n  ")

    response = post_callback(client, endpoint.path, body, content_type=content_type)

    assert response.status_code == 200
    assert response.json() == {"sessionId": "ct", "retCode": 0}
    delivery = Delivery.objects.get()
    assert bytes(delivery.body or b"") == body
    assert delivery.content_type == (content_type or "")


def test_stored_delivery_records_body_hash_session_sender_and_headers(
    client: Any, endpoint: NewEndpoint
) -> None:
    # Unusual but valid bytes: escaped and raw unicode, odd spacing, a trailing newline.
    body = (
        b'{ "sessionId":"S-\\u00e9-1",\t"alarmStatus" : "1", "note": "\xe4\xba\x91\\u003e",'
        b' "x": 1.50 }\n'
    )

    response = post_callback(
        client,
        endpoint.path,
        body,
        content_type="application/json",
        REMOTE_ADDR="203.0.113.7",
        HTTP_USER_AGENT="Tencent-Cloud-Monitor/1.0",
    )

    assert response.status_code == 200
    assert response.json() == {"sessionId": "S-é-1", "retCode": 0}
    delivery = Delivery.objects.get()
    assert bytes(delivery.body or b"") == body
    assert delivery.body_sha256 == hashlib.sha256(body).hexdigest()
    assert delivery.session_id == "S-é-1"
    assert delivery.remote_addr == "203.0.113.7"
    assert delivery.content_type == "application/json"
    assert delivery.user_agent == "Tencent-Cloud-Monitor/1.0"
    assert delivery.endpoint_id == endpoint.endpoint.pk
    assert delivery.status == DeliveryStatus.PENDING  # the task runs only after commit
    assert delivery.received_at is not None


def test_overlong_header_values_are_truncated_not_rejected(
    client: Any, endpoint: NewEndpoint
) -> None:
    response = post_callback(
        client,
        endpoint.path,
        tencent_payload(session_id="s" * 500),
        content_type="application/json; " + "x" * 500,
        HTTP_USER_AGENT="u" * 1000,
    )

    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert len(delivery.session_id) == 200
    assert len(delivery.content_type) == 200
    assert len(delivery.user_agent) == 300


# --- persist first, queue after commit --------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_delivery_row_is_committed_before_the_task_runs(client: Any) -> None:
    new = make_endpoint(name="durable-first")
    seen: list[dict[str, Any]] = []
    real_run = tasks.process_delivery.run

    def spying_run(delivery_id: int) -> str:
        seen.append(
            {
                "in_transaction": connection.in_atomic_block,
                "status": Delivery.objects.filter(pk=delivery_id)
                .values_list("status", flat=True)
                .first(),
            }
        )
        return real_run(delivery_id)

    with mock.patch.object(tasks.process_delivery, "run", spying_run):
        response = post_callback(client, new.path, tencent_payload())

    assert response.status_code == 200
    assert seen == [{"in_transaction": False, "status": DeliveryStatus.PENDING}]
    assert Delivery.objects.get().status == DeliveryStatus.PROCESSED


def test_broker_failure_still_answers_200_and_the_sweep_requeues_the_delivery(
    client: Any, endpoint: NewEndpoint, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.ALARMHUB_REQUEUE_AFTER_SECONDS = 60
    with (
        mock.patch(
            "alarms.tasks.process_delivery.delay", side_effect=BrokerError("Connection refused")
        ) as publish,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = post_callback(client, endpoint.path, tencent_payload(session_id="lost"))

    assert response.status_code == 200
    assert response.json() == {"sessionId": "lost", "retCode": 0}
    assert publish.call_count == 1
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert not Alarm.objects.exists()

    # Too early: a sweep right now leaves it alone.
    call_command("requeue_stranded", stdout=_Sink())
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING

    later = timezone.now() + timedelta(seconds=61)
    with mock.patch("django.utils.timezone.now", return_value=later):
        call_command("requeue_stranded", stdout=_Sink())

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PROCESSED
    assert Alarm.objects.get().notification_count == 1


def test_sweep_is_scheduled_every_sweep_interval(settings: Any) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["requeue-stranded-deliveries"]

    assert entry["task"] == tasks.requeue_stranded_deliveries.name
    assert entry["schedule"] == timedelta(seconds=settings.ALARMHUB_SWEEP_INTERVAL_SECONDS)


class _Sink:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


# --- HTTP Basic auth --------------------------------------------------------------------------


@pytest.fixture
def basic_endpoint(db: None, settings: Any) -> NewEndpoint:
    # A fast hasher: PBKDF2 costs about a second per check on a slow CI machine.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return make_endpoint(
        name="with-basic", basic_auth_username="tencent", basic_auth_password="s3cret-pass"
    )


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        _basic("tencent", "wrong"),
        _basic("someone", "s3cret-pass"),
        _basic("tencent", ""),
        "Basic !!!not-base64!!!",
        "Bearer s3cret-pass",
        "Basic " + base64.b64encode(b"tencent:\xff").decode(),
    ],
    ids=[
        "none",
        "wrong-password",
        "wrong-user",
        "empty-password",
        "garbage",
        "other-scheme",
        "non-utf8",
    ],
)
def test_basic_auth_endpoint_rejects_missing_or_wrong_credentials_with_401(
    client: Any, basic_endpoint: NewEndpoint, authorization: str | None
) -> None:
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = post_callback(client, basic_endpoint.path, tencent_payload(), **extra)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic ")
    assert not Delivery.objects.exists()


def test_basic_auth_endpoint_accepts_the_right_credentials(
    client: Any, basic_endpoint: NewEndpoint
) -> None:
    response = post_callback(
        client,
        basic_endpoint.path,
        tencent_payload(session_id="auth"),
        HTTP_AUTHORIZATION=_basic("tencent", "s3cret-pass"),
    )

    assert response.status_code == 200
    assert response.json() == {"sessionId": "auth", "retCode": 0}
    assert Delivery.objects.count() == 1


# --- the endpoint look-up is cached -----------------------------------------------------------

# A warm callback inside the test's transaction: the Delivery INSERT inside its savepoint
# (CaptureQueriesContext counts SAVEPOINT and RELEASE). In autocommit mode, as served: the INSERT.
WARM_CALLBACK_QUERIES = 3


def test_warm_callback_does_not_select_the_endpoint_and_costs_few_queries(
    client: Any, endpoint: NewEndpoint
) -> None:
    with CaptureQueriesContext(connection) as cold:
        post_callback(client, endpoint.path, tencent_payload())
    assert any("alarms_callbackendpoint" in q["sql"] for q in cold.captured_queries)

    with CaptureQueriesContext(connection) as warm:
        response = post_callback(client, endpoint.path, tencent_payload())

    assert response.status_code == 200
    sql = [q["sql"] for q in warm.captured_queries]
    assert not [q for q in sql if "alarms_callbackendpoint" in q], sql
    assert len(sql) <= WARM_CALLBACK_QUERIES, sql
    assert sum(q.startswith("INSERT") for q in sql) == 1, sql


@pytest.mark.django_db(transaction=True)
def test_warm_callback_is_one_insert_committed_by_itself_then_queued(client: Any) -> None:
    """As served (autocommit, ATOMIC_REQUESTS off): no BEGIN, SAVEPOINT, RELEASE or COMMIT round
    trips around the INSERT, which PostgreSQL commits (and flushes to disk) before answering."""
    new = make_endpoint(name="one-insert")
    post_callback(client, new.path, tencent_payload())  # warm the endpoint cache
    queued: list[tuple[int, bool]] = []

    def spy(delivery_id: int) -> None:
        queued.append((delivery_id, connection.get_autocommit()))

    with (
        CaptureQueriesContext(connection) as warm,
        mock.patch.object(tasks.process_delivery, "delay", side_effect=spy),
    ):
        response = post_callback(client, new.path, tencent_payload())

    assert response.status_code == 200
    sql = [q["sql"] for q in warm.captured_queries]
    assert len(sql) == 1 and sql[0].startswith('INSERT INTO "alarms_delivery"'), sql
    newest = Delivery.objects.latest("pk")
    assert queued == [(newest.pk, True)]  # published after the row was committed


def test_deactivating_an_endpoint_takes_effect_once_its_cache_entry_is_forgotten(
    client: Any, endpoint: NewEndpoint
) -> None:
    from alarms.selectors.endpoints import forget_endpoint

    assert post_callback(client, endpoint.path, b"").status_code == 200
    CallbackEndpoint.objects.filter(pk=endpoint.endpoint.pk).update(is_active=False)
    forget_endpoint(endpoint.endpoint.token_hash)

    assert post_callback(client, endpoint.path, tencent_payload()).status_code == 404


# --- duplicates (Tencent's retries) -----------------------------------------------------------


def test_byte_identical_resend_is_recorded_as_duplicate_and_leaves_alarm_unchanged(
    client: Any, endpoint: NewEndpoint, django_capture_on_commit_callbacks: Any
) -> None:
    body = encode(tencent_payload(session_id="retry-me"))
    with django_capture_on_commit_callbacks(execute=True):
        first = post_callback(client, endpoint.path, body)
    alarm = Alarm.objects.get()
    assert alarm.notification_count == 1

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        second = post_callback(client, endpoint.path, body)

    assert first.json() == second.json() == {"sessionId": "retry-me", "retCode": 0}
    assert second.status_code == 200
    assert callbacks == []  # a duplicate is never queued
    original, duplicate = Delivery.objects.order_by("pk")
    assert original.status == DeliveryStatus.PROCESSED
    assert duplicate.status == DeliveryStatus.DUPLICATE
    assert duplicate.duplicate_of_id == original.pk
    assert bytes(duplicate.body or b"") == body
    alarm.refresh_from_db()
    assert alarm.notification_count == 1
    assert alarm.events.count() == 1


def test_same_body_on_another_endpoint_is_not_a_duplicate(
    client: Any, endpoint: NewEndpoint
) -> None:
    other = make_endpoint(name="other-account")
    body = encode(tencent_payload(session_id="same"))

    post_callback(client, endpoint.path, body)
    post_callback(client, other.path, body)

    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["pending", "pending"]


def test_resend_racing_the_original_insert_is_recorded_as_duplicate(
    client: Any, endpoint: NewEndpoint
) -> None:
    """The unique index decides: the loser of the race gets an IntegrityError, not a 5xx.

    The true two-process race runs in the PostgreSQL integration suite; here the winner's row is
    already there (inserted directly, as the other process would) when the request arrives.
    """
    body = encode(tencent_payload(session_id="race"))
    digest = hashlib.sha256(body).hexdigest()
    winner = Delivery.objects.create(
        endpoint=endpoint.endpoint,
        body=body,
        body_sha256=digest,
        unique_body_sha256=digest,
        session_id="race",
    )

    response = post_callback(client, endpoint.path, body)

    assert response.status_code == 200
    assert response.json() == {"sessionId": "race", "retCode": 0}
    loser = Delivery.objects.exclude(pk=winner.pk).get()
    assert loser.status == DeliveryStatus.DUPLICATE
    assert loser.duplicate_of_id == winner.pk
    assert loser.unique_body_sha256 is None


def test_resend_inside_an_outer_transaction_keeps_the_transaction_usable(
    endpoint: NewEndpoint,
) -> None:
    from alarms.pipeline.store import store_delivery

    kwargs: dict[str, Any] = {
        "endpoint_id": endpoint.endpoint.pk,
        "body": b'{"a": 1}',
        "session_id": "",
        "remote_addr": None,
        "content_type": "",
        "user_agent": "",
    }
    with transaction.atomic():
        first = store_delivery(**kwargs)
        second = store_delivery(**kwargs)
        assert Delivery.objects.count() == 2  # the failed INSERT did not poison the transaction

    assert (first.duplicate, second.duplicate) == (False, True)
