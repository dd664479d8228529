"""Putting one built message on the wire: an HTTP POST or an email, timed and classified.

Split from :mod:`alarms.notify.sender`, which decides what the result means for the outbox.
Errors are redacted here (no channel secret or URL query string ever reaches an attempt row or
a log line) and bounded in length.
"""

from __future__ import annotations

import smtplib
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3
from django.conf import settings
from django.core.mail import EmailMessage

from ..models import Channel
from .formats import OutboundRequest
from .outbound import EmailContent
from .responses import Classification, classify_response

SEND_TIMEOUT_SECONDS = 5
MAX_ERROR_CHARS = 1000
_MAX_RESPONSE_BYTES = 64 * 1024


# --- the send ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    classification: Classification
    error: str
    duration_ms: int


def redact(text: str, channel: Channel) -> str:
    """``text`` without the channel's secret or the query string of its URL (robot keys,
    DingTalk's access_token and sign live there), and bounded in length."""
    parts = urlsplit(channel.url)
    if parts.query:
        text = text.replace(parts.query, "<redacted>")
    if channel.secret:
        text = text.replace(channel.secret, "<redacted>")
    if "?" in text:
        # Requests quotes the URL it was sent to, with our added timestamp and sign.
        text = " ".join(
            urlunsplit((p.scheme, p.netloc, p.path, "<redacted>" if p.query else "", ""))
            if (p := urlsplit(word)).scheme in ("http", "https")
            else word
            for word in text.split(" ")
        )
    return text[:MAX_ERROR_CHARS]


def post(request: OutboundRequest, channel: Channel) -> SendResult:
    """POST the request as built (its bytes are signed), no redirects, a short timeout."""
    started = time.monotonic()
    status_code: int | None = None
    body = b""
    error = ""
    try:
        response = requests.request(
            request.method,
            request.url,
            data=request.body,
            headers=request.headers,
            timeout=SEND_TIMEOUT_SECONDS,
            allow_redirects=False,
            stream=True,
        )
        try:
            status_code = response.status_code
            body = response.raw.read(_MAX_RESPONSE_BYTES, decode_content=True) or b""
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            # The answer broke off: whether the message arrived is unknown, so it is transient.
            error = redact(f"reading the answer: {type(exc).__name__}: {exc}", channel)
        finally:
            response.close()
    except requests.RequestException as exc:
        error = redact(f"{type(exc).__name__}: {exc}", channel)
    duration_ms = int((time.monotonic() - started) * 1000)
    # An unreadable answer counts as no answer (a timeout): retried, never "permanent".
    classification = classify_response(channel.kind, None if error else status_code, body)
    if not error and classification.outcome != "ok":
        error = redact(f"{classification.reason}: {body[:500].decode('utf-8', 'replace')}", channel)
    return SendResult(status_code, classification, error, duration_ms)


def send_email(content: EmailContent, channel: Channel) -> SendResult:
    """Send through Django's mail backend; refused addresses are permanent, the rest retried."""
    started = time.monotonic()
    try:
        EmailMessage(
            subject=content.subject,
            body=content.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=content.to,
        ).send(fail_silently=False)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
        outcome = Classification("permanent", "address refused")
        error = redact(f"{type(exc).__name__}: {exc}", channel)
    except (smtplib.SMTPException, OSError) as exc:
        outcome = Classification("transient", "mail server unavailable")
        error = redact(f"{type(exc).__name__}: {exc}", channel)
    else:
        outcome = Classification("ok", "sent")
        error = ""
    return SendResult(None, outcome, error, int((time.monotonic() - started) * 1000))
