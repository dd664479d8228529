"""Per-kind outbound requests: pure, no network."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alarms.notify.formats import (
    DINGTALK_TEXT_MAX_BYTES,
    FEISHU_BODY_MAX_BYTES,
    WECOM_MARKDOWN_MAX_BYTES,
    build_feishu_request,
    build_request,
    fit_markdown,
    truncate_utf8,
)
from alarms.notify.message import OutboundAlarm, RenderedMessage, render_message
from alarms.notify.signing import dingtalk_sign, feishu_sign, webhook_signature
from tests.unit.notify.factories import (
    DINGTALK_URL,
    FEISHU_URL,
    NOW,
    WECOM_URL,
    api_fields,
    make_alarm,
)

NOW_S = 1796284620


def huge_alarm() -> OutboundAlarm:
    # Every field at its cap, in three-byte characters: well past WeCom's 4096 bytes.
    wide = "长" * 300
    return make_alarm(
        instance_name=wide,
        instance_id=wide,
        policy_name=wide,
        policy_id=wide,
        metric_display_name=wide,
        current_value=wide,
        region=wide,
        acknowledged_by=wide,
    )


def test_now_constant_is_the_epoch_second() -> None:
    assert NOW.timestamp() == NOW_S


# --- webhook -------------------------------------------------------------------------------------


def test_webhook_posts_the_alarm_fields_signed_over_the_exact_body() -> None:
    alarm = make_alarm()

    request = build_request(
        "webhook", alarm, "triggered", url="https://hooks.example.com/in", secret="k", now=NOW
    )

    assert request.method == "POST"
    assert request.url == "https://hooks.example.com/in"
    assert request.json() == {
        "event": "triggered",
        "alarm": api_fields(),
        "url": "https://hub.example.com/alarms/42/",
        "sent_at": "2026-12-03T07:57:00Z",
    }
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.headers["X-AlarmHub-Timestamp"] == str(NOW_S)
    assert request.headers["X-AlarmHub-Signature"] == webhook_signature("k", NOW_S, request.body)
    assert request.headers["X-AlarmHub-Event"] == "triggered"


def test_webhook_without_a_secret_is_timestamped_but_unsigned() -> None:
    request = build_request("webhook", make_alarm(), "recovered", url="https://h", now=NOW)

    assert "X-AlarmHub-Signature" not in request.headers
    assert request.headers["X-AlarmHub-Timestamp"] == str(NOW_S)


def test_webhook_sent_at_is_utc_whatever_the_zone_of_now() -> None:
    shanghai_now = NOW.astimezone(timezone(timedelta(hours=8)))

    request = build_request("webhook", make_alarm(), "triggered", url="https://h", now=shanghai_now)

    assert request.json()["sent_at"] == "2026-12-03T07:57:00Z"
    assert request.headers["X-AlarmHub-Timestamp"] == str(NOW_S)


def test_webhook_body_survives_lone_surrogates_in_the_payload() -> None:
    alarm = make_alarm(instance_name="bad \ud800 name")

    request = build_request("webhook", alarm, "triggered", url="https://h", secret="k", now=NOW)

    assert request.json()["alarm"]["instance_name"] == "bad \ud800 name"
    assert request.headers["X-AlarmHub-Signature"] == webhook_signature("k", NOW_S, request.body)


def test_webhook_body_keeps_chinese_readable() -> None:
    request = build_request("webhook", make_alarm(), "triggered", url="https://h", now=NOW)

    assert "CPU利用率".encode() in request.body


# --- WeCom ---------------------------------------------------------------------------------------


def test_wecom_sends_markdown_content() -> None:
    alarm = make_alarm()

    request = build_request("wecom", alarm, "triggered", url=WECOM_URL, secret="ignored", now=NOW)

    assert request.url == WECOM_URL  # no signing for WeCom robots
    body = request.json()
    assert body["msgtype"] == "markdown"
    content = body["markdown"]["content"]
    assert content == render_message(alarm, "triggered").markdown()
    assert "[查看告警](https://hub.example.com/alarms/42/)" in content


def test_wecom_content_is_cut_to_4096_bytes_keeping_the_link() -> None:
    request = build_request("wecom", huge_alarm(), "acknowledged", url=WECOM_URL, now=NOW)

    content = request.json()["markdown"]["content"]
    assert len(content.encode("utf-8")) <= WECOM_MARKDOWN_MAX_BYTES
    assert len(content.encode("utf-8")) > WECOM_MARKDOWN_MAX_BYTES - 16  # cut, not emptied
    assert content.endswith("\n[查看告警](https://hub.example.com/alarms/42/) · AlarmHub")
    assert "…\n[查看告警]" in content


@given(st.text(), st.integers(min_value=0, max_value=64))
def test_truncate_utf8_cuts_on_a_character_boundary(text: str, max_bytes: int) -> None:
    text = text.encode("utf-8", "replace").decode("utf-8")  # what reaches it: valid text
    cut = truncate_utf8(text, max_bytes)

    assert len(cut.encode("utf-8")) <= max(max_bytes, 0)
    if len(text.encode("utf-8")) <= max_bytes:
        assert cut == text
    else:
        assert text.startswith(cut.removesuffix("…"))


def test_truncate_utf8_never_splits_a_multibyte_character() -> None:
    assert truncate_utf8("告警告警", 9) == "告警告警"[:2] + "…"  # 6 bytes + 3-byte ellipsis
    assert truncate_utf8("告警告警", 8) == "告…"
    assert truncate_utf8("abc", 2) == "ab"  # no room for an ellipsis


def test_fit_markdown_keeps_the_link_line_whole() -> None:
    message = RenderedMessage(
        title="t", lines=("**t**", "x" * 5000), link_text="go", url="https://hub.example.com/a"
    )

    fitted = fit_markdown(message, max_bytes=100)

    assert len(fitted.encode()) <= 100
    assert fitted.endswith("\n[go](https://hub.example.com/a) · AlarmHub")


# --- DingTalk ------------------------------------------------------------------------------------


def test_dingtalk_sends_markdown_title_and_text_signed_in_the_query() -> None:
    alarm = make_alarm()

    request = build_request(
        "dingtalk", alarm, "triggered", url=DINGTALK_URL, secret="SECabc", now=NOW
    )

    body = request.json()
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == "[告警] CPU利用率 > 80% — ins-xxx (ap-guangzhou)"
    assert body["markdown"]["text"] == render_message(alarm, "triggered").markdown(separator="\n\n")
    timestamp_ms = NOW_S * 1000
    assert request.url == (
        f"{DINGTALK_URL}&timestamp={timestamp_ms}&sign={dingtalk_sign('SECabc', timestamp_ms)}"
    )
    query = parse_qs(urlsplit(request.url).query)
    assert query["access_token"] == ["0123abcd"]
    assert query["timestamp"] == [str(timestamp_ms)]


def test_dingtalk_replaces_a_stale_signature_in_the_configured_url() -> None:
    url = f"{DINGTALK_URL}&timestamp=1&sign=old&extra=keep"

    request = build_request("dingtalk", make_alarm(), "triggered", url=url, secret="s", now=NOW)

    query = parse_qs(urlsplit(request.url).query)
    assert query["timestamp"] == [str(NOW_S * 1000)]
    assert query["sign"] != ["old"]
    assert len(query["sign"]) == 1
    assert query["access_token"] == ["0123abcd"]
    assert query["extra"] == ["keep"]


def test_dingtalk_without_a_secret_keeps_the_url() -> None:
    request = build_request("dingtalk", make_alarm(), "triggered", url=DINGTALK_URL, now=NOW)

    assert request.url == DINGTALK_URL


def test_dingtalk_timestamp_is_in_milliseconds() -> None:
    now = NOW + timedelta(microseconds=123_456)

    request = build_request(
        "dingtalk", make_alarm(), "triggered", url=DINGTALK_URL, secret="s", now=now
    )

    assert parse_qs(urlsplit(request.url).query)["timestamp"] == [str(NOW_S * 1000 + 123)]


def test_dingtalk_text_stays_under_its_limit() -> None:
    request = build_request("dingtalk", huge_alarm(), "triggered", url=DINGTALK_URL, now=NOW)

    assert len(request.json()["markdown"]["text"].encode()) <= DINGTALK_TEXT_MAX_BYTES


# --- Feishu --------------------------------------------------------------------------------------


def test_feishu_sends_an_interactive_card_signed_in_the_body() -> None:
    alarm = make_alarm()

    request = build_request("feishu", alarm, "triggered", url=FEISHU_URL, secret="sec", now=NOW)

    assert request.url == FEISHU_URL
    body = request.json()
    assert body["timestamp"] == str(NOW_S)  # a string, in seconds
    assert body["sign"] == feishu_sign("sec", NOW_S)
    assert body["msg_type"] == "interactive"
    card = body["card"]
    assert card["header"]["template"] == "red"
    assert card["header"]["title"] == {
        "tag": "plain_text",
        "content": "[告警] CPU利用率 > 80% — ins-xxx (ap-guangzhou)",
    }
    markdown, action, note = card["elements"]
    assert markdown["text"]["tag"] == "lark_md"
    assert markdown["text"]["content"] == render_message(alarm, "triggered").markdown(
        include_title=False, include_link=False
    )
    button = action["actions"][0]
    assert button["url"] == "https://hub.example.com/alarms/42/"
    assert button["text"]["content"] == "查看告警"
    assert note["elements"][0]["content"] == "AlarmHub"


def test_feishu_without_a_secret_has_no_signature_fields() -> None:
    request = build_request("feishu", make_alarm(), "triggered", url=FEISHU_URL, now=NOW)

    assert "sign" not in request.json()
    assert "timestamp" not in request.json()


@pytest.mark.parametrize(
    ("event", "overrides", "template"),
    [
        ("triggered", {"level": "Serious"}, "red"),
        ("triggered", {"level": "Warn"}, "orange"),
        ("repeated", {"level": "Remind"}, "yellow"),
        ("recovered", {"status": "recovered", "recovered_at": "2026-12-03T08:00:00Z"}, "green"),
        ("acknowledged", {"acknowledged_by": "li.wei"}, "blue"),
        ("escalated", {"level": ""}, "red"),
    ],
)
def test_feishu_header_colour_follows_the_event(
    event: str, overrides: dict[str, str], template: str
) -> None:
    alarm = make_alarm(**overrides)

    request = build_request("feishu", alarm, event, url=FEISHU_URL, now=NOW)  # type: ignore[arg-type]

    assert request.json()["card"]["header"]["template"] == template


def test_feishu_body_stays_within_20_kb() -> None:
    message = RenderedMessage(
        title="t",
        lines=("**t**", *('\\\n"<引>' * 400 for _ in range(10))),  # JSON escapes inflate it
        link_text="go",
        url="https://hub.example.com/a",
    )
    request = build_feishu_request(message, url=FEISHU_URL, secret="s", now=NOW)

    assert len(request.body) <= FEISHU_BODY_MAX_BYTES
    assert request.json()["card"]["elements"][0]["text"]["content"].endswith("…")


# --- common --------------------------------------------------------------------------------------


def test_unknown_kind_event_or_naive_now_is_refused() -> None:
    alarm = make_alarm()
    with pytest.raises(ValueError, match="kind"):
        build_request("email", alarm, "triggered", url="u", now=NOW)
    with pytest.raises(ValueError, match="event"):
        build_request("wecom", alarm, "exploded", url="u", now=NOW)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="aware"):
        build_request("wecom", alarm, "triggered", url="u", now=datetime(2026, 1, 1))


@pytest.mark.parametrize("kind", ["wecom", "dingtalk", "feishu"])
def test_robot_bodies_carry_no_injected_markup(kind: str) -> None:
    alarm = make_alarm(instance_name="<@all> [x](http://evil) <at id=all></at>")

    request = build_request(kind, alarm, "triggered", url=DINGTALK_URL, secret="s", now=NOW)

    text = json.dumps(request.json(), ensure_ascii=False)
    assert "<@all>" not in text
    assert "<at" not in text
    assert "[x](http" not in text
