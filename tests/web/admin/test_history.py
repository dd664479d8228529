"""The admin's History page of an alarm shows what operators did, wherever they did it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.test import Client

from alarms.models import CallbackEndpoint
from alarms.permissions import OPERATOR
from tests.support.accounts import client_for, console_user
from tests.support.factories import apply_alarm


def test_history_lists_acknowledgements_and_notes_from_console_and_admin(
    admin_endpoint: CallbackEndpoint, operator_client: Client, operator_user: Any
) -> None:
    alarm = apply_alarm(admin_endpoint)
    console_operator: User = console_user("carla", OPERATOR)
    console = client_for(console_operator)
    assert console.post(f"/alarms/{alarm.pk}/acknowledge/", {"note": "on it"}).status_code == 302
    admin_note = operator_client.post(
        f"/admin/alarms/alarm/{alarm.pk}/notes/", {"text": "failover done"}
    )
    assert admin_note.status_code == 302
    operator_client.post(f"/admin/alarms/alarm/{alarm.pk}/unacknowledge/")

    response = operator_client.get(f"/admin/alarms/alarm/{alarm.pk}/history/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "doesn’t have a change history" not in page
    assert page.count('class="event-acknowledged"') == 1
    assert page.count('class="event-annotated"') == 2
    assert page.count('class="event-unacknowledged"') == 1
    assert "on it" in page and "failover done" in page
    assert "carla" in page and operator_user.get_username() in page
