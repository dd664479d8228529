"""Hostile and random bodies on the callback URL: never a 500, never a crashed worker.

Every body is POSTed through the Django test client (which re-raises any exception the view lets
escape) and, when stored, processed in-process right away. A stored delivery must end
``processed``, ``failed`` (with a parse error, not an internal or database error) or
``duplicate``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alarms.choices import DeliveryStatus
from alarms.models import Delivery
from alarms.services.endpoints import NewEndpoint
from tests.support.factories import FIXTURES, encode, post_callback, tencent_payload

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

FINAL_STATUSES = {DeliveryStatus.PROCESSED, DeliveryStatus.FAILED, DeliveryStatus.DUPLICATE}
# A failure the worker reports for a body it understood to be broken; anything else is a bug.
UNEXPECTED_ERRORS = ("internal error", "database error")


@contextmanager
def rolled_back() -> Iterator[None]:
    savepoint = transaction.savepoint()
    try:
        yield
    finally:
        transaction.savepoint_rollback(savepoint)


def check(client: Any, endpoint: NewEndpoint, capture: Any, body: bytes) -> int:
    """POST ``body``, run the worker, and check the outcome; returns the HTTP status."""
    with rolled_back():
        before = Delivery.objects.count()
        with capture(execute=True):
            response = post_callback(client, endpoint.path, body)
        assert response.status_code in {200, 400, 413}, (response.status_code, response.content)
        answer = response.json()
        assert isinstance(answer, dict) and "retCode" in answer
        stored = list(Delivery.objects.order_by("pk")[before:])
        if response.status_code == 200 and len(body.strip()) > 0:
            assert answer["retCode"] == 0
            assert isinstance(answer["sessionId"], str)
            assert len(stored) == 1, "a 200 for a body must mean it is on disk"
            delivery = stored[0]
            assert bytes(delivery.body or b"") == body
            assert delivery.status in FINAL_STATUSES, (delivery.status, delivery.error)
            if delivery.status == DeliveryStatus.FAILED:
                assert delivery.error
                assert not delivery.error.startswith(UNEXPECTED_ERRORS), delivery.error
        else:
            assert answer["retCode"] != 0 or not stored
            assert not stored
        return response.status_code


# --- strategies -------------------------------------------------------------------------------

# Text with everything JSON can carry: NUL, lone surrogates, astral characters, RTL marks.
hostile_text = st.text(
    alphabet=st.characters(exclude_categories=()), max_size=40
) | st.sampled_from(["\x00", "\ud800", "\udfff", "a\u0000b", "\u202e", "𝔘𝔫𝔦", "", " ", "0"])

hostile_numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -1, 1, 2**63, -(2**63) - 1, 10**300, 1e308, -0.0, 5e-324]),
)

json_scalars = st.none() | st.booleans() | hostile_numbers | hostile_text
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=12,
)


def _dump(value: Any) -> bytes:
    """Valid JSON for ``value``: raw UTF-8, or ``\\uXXXX`` escapes if it has lone surrogates."""
    try:
        return json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, ensure_ascii=True).encode("ascii")


BASE_PAYLOADS = [
    json.loads(path.read_bytes())
    for path in sorted(FIXTURES.glob("*.json"))
    if "alarmPolicyInfo" in json.loads(path.read_bytes())
] + [tencent_payload(), tencent_payload(status="0", recover="2024-03-01 10:30:00", duration=1800)]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            paths += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths += _paths(item, (*prefix, index))
    return paths


@st.composite
def mutated_payloads(draw: Any) -> bytes:
    """A real or realistic alarm with a few fields replaced, removed or added."""
    payload = copy.deepcopy(draw(st.sampled_from(BASE_PAYLOADS)))
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(payload) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = payload
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(hostile_text)] = draw(json_values)
        else:
            parent[path[-1]] = draw(json_values)
    return _dump(payload)


# --- properties -------------------------------------------------------------------------------


@FUZZ
@given(body=st.binary(max_size=2048))
def test_random_bytes_never_cause_a_server_error(
    client: Any, endpoint: NewEndpoint, django_capture_on_commit_callbacks: Any, body: bytes
) -> None:
    check(client, endpoint, django_capture_on_commit_callbacks, body)


@FUZZ
@given(value=json_values)
def test_random_json_never_causes_a_server_error(
    client: Any, endpoint: NewEndpoint, django_capture_on_commit_callbacks: Any, value: Any
) -> None:
    status = check(client, endpoint, django_capture_on_commit_callbacks, _dump(value))

    assert status == (200 if isinstance(value, dict) else 400)


@settings(FUZZ, max_examples=150)
@given(body=mutated_payloads())
def test_mutated_alarm_payloads_never_cause_a_server_error_or_a_crashed_worker(
    client: Any, endpoint: NewEndpoint, django_capture_on_commit_callbacks: Any, body: bytes
) -> None:
    assert check(client, endpoint, django_capture_on_commit_callbacks, body) == 200


@FUZZ
@given(
    field=st.sampled_from(
        ["sessionId", "alarmStatus", "alarmType", "firstOccurTime", "durationTime", "recoverTime"]
    ),
    value=json_values,
)
def test_any_value_in_a_core_field_is_handled(
    client: Any,
    endpoint: NewEndpoint,
    django_capture_on_commit_callbacks: Any,
    field: str,
    value: Any,
) -> None:
    body = _dump(tencent_payload() | {field: value})

    assert check(client, endpoint, django_capture_on_commit_callbacks, body) == 200


# --- hand-picked hostile bodies ---------------------------------------------------------------


def _nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def _alarm_with(**fields: Any) -> bytes:
    return encode(tencent_payload(**fields))


def _alarm_with_raw(key: str, raw_json: str) -> bytes:
    """An alarm body with ``"key": <raw_json>`` spliced in verbatim (for non-Python JSON)."""
    body = encode(tencent_payload())
    return body[:-1] + f', "{key}": {raw_json}}}'.encode()


HOSTILE_BODIES: dict[str, tuple[bytes, int]] = {
    "100k-open-brackets": (b"[" * 100_000, 400),
    "100k-open-objects": (b'{"a":' * 100_000, 400),
    "deep-but-valid-array": (_nested(100_000).encode(), 400),
    "deep-array-inside-alarm": (_alarm_with_raw("deep", _nested(100_000)), 400),
    "nesting-within-64-levels": (_alarm_with_raw("deep", _nested(63)), 200),
    "nesting-beyond-64-levels": (_alarm_with_raw("deep", _nested(64)), 400),
    "nesting-just-under-the-recursion-limit": (_alarm_with_raw("deep", _nested(900)), 400),
    "huge-float": (_alarm_with_raw("durationTime", "1e400"), 200),
    "huge-negative-float": (_alarm_with_raw("big", "-1e400"), 200),
    "huge-float-in-dimensions": (
        encode(tencent_payload()).replace(b'"unInstanceId"', b'"vport": 1e400, "unInstanceId"'),
        200,
    ),
    # Not JSON, though Python's json module reads them by default.
    "nan-literal": (_alarm_with_raw("currentValue", "NaN"), 400),
    "infinity-literal": (_alarm_with_raw("durationTime", "Infinity"), 400),
    "negative-infinity-literal": (_alarm_with_raw("x", "-Infinity"), 400),
    "5000-digit-integer": (_alarm_with_raw("durationTime", "1" + "0" * 5000), 400),
    "4000-digit-integer": (_alarm_with_raw("durationTime", "1" + "0" * 4000), 200),
    "4000-digit-session-id": (_alarm_with_raw("sessionId", "9" * 4000), 200),
    "long-float-mantissa": (_alarm_with_raw("durationTime", "0." + "1" * 100_000), 200),
    "raw-nul-byte-in-string": (b'{"sessionId": "a\x00b"}', 400),
    "raw-nul-byte-outside-string": (b'{"sessionId": "ab"}\x00', 400),
    "escaped-nul-everywhere": (
        _alarm_with(
            session_id="\x00", instance_id="ins-\x00", metric="cpu\x00", first_occur="\x00"
        ),
        200,
    ),
    "escaped-nul-in-keys": (
        encode({**tencent_payload(), "\x00": {"\x00": "\x00"}}),
        200,
    ),
    "lone-surrogates": (
        b'{"sessionId": "\\ud800", "alarmStatus": "1", "alarmType": "metric", '
        b'"alarmObjInfo": {"dimensions": {"unInstanceId": "\\udfff", "k\\ud800": 1}}, '
        b'"alarmPolicyInfo": {"policyId": "\\ud83d", "conditions": {"metricName": "\\ud800"}}, '
        b'"firstOccurTime": "2024-01-01 00:00:00"}',
        200,
    ),
    "invalid-utf8-continuation": (b'{"sessionId": "\xc3\x28"}', 400),
    "overlong-utf8": (b'{"sessionId": "\xc0\xaf"}', 400),
    "utf16-body": (json.dumps(tencent_payload()).encode("utf-16"), 400),
    "unicode-everywhere": (
        _alarm_with(
            session_id="会话🔥",
            instance_id="实例-١٢٣",
            metric="磁盘使用率",
            region="香港",
            namespace="qce/云",
            policy_id="策略\u202e",
        ),
        200,
    ),
    "huge-array": (_alarm_with_raw("tag", json.dumps([0] * 150_000)), 200),
    "huge-array-of-objects-as-dimensions": (
        encode(
            tencent_payload()
            | {"alarmObjInfo": {"region": "gz", "dimensions": {f"k{i}": i for i in range(20_000)}}}
        ),
        200,
    ),
    "huge-string": (_alarm_with(session_id="s" * 900_000), 200),
    "duplicate-keys": (
        encode(tencent_payload())[:-1] + b', "alarmStatus": "0", "alarmStatus": "1"}',
        200,
    ),
    "many-keys": (encode({f"k{i}": i for i in range(50_000)}), 200),
    "object-as-session-id": (encode(tencent_payload() | {"sessionId": {"a": [1]}}), 200),
    "whitespace-padded": (b"\n\t  " + encode(tencent_payload()) + b"  \r\n", 200),
    "bom-then-garbage": (b"\xef\xbb\xbf\xef\xbb\xbf{}", 400),
    "empty-object": (b"{}", 200),
    "times-out-of-range": (
        _alarm_with(first_occur="9999-12-31 23:59:59", recover="0001-01-01 00:00:00", status="0"),
        200,
    ),
    "offset-out-of-range": (_alarm_with(first_occur="2024-01-01 00:00:00+99:99"), 200),
    "year-zero": (_alarm_with(first_occur="0000-01-01 00:00:00"), 200),
    "negative-duration": (_alarm_with(duration=-5), 200),
    "duration-overflow": (_alarm_with(duration=10**18), 200),
    "period-overflow": (
        encode(tencent_payload()).replace(b'"period": "60"', b'"period": 1e300'),
        200,
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
def test_hostile_body_is_answered_without_a_server_error(
    client: Any, endpoint: NewEndpoint, django_capture_on_commit_callbacks: Any, name: str
) -> None:
    body, expected_status = HOSTILE_BODIES[name]

    status = check(client, endpoint, django_capture_on_commit_callbacks, body)

    assert status == expected_status


def test_each_hostile_alarm_sent_twice_is_a_duplicate(
    client: Any, endpoint: NewEndpoint, django_capture_on_commit_callbacks: Any
) -> None:
    body = HOSTILE_BODIES["lone-surrogates"][0]
    with django_capture_on_commit_callbacks(execute=True):
        post_callback(client, endpoint.path, body)
        post_callback(client, endpoint.path, body)

    assert sorted(Delivery.objects.values_list("status", flat=True)) == [
        DeliveryStatus.DUPLICATE,
        DeliveryStatus.PROCESSED,
    ]
