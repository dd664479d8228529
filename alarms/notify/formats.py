"""The exact HTTP request each channel kind sends.

Pure: the builders return an :class:`OutboundRequest` (method, url, headers, body bytes) and the
sender does the I/O. The body bytes are final — the webhook signature is computed over exactly
them, so the sender must post ``body`` as is, never re-serialise it.

Vendor facts used here, and where they come from:

- WeCom group robot: markdown ``content`` at most 4096 bytes of UTF-8 (the API answers errcode
  40058 "markdown.content exceed max length 4096"); 20 messages a minute per robot; no signing.
- DingTalk custom robot: markdown ``title`` + ``text``; signed with ``timestamp`` and ``sign``
  query parameters next to ``access_token``; a message over 20000 bytes is refused (errcode
  460101, seen in public issue threads, not in the vendor doc).
- Feishu/Lark custom bot: request body at most 20 KB; ``timestamp`` (seconds, a string) and
  ``sign`` in the body; 100 requests a minute and 5 a second per bot (vendor doc).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from alarms.notify.kinds import KINDS
from alarms.notify.message import EVENTS, Event, OutboundAlarm, RenderedMessage, render_message
from alarms.notify.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    dingtalk_sign,
    feishu_sign,
    webhook_signature,
)
from alarms.notify.timefmt import DEFAULT_TZ

WECOM_MARKDOWN_MAX_BYTES = 4096
# DingTalk refuses a message over 20000 bytes; the markdown text gets a margin for the JSON.
DINGTALK_TEXT_MAX_BYTES = 18000
FEISHU_BODY_MAX_BYTES = 20 * 1024

USER_AGENT = "AlarmHub-Notify/1"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
EVENT_HEADER = "X-AlarmHub-Event"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FEISHU_TEMPLATES: dict[str, str] = {
    "danger": "red",
    "warning": "orange",
    "notice": "yellow",
    "ok": "green",
    "info": "blue",
}


@dataclass(frozen=True)
class OutboundRequest:
    """One HTTP request to send: post ``body`` byte for byte (signatures cover it)."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body decoded, for tests and for the outbox's "what we sent" view."""
        return json.loads(self.body)


# --- helpers -------------------------------------------------------------------------------------


def utc_iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, to the second: ``2026-12-03T07:52:00Z``."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_bytes(payload: object) -> bytes:
    """Compact UTF-8 JSON; falls back to ASCII escapes when the data holds lone surrogates."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=_json_default)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # JSON may carry "\ud800" (Tencent payloads do); UTF-8 cannot, an escape can.
        return json.dumps(payload, separators=(",", ":"), default=_json_default).encode("ascii")


def truncate_utf8(text: str, max_bytes: int, *, ellipsis: str = "…") -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8, on a character boundary, with an ellipsis."""
    encoded = text.encode("utf-8", "replace")
    if len(encoded) <= max_bytes:
        return text
    room = max_bytes - len(ellipsis.encode("utf-8"))
    if room <= 0:
        return encoded[:max_bytes].decode("utf-8", "ignore")
    # "ignore" drops only the partial character at the cut: every earlier byte is whole.
    return encoded[:room].decode("utf-8", "ignore") + ellipsis


def fit_markdown(
    message: RenderedMessage,
    *,
    max_bytes: int,
    separator: str = "\n",
    include_title: bool = True,
) -> str:
    """The message's markdown within ``max_bytes``: the body is cut, the link line always kept."""
    whole = message.markdown(separator=separator, include_title=include_title)
    if len(whole.encode("utf-8")) <= max_bytes:
        return whole
    tail = separator + message.link_line()
    head = message.markdown(separator=separator, include_title=include_title, include_link=False)
    room = max_bytes - len(tail.encode("utf-8"))
    if room <= 0:
        return truncate_utf8(whole, max_bytes)
    return truncate_utf8(head, room) + tail


def _with_query(url: str, params: Sequence[tuple[str, str]]) -> str:
    """``url`` with ``params`` appended (values already encoded); older ones of the same names go.

    The rest of the query (DingTalk's ``access_token``) is kept byte for byte.
    """
    parts = urlsplit(url)
    names = {name for name, _ in params}
    kept = [item for item in parts.query.split("&") if item and item.split("=", 1)[0] not in names]
    query = "&".join([*kept, *(f"{name}={value}" for name, value in params)])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _epoch_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _epoch_s(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(seconds=1)


def check_send(kind: str, now: datetime) -> None:
    """Refuse an unknown channel kind or a naive send time before anything is built."""
    if kind not in KINDS:
        raise ValueError(f"no outbound format for channel kind {kind!r}")
    if now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")


def _robot_headers() -> dict[str, str]:
    return {"Content-Type": JSON_CONTENT_TYPE, "User-Agent": USER_AGENT}


# --- builders ------------------------------------------------------------------------------------


def build_request(
    kind: str,
    alarm: OutboundAlarm,
    event: Event,
    *,
    url: str,
    secret: str = "",
    now: datetime,
    language: str = "zh-hans",
    tz: str | tzinfo = DEFAULT_TZ,
) -> OutboundRequest:
    """The request that tells channel ``url`` of ``kind`` about ``event`` on ``alarm``.

    ``now`` (aware) is the send time: it goes into timestamps and signatures, so build the
    request right before sending it (DingTalk and Feishu refuse signatures over an hour old).
    An empty ``secret`` sends unsigned; WeCom robots have no signing, so theirs is ignored.
    """
    check_send(kind, now)
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")
    if kind == "webhook":
        return build_webhook_request(alarm, event, url=url, secret=secret, now=now)
    message = render_message(alarm, event, language=language, tz=tz, now=now)
    return build_robot_request(kind, message, url=url, secret=secret, now=now)


def build_webhook_request(
    alarm: OutboundAlarm, event: Event, *, url: str, secret: str = "", now: datetime
) -> OutboundRequest:
    """``POST url`` with ``{"event", "alarm", "url", "sent_at"}``, timestamped and signed."""
    body = json_bytes(
        {"event": event, "alarm": alarm.fields, "url": alarm.url, "sent_at": utc_iso(now)}
    )
    timestamp = _epoch_s(now)
    headers = {
        "Content-Type": JSON_CONTENT_TYPE,
        "User-Agent": USER_AGENT,
        EVENT_HEADER: event,
        TIMESTAMP_HEADER: str(timestamp),
    }
    if secret:
        headers[SIGNATURE_HEADER] = webhook_signature(secret, timestamp, body)
    return OutboundRequest("POST", url, headers, body)


def build_robot_request(
    kind: str, message: RenderedMessage, *, url: str, secret: str = "", now: datetime
) -> OutboundRequest:
    """A rendered message (an alarm's or a digest's) in a robot's own format."""
    check_send(kind, now)
    if kind == "wecom":
        return build_wecom_request(message, url=url)
    if kind == "dingtalk":
        return build_dingtalk_request(message, url=url, secret=secret, now=now)
    if kind == "feishu":
        return build_feishu_request(message, url=url, secret=secret, now=now)
    raise ValueError(f"{kind!r} is not a robot kind")


def build_wecom_request(message: RenderedMessage, *, url: str) -> OutboundRequest:
    """WeCom group robot: ``{"msgtype": "markdown", "markdown": {"content"}}``, ≤ 4096 bytes."""
    content = fit_markdown(message, max_bytes=WECOM_MARKDOWN_MAX_BYTES)
    body = json_bytes({"msgtype": "markdown", "markdown": {"content": content}})
    return OutboundRequest("POST", url, _robot_headers(), body)


def build_dingtalk_request(
    message: RenderedMessage, *, url: str, secret: str = "", now: datetime
) -> OutboundRequest:
    """DingTalk custom robot: markdown ``title`` and ``text``; signed in the query when secret."""
    # DingTalk's markdown needs a blank line to break a line.
    text = fit_markdown(message, max_bytes=DINGTALK_TEXT_MAX_BYTES, separator="\n\n")
    body = json_bytes({"msgtype": "markdown", "markdown": {"title": message.title, "text": text}})
    if secret:
        timestamp_ms = _epoch_ms(now)
        url = _with_query(
            url, [("timestamp", str(timestamp_ms)), ("sign", dingtalk_sign(secret, timestamp_ms))]
        )
    return OutboundRequest("POST", url, _robot_headers(), body)


def _feishu_payload(message: RenderedMessage, content: str) -> dict[str, Any]:
    return {
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": True},
            "header": {
                "template": _FEISHU_TEMPLATES[message.tone],
                "title": {"tag": "plain_text", "content": message.title},
            },
            "elements": [
                {"tag": "div", "text": {"tag": "lark_md", "content": content}},
                {
                    "tag": "action",
                    "actions": [
                        {
                            "tag": "button",
                            "text": {"tag": "plain_text", "content": message.link_text},
                            "type": "primary",
                            "url": message.url,
                        }
                    ],
                },
                {"tag": "note", "elements": [{"tag": "plain_text", "content": "AlarmHub"}]},
            ],
        },
    }


def build_feishu_request(
    message: RenderedMessage, *, url: str, secret: str = "", now: datetime
) -> OutboundRequest:
    """Feishu/Lark custom bot: an interactive card (coloured header, lark_md body, a button).

    With a secret, ``timestamp`` (seconds, a string) and ``sign`` join the body. The whole body
    stays within Feishu's 20 KB.
    """
    signature: dict[str, str] = {}
    if secret:
        timestamp = _epoch_s(now)
        signature = {"timestamp": str(timestamp), "sign": feishu_sign(secret, timestamp)}
    # The card has its own header and button: the markdown carries neither.
    full = message.markdown(include_title=False, include_link=False)
    content = full
    for _ in range(5):
        body = json_bytes({**signature, **_feishu_payload(message, content)})
        excess = len(body) - FEISHU_BODY_MAX_BYTES
        if excess <= 0:
            break
        # JSON escapes make the body grow faster than the text: cut the excess and a margin.
        room = len(content.encode("utf-8")) - excess - 256
        content = truncate_utf8(full, max(room, 0))
    else:  # pragma: no cover - five rounds always suffice: each removes the whole excess
        raise ValueError("the Feishu card does not fit in 20 KB")
    return OutboundRequest("POST", url, _robot_headers(), body)
