"""Reading the vendors' answers: ok, transient or permanent."""

from __future__ import annotations

import pytest

from alarms.notify.responses import classify_response


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
