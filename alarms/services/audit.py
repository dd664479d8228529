"""The audit log: who did what, to what, when and from where (issue 14, finding 14).

``record()`` is the only writer of :class:`~alarms.models.AuditEntry`. Services call it inside
their own transaction, so an entry exists exactly when the change it describes was committed.
Services have no request: callers that have one pass ``remote_addr=client_ip(request)``
(``alarmhub.security``).
"""

from __future__ import annotations

import ipaddress
import json
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..models import AuditEntry
from ..pipeline.payload import storable, storable_text

if TYPE_CHECKING:
    from ..permissions import Actor

__all__ = ["AuditAction", "record"]

# The longest lists kept in ``details`` (a bulk action over 10,000 alarms keeps the first ones).
MAX_LISTED_IDS = 500


class AuditAction(models.TextChoices):
    """Every action the audit log knows; the admin filters and labels by these."""

    LOGIN = "auth.login", _("Logged in")
    LOGIN_FAILED = "auth.login_failed", _("Failed login")
    API_TOKEN_CREATED = "api_token.created", _("API token created")
    API_TOKEN_REVOKED = "api_token.revoked", _("API token revoked")
    ENDPOINT_CREATED = "endpoint.created", _("Endpoint created")
    ENDPOINT_TOKEN_ROTATED = "endpoint.token_rotated", _("Endpoint token rotated")
    ENDPOINT_DEACTIVATED = "endpoint.deactivated", _("Endpoint deactivated")
    ENDPOINT_ACTIVATED = "endpoint.activated", _("Endpoint activated")
    ENDPOINT_CHANGED = "endpoint.changed", _("Endpoint changed")
    ENDPOINT_BASIC_AUTH_CHANGED = "endpoint.basic_auth_changed", _("Endpoint Basic auth changed")
    DELIVERIES_REPROCESSED = "deliveries.reprocessed", _("Deliveries reprocessed")
    ALARMS_BULK_ACKNOWLEDGED = "alarms.bulk_acknowledged", _("Alarms acknowledged in bulk")
    ALARMS_BULK_UNACKNOWLEDGED = "alarms.bulk_unacknowledged", _("Alarms unacknowledged in bulk")
    CHANNEL_CREATED = "channel.created", _("Channel created")
    CHANNEL_CHANGED = "channel.changed", _("Channel changed")
    CHANNEL_DELETED = "channel.deleted", _("Channel deleted")
    SILENCE_CREATED = "silence.created", _("Silence created")
    SILENCE_CHANGED = "silence.changed", _("Silence changed")
    SILENCE_DELETED = "silence.deleted", _("Silence deleted")


def _field(value: str, model_field: str) -> str:
    field = AuditEntry._meta.get_field(model_field)
    limit = getattr(field, "max_length", None) or 0
    return storable_text(value)[:limit]


def _ip_or_none(value: str | None) -> str | None:
    # GenericIPAddressField is not validated on save: a bad value would fail the whole write.
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def _json_safe(details: dict[str, Any]) -> dict[str, Any]:
    # Round-trip through JSON (datetimes, Decimals, sets as text) and drop lone surrogates,
    # which PostgreSQL refuses: a detail must never make the change it describes fail.
    safe = json.loads(json.dumps(details, default=_jsonable))
    return dict(storable(safe))


def _jsonable(value: Any) -> Any:
    if isinstance(value, set | frozenset | tuple):
        return sorted(value, key=str)
    return str(value)


def listed_ids(ids: Any) -> list[Any]:
    """Up to MAX_LISTED_IDS of ``ids`` for ``details`` (pair it with a count of all)."""
    return list(ids)[:MAX_LISTED_IDS]


def record(
    *,
    action: str,
    actor: Actor | None,
    target: models.Model | str | None = None,
    remote_addr: str | None = None,
    **details: Any,
) -> AuditEntry:
    """Write one audit entry.

    ``actor`` is the user who acted (None or anonymous: AlarmHub itself, a management command,
    or nobody known, as for a failed login). ``target`` is the object acted on, or a text naming
    something that is not a row (e.g. the username a failed login tried). ``details`` is stored as
    JSON: never pass secrets (passwords, tokens). Call inside the change's transaction.
    """
    user = actor if actor is not None and actor.is_authenticated else None
    entry = AuditEntry(
        action=_field(str(action), "action"),
        actor=user,
        actor_name=_field(user.get_username(), "actor_name") if user is not None else "",
        remote_addr=_ip_or_none(remote_addr),
        details=_json_safe(details),
    )
    if isinstance(target, models.Model):
        opts = target._meta
        entry.target_type = _field(f"{opts.app_label}.{opts.model_name}", "target_type")
        entry.target_id = _field(str(target.pk), "target_id")
        entry.target_repr = _field(str(target), "target_repr")
    elif target:
        entry.target_repr = _field(str(target), "target_repr")
    entry.save()
    return entry
