"""Message rendering: pure, deterministic, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alarms.notify.message import OutboundAlarm, RenderedMessage, render_message
from tests.unit.notify.factories import FIRST, HOSTILE, make_alarm

# --- the snapshot --------------------------------------------------------------------------------


def test_from_fields_reads_the_api_alarm_json() -> None:
    alarm = make_alarm(recovered_at="2026-12-03T08:06:00+00:00", acknowledged_by="li.wei")

    assert alarm.first_occurred_at == FIRST
    assert alarm.recovered_at == FIRST + timedelta(minutes=14)
    assert alarm.acknowledged_by == "li.wei"
    assert alarm.fields["fingerprint"] == "f" * 64  # kept whole for the webhook
    assert alarm.url == "https://hub.example.com/alarms/42/"


def test_a_naive_time_or_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        OutboundAlarm(
            id=1, status="firing", kind="metric", first_occurred_at=datetime(2026, 1, 1), url="u"
        )
    with pytest.raises(ValueError, match="status"):
        OutboundAlarm(id=1, status="open", kind="metric", first_occurred_at=FIRST, url="u")  # type: ignore[arg-type]


# --- rendering -----------------------------------------------------------------------------------


def test_trigger_in_chinese() -> None:
    message = render_message(make_alarm(), "triggered", language="zh-hans")

    assert message.title == "[告警] CPU利用率 > 80% — ins-xxx (ap-guangzhou)"
    assert message.lines == (
        "**[告警] CPU利用率 > 80% — ins-xxx (ap-guangzhou)**",
        "**条件**：CPU利用率 > 80%，当前值 92.5%",
        "**实例**：web-01 (ins-xxx) · ap-guangzhou",
        "**策略**：生产 CPU (policy-abc123)",
        "**级别**：严重",
        "**开始时间**：2026-12-03 15:52 CST",
    )
    assert message.tone == "danger"
    assert message.markdown().endswith("[查看告警](https://hub.example.com/alarms/42/) · AlarmHub")


def test_trigger_in_english_in_another_zone() -> None:
    message = render_message(make_alarm(level="Warn"), "triggered", language="en", tz="UTC")

    assert message.title == "[Alarm] CPU利用率 > 80% — ins-xxx (ap-guangzhou)"
    assert "**Condition**: CPU利用率 > 80%, current value 92.5%" in message.lines
    assert "**Level**: Warning" in message.lines
    assert "**Started**: 2026-12-03 07:52 UTC" in message.lines
    assert message.link_text == "Open the alarm"
    assert message.tone == "warning"


def test_repeat_says_how_long_it_has_been_firing() -> None:
    alarm = make_alarm(notification_count=3)
    now = FIRST + timedelta(minutes=25)

    zh = render_message(alarm, "repeated", language="zh-hans", now=now)
    en = render_message(alarm, "repeated", language="en", now=now)

    assert zh.title.startswith("[告警持续 25 分钟] ")
    assert en.title.startswith("[Still firing after 25 min] ")
    assert "**Notifications**: 3" in en.lines
    assert render_message(alarm, "repeated", language="en").title.startswith("[Still firing] ")


def test_recovery_says_after_how_long() -> None:
    alarm = make_alarm(status="recovered", recovered_at="2026-12-03T08:06:00Z")

    en = render_message(alarm, "recovered", language="en")
    zh = render_message(alarm, "recovered", language="zh-hans")

    assert en.title == "[Recovered after 14 min] CPU利用率 > 80% — ins-xxx (ap-guangzhou)"
    assert "**Recovered**: 2026-12-03 16:06 CST" in en.lines
    assert zh.title.startswith("[已恢复，持续 14 分钟] ")
    assert "**恢复时间**：2026-12-03 16:06 CST" in zh.lines
    assert en.tone == "ok"


def test_recovery_without_a_time_says_it_is_unknown() -> None:
    alarm = make_alarm(status="recovered")  # superseded: recovered_at is empty

    message = render_message(alarm, "recovered", language="en")

    assert message.title.startswith("[Recovered] ")
    assert "**Recovered**: time unknown" in message.lines


def test_acknowledgement_names_who() -> None:
    alarm = make_alarm(acknowledged_by="li.wei")

    en = render_message(alarm, "acknowledged", language="en")
    zh = render_message(alarm, "acknowledged", language="zh-hans")

    assert en.title.startswith("[Acknowledged by li.wei] ")
    assert "**Acknowledged by**: li.wei" in en.lines
    assert zh.title.startswith("[li.wei 已确认] ")
    assert "**确认人**：li.wei" in zh.lines
    assert en.tone == "info"


def test_escalation() -> None:
    message = render_message(make_alarm(), "escalated", language="en")

    assert message.title.startswith("[Escalated] ")
    assert message.tone == "danger"


def test_event_alarm_shows_the_event_not_a_condition() -> None:
    alarm = make_alarm(
        kind="event",
        metric_name="",
        metric_display_name="",
        operator="",
        threshold="",
        unit="",
        current_value="",
        event_name="ping_unreachable",
        event_display_name="Ping不可达",
        level="",
    )

    message = render_message(alarm, "triggered", language="en")

    assert message.title == "[Alarm] Ping不可达 — ins-xxx (ap-guangzhou)"
    assert "**Event**: Ping不可达" in message.lines
    assert not any(line.startswith("**Level**") for line in message.lines)


def test_the_literal_unit_none_is_not_shown() -> None:
    message = render_message(make_alarm(unit="None", threshold="3"), "triggered", language="en")

    assert message.title.startswith("[Alarm] CPU利用率 > 3 — ")


def test_a_hostile_payload_cannot_inject_into_the_message() -> None:
    alarm = make_alarm(
        instance_name=HOSTILE,
        instance_id="ins-1 [x](http://evil)",
        policy_name="<@all>",
        metric_display_name="**CPU**",
        current_value="<at id=all></at>",
        region="ap-<b>",
    )

    message = render_message(alarm, "triggered", language="en")
    body = message.markdown(include_link=False)

    assert "<" not in body
    assert "](" not in body
    assert "http://" not in body
    assert body.count("**") == 2 * len(message.lines)  # only our own labels are bold
    # The plain title is for plain-text slots only; it is still one line without controls.
    assert "\n" not in message.title
    assert "\u202e" not in message.title


def test_unknown_event_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event"):
        render_message(make_alarm(), "exploded")  # type: ignore[arg-type]


def test_markdown_can_leave_out_title_and_link() -> None:
    message = RenderedMessage(title="t", lines=("**t**", "a", "b"), link_text="go", url="https://x")

    assert message.markdown(separator="\n\n") == "**t**\n\na\n\nb\n\n[go](https://x) · AlarmHub"
    assert message.markdown(include_title=False, include_link=False) == "a\nb"


def test_times_are_converted_not_relabelled() -> None:
    alarm = make_alarm(first_occurred_at=datetime(2026, 12, 3, 15, 52, tzinfo=UTC))

    message = render_message(alarm, "triggered", language="en", tz="Asia/Shanghai")

    assert "**Started**: 2026-12-03 23:52 CST" in message.lines
