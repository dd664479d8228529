"""The exact HTTP request each channel kind sends, and how to read each vendor's answer.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any, Literal, NamedTuple, get_args
from urllib.parse import urlencode, urlsplit, urlunsplit

from alarms.notify.message import (
    DEFAULT_TZ,
    EVENTS,
    Event,
    Language,
    OutboundAlarm,
    RenderedMessage,
    Tone,
    condition_text,
    escape_markdown,
    normalise_language,
    plain_text,
    render_message,
    safe_url,
)
from alarms.notify.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    dingtalk_sign,
    feishu_sign,
    webhook_signature,
)

ChannelKind = Literal["webhook", "wecom", "dingtalk", "feishu"]
Outcome = Literal["ok", "transient", "permanent"]

KINDS: tuple[str, ...] = get_args(ChannelKind)
ROBOT_KINDS: tuple[str, ...] = ("wecom", "dingtalk", "feishu")

WECOM_MARKDOWN_MAX_BYTES = 4096
# DingTalk refuses a message over 20000 bytes; the markdown text gets a margin for the JSON.
DINGTALK_TEXT_MAX_BYTES = 18000
FEISHU_BODY_MAX_BYTES = 20 * 1024
DIGEST_MAX_LISTED = 10

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


def _check(kind: str, now: datetime) -> None:
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
    _check(kind, now)
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
    _check(kind, now)
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


# --- digest --------------------------------------------------------------------------------------

_DIGEST_TEXT: dict[str, dict[str, str]] = {
    "zh-hans": {
        "summary": "{where}另有 {count} 条告警：{parts}",
        "where": "{namespaces} ",
        "firing": "{n} 条告警中",
        "recovered": "{n} 条已恢复",
        "joiner": "，",
        "more": "…… 另有 {n} 条",
        "state_firing": "告警中",
        "state_recovered": "已恢复",
        "link": "查看告警列表",
    },
    "en": {
        "summary": "{count} more {alarms}{where}: {parts}",
        "where": " in {namespaces}",
        "firing": "{n} firing",
        "recovered": "{n} recovered",
        "joiner": ", ",
        "more": "… and {n} more",
        "state_firing": "firing",
        "state_recovered": "recovered",
        "link": "Open the board",
    },
}


def _distinct(alarms: Sequence[OutboundAlarm]) -> list[OutboundAlarm]:
    # One alarm may have overflowed twice (trigger, then recovery): its latest snapshot counts.
    return list({alarm.id: alarm for alarm in alarms}.values())


def board_url(base_url: str, alarms: Sequence[OutboundAlarm]) -> str:
    """The board filtered to these alarms: their namespaces, and their status if all share it."""
    params = [("namespace", ns) for ns in sorted({a.namespace for a in alarms if a.namespace})]
    statuses = {alarm.status for alarm in alarms}
    if len(statuses) == 1:
        params.append(("status", statuses.pop()))
    base = base_url.rstrip("/")
    return f"{base}/?{urlencode(params)}" if params else f"{base}/"


def _namespaces_text(alarms: Sequence[OutboundAlarm]) -> str:
    namespaces = sorted({alarm.namespace for alarm in alarms if alarm.namespace})
    shown = ", ".join(namespaces[:3])
    return f"{shown} +{len(namespaces) - 3}" if len(namespaces) > 3 else shown


def render_digest(
    alarms: Sequence[OutboundAlarm],
    *,
    base_url: str,
    language: str = "zh-hans",
    max_listed: int = DIGEST_MAX_LISTED,
) -> RenderedMessage:
    """One message for the alarms that overflowed a robot's rate limit.

    E.g. ``37 more alarms in qce/cvm: 30 firing, 7 recovered``, the first ``max_listed`` alarms
    each linked to its page, and a link to the board filtered to them (``base_url`` is
    ``ALARMHUB_BASE_URL``). Alarms are counted once each, in their latest state.
    """
    distinct = _distinct(alarms)
    if not distinct:
        raise ValueError("a digest needs at least one alarm")
    lang: Language = normalise_language(language)
    text = _DIGEST_TEXT[lang]
    firing = sum(alarm.status == "firing" for alarm in distinct)
    recovered = len(distinct) - firing
    parts = [
        text[state].format(n=n) for state, n in (("firing", firing), ("recovered", recovered)) if n
    ]
    namespaces = _namespaces_text(distinct)

    def summary(clean: Callable[[object], str]) -> str:
        where = text["where"].format(namespaces=clean(namespaces)) if namespaces else ""
        return text["summary"].format(
            count=len(distinct),
            alarms="alarm" if len(distinct) == 1 else "alarms",
            where=where,
            parts=text["joiner"].join(parts),
        )

    lines = [f"**{summary(escape_markdown)}**"]
    for alarm in distinct[:max_listed]:
        state = text[f"state_{alarm.status}"]
        target = alarm.instance_id or alarm.instance_name
        label = condition_text(alarm) or f"#{alarm.id}"
        if target:
            label = f"{label} — {target}"
        lines.append(f"- {state} · [{escape_markdown(label)}]({safe_url(alarm.url)})")
    if len(distinct) > max_listed:
        lines.append(text["more"].format(n=len(distinct) - max_listed))
    tone: Tone = "danger" if firing else "ok"
    return RenderedMessage(
        title=summary(plain_text),
        lines=tuple(lines),
        link_text=text["link"],
        url=board_url(base_url, distinct),
        tone=tone,
    )


def build_digest_request(
    kind: str,
    alarms: Sequence[OutboundAlarm],
    *,
    url: str,
    secret: str = "",
    now: datetime,
    base_url: str,
    language: str = "zh-hans",
) -> OutboundRequest:
    """The digest of overflowed ``alarms`` for a robot channel (webhooks have no vendor limit)."""
    _check(kind, now)
    if kind not in ROBOT_KINDS:
        raise ValueError(f"digests are for robot channels, not {kind!r}")
    message = render_digest(alarms, base_url=base_url, language=language)
    return build_robot_request(kind, message, url=url, secret=secret, now=now)


# --- vendor answers ------------------------------------------------------------------------------


class Classification(NamedTuple):
    """What a send attempt came to: ``ok``, ``transient`` (retry later) or ``permanent``."""

    outcome: Outcome
    reason: str


# Codes that mean "slow down" or "busy" are retried with backoff. Any other non-zero code is a
# configuration problem (bad URL or key, signature, keyword, IP allow-list) that a retry won't fix.
# Confirmed from public material (the vendor doc, or the vendor's own error text quoted in issue
# threads and tests):
# - WeCom: 45009 "api freq out of limit", 40058 "markdown.content exceed max length 4096",
#   93000 "invalid webhook url".
# - DingTalk: 130101 "send too fast, exceed 20 times per minute"; 310000 "sign not match",
#   "keywords not in content" or "invalid timestamp"; 300005 "token is not exist".
# - Feishu: 11232 (vendor doc: rate limit, e.g. at peak times), 99991400 "request trigger
#   frequency limit" (vendor doc), 19021 "sign match fail or timestamp is not within one hour",
#   19022 "Ip Not Allowed", 19024 "Key Words Not Found"; 9499 is used both for "too many
#   request" (with HTTP 400) and for "Bad Request" (a malformed or oversized body), so the
#   message tells them apart.
# Assumed: -1 "system busy" for WeCom and DingTalk (the WeChat-family convention).
_TRANSIENT_CODES: dict[str, dict[int, str]] = {
    "wecom": {-1: "system busy", 45009: "rate limited"},
    "dingtalk": {-1: "system busy", 130101: "rate limited"},
    "feishu": {11232: "rate limited", 99991400: "rate limited"},
}
_PERMANENT_CODES: dict[str, dict[int, str]] = {
    "wecom": {40058: "message too long", 93000: "invalid webhook URL"},
    "dingtalk": {
        300005: "access token does not exist",
        310000: "security check failed (signature, keyword or IP allow-list)",
    },
    "feishu": {
        19021: "signature mismatch or timestamp over an hour off",
        19022: "IP not allowed",
        19024: "keyword missing",
    },
}
_VENDOR_NAMES = {"wecom": "WeCom", "dingtalk": "DingTalk", "feishu": "Feishu"}


def _vendor_result(kind: str, body: bytes) -> tuple[int, str] | None:
    """The robot's own result code and message from a JSON answer, or None when there is none."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    if kind == "feishu":
        # Feishu answers "code"; its old API (and a redundant field today) "StatusCode".
        keys = (("code", "msg"), ("StatusCode", "StatusMessage"))
    else:
        keys = (("errcode", "errmsg"),)
    for code_key, message_key in keys:
        code = data.get(code_key)
        if isinstance(code, bool):
            continue
        if isinstance(code, int) or (isinstance(code, str) and code.lstrip("-").isdigit()):
            return int(code), plain_text(data.get(message_key) or "", max_chars=200)
    return None


def _classify_vendor(kind: str, code: int, message: str) -> Classification:
    vendor = _VENDOR_NAMES[kind]
    detail = f"{vendor} {code}" + (f" {message}" if message else "")
    if code == 0:
        return Classification("ok", f"{vendor} 0")
    if kind == "feishu" and code == 9499:
        if "too many" in message.lower():
            return Classification("transient", f"rate limited: {detail}")
        return Classification("permanent", f"bad request (malformed or over 20 KB): {detail}")
    if code in _TRANSIENT_CODES[kind]:
        return Classification("transient", f"{_TRANSIENT_CODES[kind][code]}: {detail}")
    known = _PERMANENT_CODES[kind].get(code)
    return Classification("permanent", f"{known}: {detail}" if known else detail)


def classify_response(kind: str, status_code: int | None, body: bytes = b"") -> Classification:
    """Whether a send worked, may work later, or will not work until someone fixes the channel.

    ``status_code`` None means no answer (timeout, connection refused, TLS error): transient.
    HTTP 408, 425, 429 and 5xx are transient. The robots answer HTTP 200 with their own code in
    the JSON (``errcode`` for WeCom and DingTalk, ``code`` or ``StatusCode`` for Feishu, which
    also uses HTTP 400 for some), so that code decides for them; a robot's 2xx without a
    readable code is treated as transient (an unknown fate: a duplicate beats a lost alarm).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown channel kind {kind!r}")
    if status_code is None:
        return Classification("transient", "no response (timeout or connection error)")
    if status_code in (408, 425, 429) or status_code >= 500:
        return Classification("transient", f"HTTP {status_code}")
    if kind in ROBOT_KINDS:
        result = _vendor_result(kind, body)
        if result is not None:
            return _classify_vendor(kind, *result)
        if 200 <= status_code < 300:
            return Classification("transient", f"HTTP {status_code} without a readable result")
    if 200 <= status_code < 300:
        return Classification("ok", f"HTTP {status_code}")
    if 300 <= status_code < 400:
        return Classification("permanent", f"HTTP {status_code} redirect (not followed)")
    return Classification("permanent", f"HTTP {status_code}")
