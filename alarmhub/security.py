"""Response headers and small helpers for SECURITY.md's web-facing rules.

- Forwarded headers count only from a configured proxy (``DJANGO_TRUSTED_PROXY``).
- ``Permissions-Policy`` on every response; ``Cache-Control: no-store`` on every response
  that belongs to a logged-in user (or sets a session cookie), static files excepted.
- A fixed-window per-key counter in a shared cache, for throttles DRF and axes do not cover.
- django-csp's middleware, with the policy of a plain response built once (CSPMiddleware).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from csp import middleware as csp_middleware
from csp.constants import HEADER as CSP_HEADER
from csp.utils import build_policy
from django.conf import settings
from django.core.cache import BaseCache, caches
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_cache_control

from .headers import PERMISSIONS_POLICY

logger = logging.getLogger(__name__)

_FORWARDED_HEADERS = ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_FOR")


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the hop our trusted proxy appended.

    Only the last X-Forwarded-For entry is the proxy's own observation; earlier entries are
    whatever the client sent. The middleware below drops the header from anyone else.
    """
    remote = str(request.META.get("REMOTE_ADDR") or "")
    if remote in settings.ALARMHUB_TRUSTED_PROXIES:
        forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return remote


def _authenticated(request: HttpRequest) -> bool:
    # DRF writes the token-authenticated user back to the Django request, so this sees both.
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


class SecurityHeadersMiddleware:
    """First in MIDDLEWARE: it cleans the request before SecurityMiddleware reads the scheme,
    and sees the response after SessionMiddleware has set (or not) the session cookie."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.static_prefix = "/" + settings.STATIC_URL.lstrip("/")

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        trusted = settings.ALARMHUB_TRUSTED_PROXIES
        if trusted and request.META.get("REMOTE_ADDR") not in trusted:
            # A client talking to us directly must not claim HTTPS or another address.
            for header in _FORWARDED_HEADERS:
                request.META.pop(header, None)
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        # A view that explicitly allows shared caching (the status stylesheet) keeps it.
        if (
            not request.path.startswith(self.static_prefix)
            and "public" not in response.headers.get("Cache-Control", "")
            and (settings.SESSION_COOKIE_NAME in response.cookies or _authenticated(request))
        ):
            patch_cache_control(response, no_store=True, private=True)
        return response


# What django-csp's decorators (csp_exempt, csp_update, csp_replace, csp) set on a response.
_CSP_OVERRIDES = tuple(
    f"_csp_{kind}{suffix}"
    for kind in ("exempt", "config", "update", "replace")
    for suffix in ("", "_ro")
)


class CSPMiddleware(csp_middleware.CSPMiddleware):
    """django-csp's middleware, building the header of a plain response once, not per response.

    A response that used no nonce and carries no per-view policy gets the header of the settings
    alone: the same string every time, yet rebuilt (with its dataclass copies) on every request —
    a few per cent of a callback's CPU (issue 16). Anything else is django-csp's own path.
    """

    _plain: tuple[object, str] | None = (
        None  # (the CONTENT_SECURITY_POLICY it was built from, header)
    )

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", None)
        if (
            not policy
            or policy.get("EXCLUDE_URL_PREFIXES")
            or getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
            or getattr(request, "_csp_nonce", None) is not None
            or CSP_HEADER in response
            or any(hasattr(response, name) for name in _CSP_OVERRIDES)
            or (settings.DEBUG and response.status_code in (404, 500))
        ):
            return super().process_response(request, response)
        plain = self._plain
        if plain is None or plain[0] is not policy:  # override_settings swaps the dict
            plain = self._plain = (policy, build_policy())
        response[CSP_HEADER] = plain[1]
        # As django-csp does: a nonce asked for after the header is written is an error.
        request.csp_nonce = csp_middleware.CheckableLazyObject(  # type: ignore[attr-defined]
            self._csp_nonce_post_response
        )
        return response


def window_key(scope: str, key: str, window_seconds: int) -> str:
    """The cache key of ``key``'s counter in the current fixed window."""
    return f"alarmhub:rate:{scope}:{key}:{int(time.time() // window_seconds)}"


def hit(cache_alias: str, scope: str, key: str, *, window_seconds: int) -> int:
    """Count one event for ``key`` in the current window; the count so far (0: cache down).

    Fixed windows are coarse (up to twice the rate across a boundary) but cost one round trip
    and work the same on local memory and Redis. A cache outage opens the throttle rather than
    failing the request: availability of the callback matters more than its rate limit.
    """
    cache: BaseCache = caches[cache_alias]
    cache_key = window_key(scope, key, window_seconds)
    try:
        incr_window = getattr(cache, "incr_window", None)  # Redis: one round trip, not three
        if incr_window is not None:
            return int(incr_window(cache_key, window_seconds + 1))
        cache.add(cache_key, 0, window_seconds + 1)
        return int(cache.incr(cache_key))
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, window_seconds + 1)
        return 1
    except Exception:  # a cache backend's own errors (redis.RedisError, OSError)
        logger.warning("rate-limit cache unavailable; not throttling %s", scope, exc_info=True)
        return 0


def email_configured() -> bool:
    """Whether Django can send mail: EMAIL_HOST set, or a backend other than default SMTP."""
    return settings.is_overridden("EMAIL_HOST") or (  # type: ignore[misc]  # not in the stubs
        settings.EMAIL_BACKEND != "django.core.mail.backends.smtp.EmailBackend"
    )
