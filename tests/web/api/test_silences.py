"""Silences over REST (DESIGN §6): shapes, validation 400s, and who may read and write."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from alarms.models import Silence
from alarms.services.silences import create_silence
from tests.web.api.conftest import ROLES, Account

pytestmark = pytest.mark.django_db

URL = "/api/v1/silences/"
FIELDS = {
    "id",
    "comment",
    "filter",
    "starts_at",
    "ends_at",
    "recurrence",
    "created_by",
    "active_now",
}
NIGHTLY = {
    "weekdays": [0, 1, 2, 3, 4],
    "start_time": "22:00",
    "end_time": "06:00",
    "timezone": "Asia/Shanghai",
}


def body(**overrides: Any) -> dict[str, Any]:
    now = timezone.now()
    fields: dict[str, Any] = {
        "comment": "DB upgrade",
        "filter": {"namespace": ["qce/cdb"], "region": ["gz", "sh"]},
        "starts_at": (now - timedelta(minutes=5)).isoformat(),
        "ends_at": (now + timedelta(hours=2)).isoformat(),
        "recurrence": None,
    }
    fields.update(overrides)
    return fields


def existing(**overrides: Any) -> Silence:
    now = timezone.now()
    fields: dict[str, Any] = {
        "starts_at": now - timedelta(hours=1),
        "ends_at": now + timedelta(hours=1),
        "filter": {"namespace": ["qce/cvm"]},
        "comment": "existing",
    }
    fields.update(overrides)
    return create_silence(actor=None, **fields)


def test_operator_creates_a_silence_and_gets_its_shape(accounts: dict[str, Account]) -> None:
    response = accounts["operator"].client().post(URL, body(), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert set(data) == FIELDS
    assert data["filter"] == {"namespace": ["qce/cdb"], "region": ["gz", "sh"]}
    assert data["created_by"] == "operator"
    assert data["active_now"] is True
    assert data["recurrence"] is None
    assert data["starts_at"].endswith("Z")
    assert Silence.objects.get(pk=data["id"]).comment == "DB upgrade"


def test_recurring_silence_round_trips(operator: APIClient) -> None:
    response = operator.post(URL, body(recurrence=NIGHTLY), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["recurrence"] == NIGHTLY


def test_future_silence_is_not_active_now(operator: APIClient) -> None:
    later = timezone.now() + timedelta(days=1)
    response = operator.post(
        URL,
        body(starts_at=later.isoformat(), ends_at=(later + timedelta(hours=1)).isoformat()),
        format="json",
    )
    assert response.json()["active_now"] is False


def test_list_and_detail_have_the_same_shape(viewer: APIClient) -> None:
    silence = existing()
    listed = viewer.get(URL)
    assert listed.status_code == 200
    [row] = listed.json()["results"]
    assert set(row) == FIELDS
    assert row["created_by"] is None
    detail = viewer.get(f"{URL}{silence.pk}/")
    assert detail.json() == row


def test_list_costs_a_fixed_number_of_queries(
    viewer: APIClient, django_assert_max_num_queries: Any
) -> None:
    for _ in range(5):
        existing()
    with django_assert_max_num_queries(6):
        assert len(viewer.get(URL).json()["results"]) == 5


def test_ends_before_starts_is_a_400_naming_ends_at(operator: APIClient) -> None:
    now = timezone.now()
    response = operator.post(
        URL,
        body(starts_at=now.isoformat(), ends_at=(now - timedelta(minutes=1)).isoformat()),
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["ends_at"]
    assert not Silence.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"filter": {"colour": ["red"]}}, "filter"),
        ({"filter": {"status": ["burning"]}}, "filter"),
        ({"filter": ["namespace"]}, "filter"),
        ({"recurrence": {**NIGHTLY, "timezone": "Mars/Olympus"}}, "recurrence"),
        ({"recurrence": {**NIGHTLY, "weekdays": [9]}}, "recurrence"),
        ({"recurrence": {**NIGHTLY, "start_time": "25:00"}}, "recurrence"),
        ({"recurrence": "weekly"}, "recurrence"),
        ({"starts_at": "soon"}, "starts_at"),
        ({"ends_at": None}, "ends_at"),
    ],
)
def test_invalid_input_is_a_400_naming_the_field(
    operator: APIClient, overrides: dict[str, Any], field: str
) -> None:
    response = operator.post(URL, body(**overrides), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Silence.objects.exists()


def test_invalid_filter_400_names_the_filter_key(operator: APIClient) -> None:
    response = operator.post(URL, body(filter={"colour": ["red"]}), format="json")
    assert response.json() == {"filter": ["colour: Unknown filter."]}


def test_missing_window_is_a_400(operator: APIClient) -> None:
    response = operator.post(URL, {"comment": "x"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"starts_at", "ends_at"}


def test_patch_changes_only_the_given_fields(operator: APIClient) -> None:
    silence = existing()
    response = operator.patch(
        f"{URL}{silence.pk}/", {"comment": "longer", "recurrence": NIGHTLY}, format="json"
    )
    assert response.status_code == 200, response.json()
    silence.refresh_from_db()
    assert silence.comment == "longer"
    assert silence.recurrence == NIGHTLY
    assert silence.filter == {"namespace": ["qce/cvm"]}


def test_patch_making_the_window_negative_is_a_400(operator: APIClient) -> None:
    silence = existing()
    before = (silence.starts_at - timedelta(minutes=1)).isoformat()
    response = operator.patch(f"{URL}{silence.pk}/", {"ends_at": before}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["ends_at"]


def test_put_is_not_offered(operator: APIClient) -> None:
    silence = existing()
    assert operator.put(f"{URL}{silence.pk}/", body(), format="json").status_code == 405


def test_delete_removes_the_silence(operator: APIClient) -> None:
    silence = existing()
    assert operator.delete(f"{URL}{silence.pk}/").status_code == 204
    assert not Silence.objects.filter(pk=silence.pk).exists()
    assert operator.get(f"{URL}{silence.pk}/").status_code == 404


READERS = {"viewer", "operator", "superuser"}
WRITERS = {"operator", "superuser"}


@pytest.mark.parametrize("role", ROLES)
def test_every_role_with_view_alarm_reads_silences(accounts: dict[str, Account], role: str) -> None:
    silence = existing()
    client = accounts[role].client()
    expected = 200 if role in READERS else 401 if role == "anonymous" else 403
    assert client.get(URL).status_code == expected
    assert client.get(f"{URL}{silence.pk}/").status_code == expected


@pytest.mark.parametrize("role", ROLES)
def test_only_operators_write_silences(accounts: dict[str, Account], role: str) -> None:
    silence = existing()
    client = accounts[role].client()
    denied = 401 if role == "anonymous" else 403
    created = client.post(URL, body(), format="json").status_code
    changed = client.patch(f"{URL}{silence.pk}/", {"comment": "x"}, format="json").status_code
    deleted = client.delete(f"{URL}{silence.pk}/").status_code
    if role in WRITERS:
        assert (created, changed, deleted) == (201, 200, 204)
    else:
        assert (created, changed, deleted) == (denied, denied, denied)
        assert Silence.objects.get(pk=silence.pk).comment == "existing"
