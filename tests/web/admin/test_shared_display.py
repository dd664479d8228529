"""What the admin and the console say alike: condition text, "system", status colours, timeline."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection
from django.template import Context, Template
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from alarms.choices import AlarmStatus, DeliveryStatus, EventType
from alarms.display import actor_label, condition_text, status_colour
from alarms.models import CallbackEndpoint
from alarms.selectors.timeline import alarm_timeline
from alarms.services.operator import acknowledge_alarm, add_note
from tests.support.admin import ALARMS
from tests.support.factories import apply_alarm


def _alarm(**fields: Any) -> SimpleNamespace:
    defaults = {
        "kind": "metric",
        "metric_name": "cpu_usage",
        "metric_display_name": "CPU利用率",
        "current_value": "95.5",
        "operator": ">",
        "threshold": "80",
        "unit": "%",
        "event_name": "",
        "event_display_name": "",
    }
    return SimpleNamespace(**{**defaults, **fields})


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, "CPU利用率 95.5 > 80%"),
        ({"metric_display_name": ""}, "cpu_usage 95.5 > 80%"),
        ({"unit": "MB", "threshold": "512"}, "CPU利用率 95.5 > 512MB"),
        ({"threshold": "", "operator": "", "unit": "%"}, "CPU利用率 95.5"),
        ({"current_value": ""}, "CPU利用率 > 80%"),
        (
            {
                "kind": "event",
                "event_name": "ping_unreachable",
                "event_display_name": "Ping 不可达",
            },
            "Ping 不可达",
        ),
        ({"kind": "event", "event_name": "ping_unreachable"}, "ping_unreachable"),
        ({"kind": "event"}, "-"),
    ],
)
def test_condition_text(fields: dict[str, str], expected: str) -> None:
    assert condition_text(_alarm(**fields)) == expected


def test_actor_label_names_the_user_or_the_system() -> None:
    user = SimpleNamespace(get_username=lambda: "alice")

    assert actor_label(user) == "alice"
    assert actor_label(None) == "system"
    with translation.override("zh-hans"):
        assert actor_label(None) == "系统"


def test_status_colours_come_from_the_choices() -> None:
    assert status_colour("firing") == AlarmStatus.FIRING.colour
    assert status_colour("recovered") == AlarmStatus.RECOVERED.colour
    assert status_colour("failed") == DeliveryStatus.FAILED.colour
    assert status_colour("no-such-status") == ""


def test_template_filters_render_the_shared_texts() -> None:
    template = Template(
        "{% load alarms %}{{ alarm|condition_text }}|{{ actor|actor_label }}"
        "|{{ status|status_colour }}|{{ seconds|humanize_duration }}"
    )

    text = template.render(
        Context({"alarm": _alarm(), "actor": None, "status": "firing", "seconds": 5400})
    )

    assert text == f"CPU利用率 95.5 &gt; 80%|system|{AlarmStatus.FIRING.colour}|1 h 30 min"


def test_console_table_and_admin_list_show_the_same_condition(
    operator_client: Any, admin_endpoint: CallbackEndpoint
) -> None:
    alarm = apply_alarm(
        admin_endpoint,
        metric_display_name="Disk usage",
        current_value="96.7",
        operator=">=",
        threshold="95",
        unit="%",
    )

    # The console's partial, with only what its rows need (the console view adds the rest).
    table = render_to_string(
        "alarms/_alarm_table.html",
        {"alarms": [alarm], "single_row": True, "matching_count": 1, "firing_total": 1},
    )
    admin_list = operator_client.get(ALARMS).content.decode()

    assert "Disk usage 96.7 &gt;= 95%" in table
    assert "Disk usage 96.7 &gt;= 95%" in admin_list
    assert f"alarmhub-bg-{AlarmStatus.FIRING.colour[1:]}" in table


def test_timeline_selector_reads_events_and_notes_in_two_queries(
    operator_user: Any, admin_endpoint: CallbackEndpoint
) -> None:
    alarm = apply_alarm(admin_endpoint)
    acknowledge_alarm(alarm=alarm, actor=operator_user)
    note = add_note(alarm=alarm, author=operator_user, text="looking")

    with CaptureQueriesContext(connection) as ctx:
        timeline = alarm_timeline(alarm)
        [getattr(event, "note", None) for event in timeline.events]
        [event.actor for event in timeline.events]

    assert len(ctx.captured_queries) == 2
    assert [e.type for e in timeline.events] == [
        EventType.TRIGGERED,
        EventType.ACKNOWLEDGED,
        EventType.ANNOTATED,
    ]
    annotated = timeline.events[-1]
    # Attached by the selector for the templates (not model fields).
    assert getattr(annotated, "note", None) == note
    assert all(key != "note_id" for key, _value in getattr(annotated, "detail_items", []))
    assert [n.text for n in timeline.notes] == ["looking"]
    assert not timeline.events_truncated
    assert not timeline.notes_truncated


def test_timeline_selector_keeps_the_latest_entries_oldest_first(
    operator_user: Any, admin_endpoint: CallbackEndpoint
) -> None:
    alarm = apply_alarm(admin_endpoint)
    for text in ("first", "second", "third"):
        add_note(alarm=alarm, author=operator_user, text=text)

    timeline = alarm_timeline(alarm, limit=2)

    assert [n.text for n in timeline.notes] == ["second", "third"]
    assert timeline.notes_truncated
    assert [e.type for e in timeline.events] == [EventType.ANNOTATED, EventType.ANNOTATED]
    assert timeline.events_truncated
