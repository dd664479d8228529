"""``GET /metrics``: Prometheus scrapes, guarded by a bearer token or by loopback only."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST

from .metrics import render_metrics

# Headers a reverse proxy adds: behind one on the same host every client looks like loopback.
PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_FORWARDED")


def is_loopback(remote_addr: str) -> bool:
    """127.0.0.0/8, ::1, or an IPv4-mapped loopback address (``::ffff:127.0.0.1``)."""
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """None when the scrape may proceed; else the 401/403 answer."""
    token: str = settings.ALARMHUB_METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            response = HttpResponse(
                "Bearer token required.\n", status=401, content_type="text/plain"
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        # Constant time: the comparison must not tell how much of a guess was right.
        if not hmac.compare_digest(given.strip().encode(), token.encode()):
            return HttpResponse("Wrong token.\n", status=403, content_type="text/plain")
        return None
    forwarded = any(request.META.get(header) for header in PROXY_HEADERS)
    if forwarded or not is_loopback(request.META.get("REMOTE_ADDR", "")):
        return HttpResponse(
            "Metrics answer loopback clients only; set ALARMHUB_METRICS_TOKEN to scrape "
            "remotely.\n",
            status=403,
            content_type="text/plain",
        )
    return None


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """The Prometheus text exposition of ``alarms.ops.metrics`` (no login, no session)."""
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)
