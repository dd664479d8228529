"""Per-kind outbound requests, digests and vendor answers: pure, no network."""

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
    board_url,
    build_digest_request,
    build_feishu_request,
    build_request,
    classify_response,
    fit_markdown,
    render_digest,
    truncate_utf8,
)
from alarms.notify.message import OutboundAlarm, RenderedMessage, render_message
from alarms.notify.signing import dingtalk_sign, feishu_sign, webhook_signature
from tests.unit.notify.factories import BASE_URL, FIRST, api_fields, make_alarm

NOW = FIRST + timedelta(minutes=5)  # 2026-12-03T07:57:00Z
NOW_S = 1796284620
DINGTALK_URL = "https://oapi.dingtalk.com/robot/send?access_token=0123abcd"
FEISHU_URL = "https://open.feishu.cn/open-apis/bot/v2/hook/00000000-0000-0000-0000-000000000000"
WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=00000000-1111-2222"


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


# --- digest --------------------------------------------------------------------------------------


def overflow() -> list[OutboundAlarm]:
    firing = [make_alarm(id=100 + n) for n in range(30)]
    recovered = [
        make_alarm(id=200 + n, status="recovered", recovered_at="2026-12-03T08:00:00Z")
        for n in range(7)
    ]
    return [*firing, *recovered]


def test_digest_counts_the_overflow_in_english() -> None:
    message = render_digest(overflow(), base_url=BASE_URL, language="en")

    assert message.title == "37 more alarms in qce/cvm: 30 firing, 7 recovered"
    assert message.lines[0] == f"**{message.title}**"
    assert message.lines[1] == (
        "- firing · [CPU利用率 > 80% — ins-xxx](https://hub.example.com/alarms/100/)"
    )
    assert len(message.lines) == 1 + 10 + 1
    assert message.lines[-1] == "… and 27 more"
    assert message.url == "https://hub.example.com/?namespace=qce%2Fcvm"
    assert message.link_text == "Open the board"
    assert message.tone == "danger"


def test_digest_in_chinese() -> None:
    message = render_digest(overflow(), base_url=BASE_URL, language="zh-hans")

    assert message.title == "qce/cvm 另有 37 条告警：30 条告警中，7 条已恢复"
    assert message.lines[-1] == "…… 另有 27 条"
    assert message.link_text == "查看告警列表"


def test_digest_counts_each_alarm_once_in_its_latest_state() -> None:
    trigger = make_alarm(id=1)
    recovery = make_alarm(id=1, status="recovered", recovered_at="2026-12-03T08:00:00Z")

    message = render_digest([trigger, recovery], base_url=BASE_URL, language="en")

    assert message.title == "1 more alarm in qce/cvm: 1 recovered"
    assert message.url == "https://hub.example.com/?namespace=qce%2Fcvm&status=recovered"
    assert message.tone == "ok"


def test_board_url_repeats_namespace_and_adds_a_shared_status() -> None:
    alarms = [
        make_alarm(id=1, namespace="qce/cvm"),
        make_alarm(id=2, namespace="qce/cdb"),
        make_alarm(id=3, namespace="qce/cvm"),
        make_alarm(id=4, namespace=""),
    ]

    assert board_url(f"{BASE_URL}/", alarms) == (
        "https://hub.example.com/?namespace=qce%2Fcdb&namespace=qce%2Fcvm&status=firing"
    )
    mixed = [*alarms, make_alarm(id=5, status="recovered")]
    assert board_url(BASE_URL, mixed) == (
        "https://hub.example.com/?namespace=qce%2Fcdb&namespace=qce%2Fcvm"
    )


def test_digest_names_at_most_three_namespaces() -> None:
    alarms = [make_alarm(id=n, namespace=f"qce/ns{n}") for n in range(5)]

    message = render_digest(alarms, base_url=BASE_URL, language="en")

    assert message.title == "5 more alarms in qce/ns0, qce/ns1, qce/ns2 +2: 5 firing"
    assert message.url.count("namespace=") == 5


def test_digest_escapes_payload_text() -> None:
    alarm = make_alarm(instance_id="[x](http://evil)", namespace="<@all>")

    message = render_digest([alarm], base_url=BASE_URL, language="en")

    body = message.markdown()
    assert "<@all>" not in body
    assert "[x](http" not in body


@pytest.mark.parametrize("kind", ["wecom", "dingtalk", "feishu"])
def test_digest_request_for_each_robot(kind: str) -> None:
    request = build_digest_request(
        kind, overflow(), url=DINGTALK_URL, secret="s", now=NOW, base_url=BASE_URL, language="en"
    )

    assert "37 more alarms in qce/cvm: 30 firing, 7 recovered" in request.body.decode()
    assert "https://hub.example.com/?namespace=qce%2Fcvm" in request.body.decode()


def test_digest_is_only_for_robots_and_needs_alarms() -> None:
    with pytest.raises(ValueError, match="robot"):
        build_digest_request("webhook", overflow(), url="u", now=NOW, base_url=BASE_URL)
    with pytest.raises(ValueError, match="at least one"):
        render_digest([], base_url=BASE_URL)


# --- vendor answers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "body", "outcome"),
    [
        # No answer at all, and the HTTP-level retryables, for every kind.
        ("webhook", None, b"", "transient"),
        ("wecom", None, b"", "transient"),
        ("webhook", 429, b"", "transient"),
        ("webhook", 503, b"<html>", "transient"),
        ("webhook", 408, b"", "transient"),
        ("dingtalk", 502, b"", "transient"),
        ("webhook", 200, b"", "ok"),
        ("webhook", 204, b"", "ok"),
        ("webhook", 301, b"", "permanent"),
        ("webhook", 400, b"", "permanent"),
        ("webhook", 404, b"", "permanent"),
        ("webhook", 410, b"", "permanent"),
        # WeCom: HTTP 200, errcode in the JSON.
        ("wecom", 200, b'{"errcode":0,"errmsg":"ok"}', "ok"),
        ("wecom", 200, b'{"errcode":45009,"errmsg":"api freq out of limit"}', "transient"),
        ("wecom", 200, b'{"errcode":-1,"errmsg":"system busy"}', "transient"),
        ("wecom", 200, b'{"errcode":93000,"errmsg":"invalid webhook url"}', "permanent"),
        ("wecom", 200, b'{"errcode":40058,"errmsg":"markdown.content exceed"}', "permanent"),
        ("wecom", 200, b"not json", "transient"),
        # DingTalk.
        ("dingtalk", 200, b'{"errcode":0,"errmsg":"ok"}', "ok"),
        ("dingtalk", 200, b'{"errcode":130101,"errmsg":"send too fast"}', "transient"),
        ("dingtalk", 200, b'{"errcode":310000,"errmsg":"sign not match"}', "permanent"),
        ("dingtalk", 200, b'{"errcode":310000,"errmsg":"keywords not in content"}', "permanent"),
        ("dingtalk", 200, b'{"errcode":"300005","errmsg":"token is not exist"}', "permanent"),
        ("dingtalk", 200, b'{"errcode":999999,"errmsg":"new"}', "permanent"),
        # Feishu: "code" (or the old "StatusCode"), sometimes with HTTP 400.
        ("feishu", 200, b'{"code":0,"msg":"success","data":{}}', "ok"),
        ("feishu", 200, b'{"StatusCode":0,"StatusMessage":"success"}', "ok"),
        ("feishu", 200, b'{"code":11232,"msg":"frequency limited"}', "transient"),
        ("feishu", 400, b'{"code":9499,"msg":"too many request","data":{}}', "transient"),
        ("feishu", 400, b'{"code":9499,"msg":"Bad Request","data":{}}', "permanent"),
        ("feishu", 400, b'{"code":99991400,"msg":"request trigger frequency limit"}', "transient"),
        ("feishu", 200, b'{"code":19021,"msg":"sign match fail or timestamp"}', "permanent"),
        ("feishu", 200, b'{"code":19024,"msg":"Key Words Not Found"}', "permanent"),
        ("feishu", 400, b"", "permanent"),
        ("feishu", 200, b"[]", "transient"),
    ],
)
def test_classify_response(kind: str, status: int | None, body: bytes, outcome: str) -> None:
    result = classify_response(kind, status, body)

    assert result.outcome == outcome
    assert result.reason


def test_classify_response_explains_itself() -> None:
    outcome, reason = classify_response(
        "dingtalk", 200, b'{"errcode":310000,"errmsg":"sign not match, more: [https://x]"}'
    )

    assert outcome == "permanent"
    assert reason.startswith("security check failed")
    assert "DingTalk 310000 sign not match" in reason


def test_classify_response_refuses_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="kind"):
        classify_response("pager", 200, b"")
