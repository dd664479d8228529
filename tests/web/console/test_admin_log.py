"""Console actions appear in the admin's History and "Recent actions" (issue 10)."""

from __future__ import annotations

from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User

from alarms.services.endpoints import NewEndpoint
from tests.support.accounts import client_for
from tests.support.factories import apply_alarm


def test_acknowledge_unacknowledge_and_note_are_logged_for_the_admin(
    endpoint: NewEndpoint, staff_operator: User
) -> None:
    alarm = apply_alarm(endpoint.endpoint)
    client = client_for(staff_operator)
    client.post(f"/alarms/{alarm.pk}/acknowledge/", {"note": "on it"})
    client.post(f"/alarms/{alarm.pk}/acknowledge/", {"undo": "1"})
    entries = LogEntry.objects.filter(object_id=str(alarm.pk)).order_by("pk")
    messages = [entry.get_change_message() for entry in entries]
    assert messages == [
        "Changed acknowledged at and acknowledged by.",
        "Added note “on it”.",
        "Changed acknowledged at and acknowledged by.",
    ]
    assert {entry.user_id for entry in entries} == {staff_operator.pk}
    index = client.get("/admin/").content.decode()
    recent = index.split('id="recent-actions-module"', 1)[1]
    assert str(alarm) in recent
    history = client.get(f"/admin/alarms/alarm/{alarm.pk}/history/").content.decode()
    assert "Added note “on it”." in history


def test_actions_nobody_did_leave_no_log_entry(endpoint: NewEndpoint) -> None:
    from alarms.services.operator import acknowledge_alarm, unacknowledge_alarm

    alarm = apply_alarm(endpoint.endpoint)
    acknowledge_alarm(alarm=alarm, actor=None)
    unacknowledge_alarm(alarm=alarm, actor=None)
    assert not LogEntry.objects.exists()
