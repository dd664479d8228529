"""How to read a vendor's answer to a send: ok, retry later, or fix the channel first.

Pure: the sender passes the HTTP status (or None for no answer) and the body bytes it got back.
"""

from __future__ import annotations

import json
from typing import Literal, NamedTuple

from alarms.notify.escaping import plain_text
from alarms.notify.kinds import KINDS, ROBOT_KINDS

Outcome = Literal["ok", "transient", "permanent"]


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
    keys: tuple[tuple[str, str], ...]
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
