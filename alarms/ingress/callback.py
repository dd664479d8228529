"""The Tencent Cloud Monitor callback URL (DESIGN §4 "Callback").

Thin on purpose: find the endpoint, bound and shape-check the body, store it, answer.
Everything about alarms happens later in the worker.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.cache import caches
from django.db import DatabaseError
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import tasks
from ..pipeline.payload import BadPayload, decode_object, storable_text
from ..pipeline.store import store_delivery
from ..selectors.endpoints import EndpointInfo, active_endpoint_for_token_hash
from ..services.endpoints import hash_token
from . import quota, throttle

logger = logging.getLogger(__name__)

# What reading a malformed or cut-off body raises: Django's UnreadablePostError and socket errors
# are OSErrors, gunicorn's NoMoreData is an IOError, its chunk errors (InvalidChunkSize,
# ChunkMissingTerminator) derive from its ParseException, and some servers raise ValueError.
_BODY_READ_ERRORS: tuple[type[BaseException], ...] = (OSError, ValueError)
try:
    from gunicorn.http.errors import ParseException
except ImportError:  # gunicorn is the production server, not a requirement of the app
    pass
else:
    _BODY_READ_ERRORS += (ParseException,)


class UnreadableBody(Exception):
    """The request body could not be read as the framing promised (a client error: 400)."""


class JSONWhateverTheAccept(BaseContentNegotiation):
    """Always JSON: Tencent's Accept header is undocumented, and a 406 would lose the alarm."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser:
        return next(iter(parsers))

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class RawBodyParser(BaseParser):
    """Accept any Content-Type; the view reads the raw bytes itself."""

    media_type = "*/*"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        return None


def _error(code: int, message: str) -> Response:
    return Response({"retCode": 1, "error": message}, status=code)


# Verified Authorization headers per process: Django's password hashers are deliberately slow
# (about a second here), far too slow to pay on every callback of an alarm storm.
_VERIFIED_CREDENTIALS_SECONDS = 300


def _basic_auth_ok(request: Request, endpoint: EndpointInfo) -> bool:
    if not endpoint.basic_auth_username:
        return True
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or len(encoded) > 1024:
        return False
    material = f"{endpoint.id}:{endpoint.basic_auth_password_hash}:{header}".encode()
    cache_key = "alarmhub:basic-ok:" + hashlib.sha256(material).hexdigest()
    verified = caches[throttle.VERIFIED_CREDENTIALS_CACHE]
    if verified.get(cache_key):
        return True
    if throttle.over_limit(request, throttle.BAD_CREDENTIALS, endpoint_id=endpoint.id):
        return False  # spend no slow hash on an address that keeps guessing this endpoint
    try:
        username, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except ValueError:  # binascii.Error, non-ASCII text, invalid UTF-8: all ValueErrors
        return False
    # check_password is constant-time; compare the username too so both must match.
    ok = check_password(password, endpoint.basic_auth_password_hash) and hmac.compare_digest(
        username.encode(), endpoint.basic_auth_username.encode()
    )
    if ok:
        verified.set(cache_key, True, _VERIFIED_CREDENTIALS_SECONDS)
    return ok


def _bearer_ok(request: Request, expected_hash: str) -> bool:
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    given = given.strip()
    if scheme.lower() != "bearer" or not given or len(given) > 1024:
        return False
    # Compare digests, not tokens: constant time, and only the hash is stored.
    return hmac.compare_digest(hash_token(given), expected_hash)


def _read_body(request: Request, limit: int) -> bytes | None:
    """Up to ``limit + 1`` bytes of the body; None when a chunked body cannot be read.

    Django reads nothing without a Content-Length, so a chunked body would look empty and be
    mistaken for Tencent's URL check: read it from the server's terminated input instead.
    Raises UnreadableBody when the framing is broken (bad chunk size, connection cut short).
    """
    meta = request.META
    chunked = "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
    try:
        if chunked and not meta.get("CONTENT_LENGTH"):
            if not meta.get("wsgi.input_terminated"):
                return None
            return meta["wsgi.input"].read(limit + 1)
        return request._request.read(limit + 1)
    except _BODY_READ_ERRORS as exc:
        raise UnreadableBody(type(exc).__name__) from exc


def _session_id(payload: dict[str, Any]) -> str:
    """The sessionId to store and echo, as text ("" when absent or not a scalar)."""
    value = payload.get("sessionId", "")
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return storable_text(str(value))
    return ""


def _refuse_credentials(request: Request, endpoint: EndpointInfo) -> Response | None:
    """None when the request may store; else the 401 (or 429 for a flood of bad credentials).

    Alertmanager's http_config sends Bearer or Basic, never both: either configured one passes.
    """
    basic = bool(endpoint.basic_auth_username)
    bearer_hash = endpoint.bearer_token_hash
    if bearer_hash:
        if _bearer_ok(request, bearer_hash) or (basic and _basic_auth_ok(request, endpoint)):
            return None
        challenges = ["Bearer"] + (["Basic"] if basic else [])
        message = "bearer token required"
    else:
        if _basic_auth_ok(request, endpoint):
            return None
        challenges = ["Basic"]
        message = "HTTP Basic credentials required"
    if throttle.count_failure(request, throttle.BAD_CREDENTIALS, endpoint_id=endpoint.id):
        return throttle.throttled()
    response = _error(status.HTTP_401_UNAUTHORIZED, message)
    response["WWW-Authenticate"] = ", ".join(
        f'{scheme} realm="AlarmHub callback"' for scheme in challenges
    )
    return response


class CallbackView(APIView):
    """Receive one Tencent alarm callback and store it before answering."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []
    parser_classes = [RawBodyParser]
    # JSON only: a browser must not get the browsable API (and its forms) on a token URL.
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONWhateverTheAccept
    # DESIGN §4: GET, HEAD and POST only; everything else (OPTIONS included) answers 405.
    http_method_names = ["get", "head", "post"]

    def _endpoint(self, token: str) -> EndpointInfo | Response:
        """The endpoint, or the error response: 404 when unknown, 503 when the database is down."""
        if len(token) > 200:
            return self._unknown_token()
        try:
            endpoint = active_endpoint_for_token_hash(hash_token(token))
        except DatabaseError:
            # A cold cache with the database down: Tencent must retry, so never a 500 (§4).
            logger.exception("could not look up a callback endpoint")
            return _error(status.HTTP_503_SERVICE_UNAVAILABLE, "storage unavailable; retry later")
        if endpoint is None:
            return self._unknown_token()
        return endpoint

    def _unknown_token(self) -> Response:
        # Per-IP: a scanner's flood turns into quiet 429s; a valid token is never counted.
        if throttle.count_failure(self.request, throttle.UNKNOWN_TOKEN):
            return throttle.throttled()
        return _error(status.HTTP_404_NOT_FOUND, "unknown callback URL")

    def _verification(self, token: str) -> Response:
        # Tencent checks a URL once when it is saved; the request's form is undocumented.
        endpoint = self._endpoint(token)
        if isinstance(endpoint, Response):
            return endpoint
        return Response({"retCode": 0})

    @extend_schema(exclude=True)
    def get(self, request: Request, token: str) -> Response:
        return self._verification(token)

    @extend_schema(exclude=True)
    def head(self, request: Request, token: str) -> Response:
        return self._verification(token)

    @extend_schema(exclude=True)
    def post(self, request: Request, token: str) -> Response:
        endpoint = self._endpoint(token)
        if isinstance(endpoint, Response):
            return endpoint
        limit = settings.ALARMHUB_MAX_BODY_BYTES
        declared = request.META.get("CONTENT_LENGTH") or ""
        # Django reads an unparsable Content-Length as 0: the body would be taken for Tencent's
        # empty URL check and answered 200 without being stored. isascii: "²".isdigit() is True.
        if declared and not (declared.isascii() and declared.isdigit()):
            return _error(status.HTTP_400_BAD_REQUEST, "invalid Content-Length header")
        if len(declared) > 19:  # past any real size, and int() refuses > 4300 digits
            return _error(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"body exceeds {limit} bytes")
        if declared and int(declared) > limit:
            return _error(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"body exceeds {limit} bytes")
        try:
            body = _read_body(request, limit)
        except UnreadableBody as exc:
            # The client's framing is broken: a 400, never a 500 (§4 allows only 503).
            logger.info("unreadable callback body for endpoint %s: %s", endpoint.id, exc)
            return _error(status.HTTP_400_BAD_REQUEST, "malformed or truncated request body")
        if body is None:
            return _error(status.HTTP_411_LENGTH_REQUIRED, "send a Content-Length header")
        if declared and len(body) < int(declared):
            # The connection closed early: storing a cut-off body would lose the alarm silently.
            return _error(status.HTTP_400_BAD_REQUEST, "body shorter than its Content-Length")
        if len(body) > limit:
            return _error(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, f"body exceeds {limit} bytes")
        if not body.strip():
            # URL verification with an empty POST: stores nothing, so it needs no credentials
            # (whether Tencent sends the URL's userinfo when verifying is undocumented).
            return Response({"retCode": 0})
        refusal = _refuse_credentials(request, endpoint)
        if refusal is not None:
            return refusal

        try:
            payload = decode_object(body)
        except BadPayload as exc:
            return _error(status.HTTP_400_BAD_REQUEST, str(exc))
        session_id = _session_id(payload)
        if quota.over_quota(endpoint):
            return quota.quota_exceeded()

        try:
            store_delivery(
                endpoint_id=endpoint.id,
                body=body,
                session_id=session_id,
                remote_addr=request.META.get("REMOTE_ADDR") or None,
                content_type=request.META.get("CONTENT_TYPE", ""),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
                enqueue=tasks.wake_worker_for,
            )
        except DatabaseError:
            logger.exception("could not store a delivery for endpoint %s", endpoint.id)
            return _error(status.HTTP_503_SERVICE_UNAVAILABLE, "storage unavailable; retry later")
        return Response({"sessionId": session_id, "retCode": 0})
