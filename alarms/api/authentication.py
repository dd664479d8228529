"""``Authorization: Token <key>`` against hashed, expiring, revocable tokens (issue 14, 13).

DRF's header parsing, ``WWW-Authenticate: Token`` challenge and OpenAPI scheme (drf-spectacular
matches subclasses of TokenAuthentication) are kept; only the look-up changes.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from ..models import ApiToken
from ..services.tokens import hash_key, mark_used

__all__ = ["HashedTokenAuthentication"]


class HashedTokenAuthentication(TokenAuthentication):
    keyword = "Token"
    model = ApiToken

    def authenticate_credentials(self, key: str) -> tuple[Any, ApiToken]:
        # One query (served by the unique index on key_hash), joined to the user.
        token = ApiToken.objects.select_related("user").filter(key_hash=hash_key(key)).first()
        # A revoked token answers like an unknown one: nothing to learn from trying old keys.
        if token is None or token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        now = timezone.now()
        if token.expires_at is not None and token.expires_at <= now:
            raise exceptions.AuthenticationFailed(_("Token expired."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        mark_used(token, now=now)
        return token.user, token
