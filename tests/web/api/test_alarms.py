"""Alarm representation, detail and the operator actions of the REST API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from alarms.choices import EventType
from alarms.models import Alarm, AlarmEvent, CallbackEndpoint, Note
from alarms.services.lifecycle import apply_notification
from alarms.services.operator import MAX_NOTE_LENGTH, acknowledge_alarm
from tests.support.factories import make_delivery, notification
from tests.web.api.conftest import Account, apply, at

CONTRACT_FIELDS = {
    "id",
    "status",
    "kind",
    "fingerprint",
    "namespace",
    "region",
    "level",
    "policy_id",
    "policy_name",
    "policy_type",
    "instance_id",
    "instance_name",
    "dimensions",
    "metric_name",
    "metric_display_name",
    "operator",
    "threshold",
    "unit",
    "current_value",
    "event_name",
    "event_display_name",
    "first_occurred_at",
    "recovered_at",
    "last_notified_at",
    "notification_count",
    "acknowledged",
    "acknowledged_by",
    "acknowledged_at",
    "note_count",
}


def detail_url(alarm: Alarm, suffix: str = "") -> str:
    return f"/api/v1/alarms/{alarm.pk}/{suffix}"


# --- representation --------------------------------------------------------------------------


def test_list_row_has_every_contract_field_with_values_from_the_alarm(
    viewer: APIClient, alarm_factory: Callable[..., Alarm]
) -> None:
    alarm = alarm_factory(
        instance_id="ins-web1",
        instance_name="web-1",
        level="Warn",
        first_occurred_at=at(1, 2),
        duration_seconds=300,
    )

    response = viewer.get("/api/v1/alarms/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    (row,) = body["results"]
    assert set(row) >= CONTRACT_FIELDS
    assert row["id"] == alarm.pk
    assert row["status"] == "firing"
    assert row["kind"] == "metric"
    assert row["fingerprint"] == alarm.fingerprint
    assert (row["namespace"], row["region"], row["level"]) == ("qce/cvm", "gz", "Warn")
    assert (row["policy_id"], row["policy_name"], row["policy_type"]) == (
        "policy-test0001",
        "CPU high",
        "cvm_device",
    )
    assert (row["instance_id"], row["instance_name"]) == ("ins-web1", "web-1")
    assert row["dimensions"] == {"unInstanceId": "ins-web1"}
    assert (row["metric_name"], row["metric_display_name"]) == ("cpu_usage", "CPU utilization")
    assert (row["operator"], row["threshold"], row["unit"], row["current_value"]) == (
        ">",
        "90",
        "%",
        "95",
    )
    assert (row["event_name"], row["event_display_name"]) == ("", "")
    assert row["first_occurred_at"] == "2024-03-01T02:00:00Z"
    assert row["last_notified_at"] == "2024-03-01T02:05:00Z"
    assert row["recovered_at"] is None
    assert row["notification_count"] == 1
    assert row["acknowledged"] is False
    assert row["acknowledged_by"] is None
    assert row["acknowledged_at"] is None
    assert row["note_count"] == 0
    assert row["url"] == f"http://testserver/api/v1/alarms/{alarm.pk}/"
    assert (row["duration_seconds"], row["period_seconds"]) == (300, 60)
    assert (row["trigger_seen"], row["superseded"], row["flapping"]) == (True, False, False)


def test_alarm_without_policy_or_instance_has_empty_strings_not_nulls(
    viewer: APIClient, api_endpoint: CallbackEndpoint
) -> None:
    apply(
        api_endpoint, policy_id="", policy_name="", instance_id="", dimensions={"vip": "10.0.0.9"}
    )

    (row,) = viewer.get("/api/v1/alarms/").json()["results"]

    for field in ("policy_id", "policy_name", "policy_type", "instance_id", "instance_name"):
        assert row[field] == "", field


@override_settings(TIME_ZONE="Asia/Shanghai")
def test_times_are_utc_whatever_the_server_time_zone(
    viewer: APIClient, api_endpoint: CallbackEndpoint
) -> None:
    alarm = apply(api_endpoint, status="recovered", duration_seconds=90, first_occurred_at=at(1))
    acknowledge_alarm(alarm=alarm, actor=None)

    (row,) = viewer.get("/api/v1/alarms/").json()["results"]

    assert row["first_occurred_at"] == "2024-03-01T00:00:00Z"
    assert row["recovered_at"] == "2024-03-01T00:01:30Z"
    assert row["acknowledged_at"].endswith("Z")


def test_list_is_newest_first_occurrence_first_then_newest_id(
    viewer: APIClient, alarm_factory: Callable[..., Alarm]
) -> None:
    old = alarm_factory(instance_id="old", first_occurred_at=at(1))
    tie_a = alarm_factory(instance_id="tie-a", first_occurred_at=at(2))
    tie_b = alarm_factory(instance_id="tie-b", first_occurred_at=at(2))
    new = alarm_factory(instance_id="new", first_occurred_at=at(3))

    ids = [row["id"] for row in viewer.get("/api/v1/alarms/").json()["results"]]

    assert ids == [new.pk, tie_b.pk, tie_a.pk, old.pk]


# --- detail ----------------------------------------------------------------------------------


def test_detail_has_the_alarm_its_timeline_and_notes(
    accounts: dict[str, Account], api_endpoint: CallbackEndpoint
) -> None:
    delivery = make_delivery(api_endpoint)
    alarm = apply_notification(
        endpoint=api_endpoint, notification=notification(first_occurred_at=at(1)), delivery=delivery
    ).alarm
    operator = accounts["operator"]
    acknowledge_alarm(alarm=alarm, actor=operator.user, note="looking")

    response = operator.client().get(detail_url(alarm))

    assert response.status_code == 200
    body = response.json()
    assert set(body) >= CONTRACT_FIELDS
    assert body["acknowledged"] is True
    assert body["acknowledged_by"] == "operator"
    assert body["note_count"] == 1
    assert [e["type"] for e in body["events"]] == ["triggered", "acknowledged", "annotated"]
    triggered, acknowledged, annotated = body["events"]
    assert set(triggered) == {"id", "type", "occurred_at", "actor", "delivery_id", "details"}
    assert triggered["actor"] is None
    assert triggered["delivery_id"] == delivery.pk
    assert triggered["details"]["session_id"]
    assert acknowledged["actor"] == "operator"
    assert acknowledged["delivery_id"] is None
    (note,) = body["notes"]
    assert set(note) == {"id", "author", "text", "created_at"}
    assert (note["author"], note["text"]) == ("operator", "looking")
    assert annotated["details"] == {"note_id": note["id"]}


def test_unknown_alarm_is_404(viewer: APIClient, db: None) -> None:
    assert viewer.get("/api/v1/alarms/424242/").status_code == 404
    # Ids too long for a 64-bit key never reach the database.
    assert viewer.get("/api/v1/alarms/99999999999999999999999/").status_code == 404


# --- acknowledge / unacknowledge -------------------------------------------------------------


def test_acknowledge_returns_the_alarm_and_is_idempotent(
    operator: APIClient, alarm_factory: Callable[..., Alarm]
) -> None:
    alarm = alarm_factory()

    first = operator.post(detail_url(alarm, "acknowledge/"))
    second = operator.post(detail_url(alarm, "acknowledge/"), {}, format="json")

    assert first.status_code == second.status_code == 200
    assert first.json()["acknowledged"] is True
    assert first.json()["acknowledged_by"] == "operator"
    assert second.json()["acknowledged_at"] == first.json()["acknowledged_at"]
    assert AlarmEvent.objects.filter(alarm=alarm, type=EventType.ACKNOWLEDGED).count() == 1
    alarm.refresh_from_db()
    assert alarm.acknowledged_by is not None
    assert alarm.acknowledged_by.username == "operator"


def test_acknowledge_with_a_note_adds_the_note(
    operator: APIClient, alarm_factory: Callable[..., Alarm]
) -> None:
    alarm = alarm_factory()

    response = operator.post(detail_url(alarm, "acknowledge/"), {"note": " on it "}, format="json")

    assert response.status_code == 200
    assert response.json()["note_count"] == 1
    assert list(Note.objects.filter(alarm=alarm).values_list("text", flat=True)) == ["on it"]


@pytest.mark.parametrize(
    "body",
    [
        {"note": "x" * (MAX_NOTE_LENGTH + 1)},
        {"note": ["a"]},
        ["not", "a", "dict"],
    ],
    ids=["too-long", "not-a-string", "not-an-object"],
)
def test_acknowledge_with_an_invalid_body_is_400_and_changes_nothing(
    operator: APIClient, alarm_factory: Callable[..., Alarm], body: Any
) -> None:
    alarm = alarm_factory()

    response = operator.post(detail_url(alarm, "acknowledge/"), body, format="json")

    assert response.status_code == 400
    assert set(response.json()) <= {"note", "non_field_errors"}
    alarm.refresh_from_db()
    assert alarm.acknowledged_at is None


def test_unacknowledge_returns_the_alarm_and_is_idempotent(
    operator: APIClient, alarm_factory: Callable[..., Alarm]
) -> None:
    alarm = alarm_factory()
    acknowledge_alarm(alarm=alarm, actor=None)

    first = operator.post(detail_url(alarm, "unacknowledge/"))
    second = operator.post(detail_url(alarm, "unacknowledge/"))

    assert first.status_code == second.status_code == 200
    assert first.json()["acknowledged"] is False
    assert first.json()["acknowledged_by"] is None
    assert AlarmEvent.objects.filter(alarm=alarm, type=EventType.UNACKNOWLEDGED).count() == 1


def test_acknowledging_an_unknown_alarm_is_404(operator: APIClient, db: None) -> None:
    assert operator.post("/api/v1/alarms/424242/acknowledge/").status_code == 404


# --- notes -----------------------------------------------------------------------------------


def test_add_note_returns_201_with_the_note(
    operator: APIClient, alarm_factory: Callable[..., Alarm]
) -> None:
    alarm = alarm_factory()

    response = operator.post(detail_url(alarm, "notes/"), {"text": "restarted nginx"}, "json")

    assert response.status_code == 201
    body = response.json()
    assert (body["author"], body["text"]) == ("operator", "restarted nginx")
    assert body["created_at"].endswith("Z")
    alarm.refresh_from_db()
    assert alarm.note_count == 1
    assert Note.objects.get(pk=body["id"]).alarm_id == alarm.pk


@pytest.mark.parametrize(
    "body",
    [{}, {"text": ""}, {"text": "   "}, {"text": "x" * (MAX_NOTE_LENGTH + 1)}, {"text": None}],
    ids=["missing", "empty", "blank", "too-long", "null"],
)
def test_invalid_note_is_400_naming_text(
    operator: APIClient, alarm_factory: Callable[..., Alarm], body: dict[str, Any]
) -> None:
    alarm = alarm_factory()

    response = operator.post(detail_url(alarm, "notes/"), body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["text"]
    assert not Note.objects.exists()


# --- bulk ------------------------------------------------------------------------------------


def test_bulk_acknowledge_counts_changes_and_reports_unknown_ids(
    operator: APIClient, alarm_factory: Callable[..., Alarm]
) -> None:
    one = alarm_factory(instance_id="one")
    two = alarm_factory(instance_id="two")
    already = alarm_factory(instance_id="three")
    acknowledge_alarm(alarm=already, actor=None)
    ids = [two.pk, one.pk, already.pk, 999999, one.pk]

    first = operator.post("/api/v1/alarms/acknowledge/", {"ids": ids}, format="json")
    again = operator.post("/api/v1/alarms/acknowledge/", {"ids": ids}, format="json")

    assert first.status_code == again.status_code == 200
    assert first.json() == {
        "acknowledged": 2,
        "ids": sorted([one.pk, two.pk, already.pk]),
        "not_found": [999999],
    }
    assert again.json()["acknowledged"] == 0
    assert not Alarm.objects.filter(acknowledged_at__isnull=True).exists()


def test_bulk_unacknowledge(operator: APIClient, alarm_factory: Callable[..., Alarm]) -> None:
    one = alarm_factory(instance_id="one")
    two = alarm_factory(instance_id="two")
    acknowledge_alarm(alarm=one, actor=None)

    response = operator.post(
        "/api/v1/alarms/unacknowledge/", {"ids": [one.pk, two.pk]}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {"unacknowledged": 1, "ids": [one.pk, two.pk], "not_found": []}
    assert not Alarm.objects.filter(acknowledged_at__isnull=False).exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"ids": []},
        {"ids": "1,2"},
        {"ids": ["x"]},
        {"ids": [0]},
        {"ids": [2**63]},
        {"ids": list(range(1, 502))},
    ],
    ids=["missing", "empty", "string", "not-int", "zero", "too-big", "too-many"],
)
def test_bulk_with_invalid_ids_is_400_naming_ids(
    operator: APIClient, db: None, body: dict[str, Any]
) -> None:
    response = operator.post("/api/v1/alarms/acknowledge/", body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["ids"]


# --- throttling ------------------------------------------------------------------------------


def test_write_actions_are_throttled_per_user(
    operator: APIClient,
    viewer: APIClient,
    alarm_factory: Callable[..., Alarm],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from alarms.api.views import AlarmWriteThrottle

    monkeypatch.setattr(AlarmWriteThrottle, "THROTTLE_RATES", {"alarm_write": "2/minute"})
    alarm = alarm_factory()
    url = detail_url(alarm, "acknowledge/")

    codes = [operator.post(url).status_code for _ in range(3)]

    assert codes == [200, 200, 429]
    # Reads are not throttled.
    assert all(viewer.get("/api/v1/alarms/").status_code == 200 for _ in range(3))


def test_browsable_api_pages_render_for_a_logged_in_user(
    accounts: dict[str, Account], alarm_factory: Callable[..., Alarm]
) -> None:
    alarm = alarm_factory()
    browser = APIClient()
    user = accounts["operator"].user
    assert user is not None
    browser.force_login(user)

    for url in ("/api/v1/alarms/?namespace=qce/cvm", detail_url(alarm), "/api/v1/endpoints/"):
        response = browser.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 200, url
        assert response["Content-Type"].startswith("text/html")
