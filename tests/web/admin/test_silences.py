"""Silences in the admin: Operators write them through the services; Viewers only read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from alarms.models import Silence
from alarms.services.silences import create_silence

pytestmark = pytest.mark.django_db

ADD = "/admin/alarms/silence/add/"


def form(**overrides: str) -> dict[str, str]:
    now = timezone.now()
    data = {
        "comment": "maintenance",
        "filter": '{"namespace": "qce/cvm"}',
        "starts_at_0": now.strftime("%Y-%m-%d"),
        "starts_at_1": "00:00:00",
        "ends_at_0": (now + timedelta(days=1)).strftime("%Y-%m-%d"),
        "ends_at_1": "00:00:00",
        "recurrence": "",
    }
    data.update(overrides)
    return data


def existing() -> Silence:
    now = timezone.now()
    return create_silence(actor=None, starts_at=now, ends_at=now + timedelta(hours=1))


def test_operator_adds_a_silence_with_a_cleaned_filter(operator_client: Client) -> None:
    response = operator_client.post(ADD, form())
    assert response.status_code == 302, response.context["adminform"].form.errors
    silence = Silence.objects.get()
    assert silence.filter == {"namespace": ["qce/cvm"]}
    assert silence.created_by is not None
    assert silence.created_by.username == "ops-operator"
    assert silence.recurrence is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"filter": '{"colour": ["red"]}'}, "filter"),
        ({"recurrence": '{"weekdays": [8]}'}, "recurrence"),
        ({"ends_at_0": "2000-01-01"}, "ends_at"),
    ],
)
def test_invalid_input_is_shown_beside_the_field(
    operator_client: Client, overrides: dict[str, str], field: str
) -> None:
    response = operator_client.post(ADD, form(**overrides))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not Silence.objects.exists()


def test_operator_changes_and_deletes_a_silence(operator_client: Client) -> None:
    silence = existing()
    url = f"/admin/alarms/silence/{silence.pk}/change/"
    recurrence = '{"weekdays": [0], "start_time": "22:00", "end_time": "06:00", "timezone": "UTC"}'
    response = operator_client.post(url, form(comment="changed", recurrence=recurrence))
    assert response.status_code == 302
    silence.refresh_from_db()
    assert silence.comment == "changed"
    assert silence.recurrence == {
        "weekdays": [0],
        "start_time": "22:00",
        "end_time": "06:00",
        "timezone": "UTC",
    }
    response = operator_client.post(f"/admin/alarms/silence/{silence.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Silence.objects.exists()


def test_viewer_sees_silences_but_may_not_write(viewer_client: Client) -> None:
    silence = existing()
    assert viewer_client.get("/admin/alarms/silence/").status_code == 200
    assert viewer_client.get(ADD).status_code == 403
    assert viewer_client.post(f"/admin/alarms/silence/{silence.pk}/delete/").status_code == 403
    assert Silence.objects.filter(pk=silence.pk).exists()


def test_staff_without_role_sees_no_silences(norole_client: Client) -> None:
    existing()
    assert norole_client.get("/admin/alarms/silence/").status_code == 403
