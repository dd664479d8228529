"""Signature schemes, checked against vectors computed another way (no shared code path).

Neither DingTalk's nor Feishu's documentation publishes a worked example (their samples sign
the current time), so the expected values here come from an HMAC written out by hand from
RFC 2104 over hashlib's SHA-256 — not from the ``hmac`` module the implementation uses — plus,
for DingTalk, one vector published in a third-party SDK's test suite (the ``dingding`` Rust
crate: secret "secret", timestamp 1700000000000), which our implementation reproduces.
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import unquote

from hypothesis import given
from hypothesis import strategies as st

from alarms.notify.signing import (
    dingtalk_sign,
    feishu_sign,
    verify_webhook_signature,
    webhook_signature,
)


def rfc2104_hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 by the book: H((K ^ opad) || H((K ^ ipad) || m)), 64-byte blocks."""
    block = 64
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key.ljust(block, b"\x00")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key) + message).digest()
    return hashlib.sha256(bytes(b ^ 0x5C for b in key) + inner).digest()


# --- our webhook ---------------------------------------------------------------------------------


def test_webhook_signature_is_hex_hmac_over_timestamp_dot_body() -> None:
    body = b'{"event":"triggered","alarm":{"id":42}}'
    expected = rfc2104_hmac_sha256(b"s3cret", b"1796285160." + body).hex()

    assert webhook_signature("s3cret", 1796285160, body) == f"sha256={expected}"


def test_webhook_signature_changes_with_any_byte_of_the_body() -> None:
    first = webhook_signature("k", 1, b'{"a":1}')

    assert webhook_signature("k", 1, b'{"a": 1}') != first
    assert webhook_signature("k", 2, b'{"a":1}') != first
    assert webhook_signature("other", 1, b'{"a":1}') != first


def test_verify_webhook_signature() -> None:
    signature = webhook_signature("k", 1700000000, b"body")

    assert verify_webhook_signature("k", 1700000000, b"body", signature)
    assert not verify_webhook_signature("k", 1700000000, b"body!", signature)
    assert not verify_webhook_signature("k", 1700000001, b"body", signature)


SECRETS = st.text(alphabet=st.characters(codec="utf-8"), min_size=1)


@given(SECRETS, st.integers(min_value=0, max_value=2**40), st.binary())
def test_webhook_signature_matches_the_hand_written_hmac(
    secret: str, timestamp: int, body: bytes
) -> None:
    message = str(timestamp).encode() + b"." + body
    expected = rfc2104_hmac_sha256(secret.encode(), message).hex()

    assert webhook_signature(secret, timestamp, body) == "sha256=" + expected


# --- DingTalk ------------------------------------------------------------------------------------


def test_dingtalk_sign_reproduces_a_published_vector() -> None:
    assert dingtalk_sign("secret", 1700000000000) == (
        "OuzzJR5%2BxZ4%2FEYwqtNt6sMYZQMTa%2FHEGvc9miJe7XzY%3D"
    )


def test_dingtalk_sign_is_keyed_with_the_secret_over_timestamp_newline_secret() -> None:
    secret = "SEC0123456789abcdef"
    raw = rfc2104_hmac_sha256(secret.encode(), b"1796285160000\n" + secret.encode())

    sign = dingtalk_sign(secret, 1796285160000)

    assert unquote(sign) == base64.b64encode(raw).decode()
    # Already URL-encoded: no character that would need encoding again.
    assert all(char.isalnum() or char == "%" for char in sign)


# --- Feishu --------------------------------------------------------------------------------------


def test_feishu_sign_is_keyed_with_timestamp_newline_secret_over_nothing() -> None:
    raw = rfc2104_hmac_sha256(b"1599360473\nsecret", b"")

    assert feishu_sign("secret", 1599360473) == base64.b64encode(raw).decode()


def test_feishu_and_dingtalk_are_not_interchangeable() -> None:
    # The common bug: Feishu signed DingTalk's way (key = secret, message = the string).
    dingtalk_way = base64.b64encode(rfc2104_hmac_sha256(b"secret", b"1599360473\nsecret")).decode()

    assert feishu_sign("secret", 1599360473) != dingtalk_way
    assert unquote(dingtalk_sign("secret", 1599360473)) == dingtalk_way


@given(SECRETS, st.integers(0, 2**34))
def test_feishu_sign_matches_the_hand_written_hmac(secret: str, timestamp: int) -> None:
    key = f"{timestamp}\n{secret}".encode()

    assert (
        feishu_sign(secret, timestamp) == base64.b64encode(rfc2104_hmac_sha256(key, b"")).decode()
    )
