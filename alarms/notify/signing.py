"""Signature schemes: ours for generic webhooks, and the DingTalk and Feishu robots'.

DingTalk and Feishu both sign ``"<timestamp>\\n<secret>"`` with HMAC-SHA256 and Base64, but they
use it the opposite way round, the classic bug when one is copied from the other:

- DingTalk: key = the secret, message = ``f"{ms}\\n{secret}"`` with the time in milliseconds;
  Base64, then URL-encoded, sent as the ``timestamp`` and ``sign`` query parameters.
- Feishu/Lark: key = ``f"{s}\\n{secret}"`` with the time in seconds, message = empty; Base64,
  sent as ``timestamp`` (a string) and ``sign`` in the JSON body.

Both vendors reject a timestamp more than an hour away from their clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote

SIGNATURE_HEADER = "X-AlarmHub-Signature"
TIMESTAMP_HEADER = "X-AlarmHub-Timestamp"


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>`` over ``"<timestamp>." + body``: the ``X-AlarmHub-Signature`` header.

    The receiver recomputes it from the ``X-AlarmHub-Timestamp`` header and the raw body bytes
    (before any JSON parsing) and should reject old timestamps to stop replays.
    """
    message = f"{int(timestamp)}.".encode() + body
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_webhook_signature(secret: str, timestamp: int, body: bytes, signature: str) -> bool:
    """Whether ``signature`` is ours for this body: a constant-time comparison, for receivers."""
    return hmac.compare_digest(webhook_signature(secret, timestamp, body), signature)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's ``sign`` query value, already URL-encoded (``+``, ``/``, ``=`` escaped).

    HMAC-SHA256 keyed with the secret over ``f"{timestamp_ms}\\n{secret}"``, Base64, then
    URL-encoded. Put it in the query string as is: encoding it again breaks the signature.
    """
    string_to_sign = f"{int(timestamp_ms)}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), string_to_sign, hashlib.sha256).digest()
    return quote(base64.b64encode(digest).decode("ascii"), safe="")


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu/Lark's ``sign`` body field: HMAC-SHA256 *keyed with* ``f"{timestamp_s}\\n{secret}"``.

    The message is empty; the result is Base64 (not URL-encoded: it travels in JSON).
    """
    key = f"{int(timestamp_s)}\n{secret}".encode()
    digest = hmac.new(key, b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")
