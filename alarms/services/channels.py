"""Outbound channels (DESIGN §6 "Channels"): create, change, delete, send a test message.

Every write to a channel goes through here, from the API and the admin alike. A channel's secret
is stored as given (it signs each request) and never returned: callers get the channel row, and
the API's serializer leaves the secret out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..choices import CHANNEL_EVENTS, ChannelKind, OutboundStatus
from ..models import Channel, OutboundMessage
from ..permissions import check_can_manage_channels
from .audit import AuditAction, record

if TYPE_CHECKING:
    from ..permissions import Actor

MAX_ESCALATE_AFTER_SECONDS = 30 * 86400
_LANGUAGES = ("zh-hans", "en")

# The fields a caller may set; everything else (rate state, last error) is the sender's.
EDITABLE_FIELDS = (
    "name",
    "kind",
    "url",
    "secret",
    "filter",
    "events",
    "language",
    "escalate_after_seconds",
    "is_active",
)


# Never in the audit log: robot keys and tokens live in the URL (email channels: addresses), and
# the secret signs requests. Entries say only that they changed.
_UNAUDITED_FIELDS = ("url", "secret")


def email_addresses(value: str) -> list[str]:
    """The addresses of an email channel's ``url``: comma- (or semicolon-) separated."""
    return [part.strip() for part in re.split(r"[,;]", value) if part.strip()]


def _clean_url(kind: str, url: str) -> str:
    url = (url or "").strip()
    if not url:
        raise ValidationError({"url": [_("This field is required.")]})
    if kind == ChannelKind.EMAIL:
        addresses = email_addresses(url)
        if not addresses:
            raise ValidationError({"url": [_("Give at least one email address.")]})
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError as exc:
                raise ValidationError(
                    {"url": [_("%(address)s is not a valid email address.") % {"address": address}]}
                ) from exc
        return ", ".join(addresses)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError({"url": [_("Give an http:// or https:// URL.")]})
    return url


def _clean_events(events: object) -> list[str]:
    if not isinstance(events, list | tuple) or not all(isinstance(e, str) for e in events):
        raise ValidationError({"events": [_("Give a list of event names.")]})
    unknown = sorted(set(events) - set(CHANNEL_EVENTS))
    if unknown:
        raise ValidationError(
            {
                "events": [
                    _("Unknown events: %(unknown)s. Choose from %(known)s.")
                    % {"unknown": ", ".join(unknown), "known": ", ".join(CHANNEL_EVENTS)}
                ]
            }
        )
    # Kept in the vocabulary's order, each once.
    return [event for event in CHANNEL_EVENTS if event in events]


def _clean_filter(value: object) -> dict[str, list[str]]:
    from ..notify.matching import validate_filter

    if value is not None and not isinstance(value, Mapping):
        raise ValidationError({"filter": [_("Give an object of alarm filter names to values.")]})
    try:
        return validate_filter(value)
    except ValidationError as exc:
        # Keyed under "filter" so the 400 names both the field and the bad filter inside it.
        raise ValidationError(
            {"filter": [f"{name}: {'; '.join(msgs)}" for name, msgs in exc.message_dict.items()]}
        ) from exc


def clean_channel(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validated channel fields (all of them: merge a partial update first).

    Raises ``ValidationError`` keyed by field name.
    """
    cleaned = dict(values)
    errors: dict[str, list[str]] = {}
    name = str(values.get("name") or "").strip()
    if not name:
        errors["name"] = [_("This field is required.")]
    cleaned["name"] = name
    kind = values.get("kind")
    if kind not in ChannelKind.values:
        errors["kind"] = [_("Choose one of %(kinds)s.") % {"kinds": ", ".join(ChannelKind.values)}]
    language = values.get("language") or "zh-hans"
    if language not in _LANGUAGES:
        errors["language"] = [_("Choose zh-hans or en.")]
    cleaned["language"] = language
    after = values.get("escalate_after_seconds")
    cleaned["escalate_after_seconds"] = after
    if after is not None and (
        isinstance(after, bool)
        or not isinstance(after, int)
        or not 60 <= after <= MAX_ESCALATE_AFTER_SECONDS
    ):
        errors["escalate_after_seconds"] = [
            _("Give a number of seconds between 60 and %(max)d, or null.")
            % {"max": MAX_ESCALATE_AFTER_SECONDS}
        ]
    cleaned["secret"] = str(values.get("secret") or "")
    cleaned["is_active"] = bool(values.get("is_active", True))
    for field, clean in (
        ("events", _clean_events),
        ("filter", _clean_filter),
    ):
        try:
            cleaned[field] = clean(values.get(field, [] if field == "events" else {}))
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "kind" not in errors:
        try:
            cleaned["url"] = _clean_url(str(kind), str(values.get("url") or ""))
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "name" not in errors:
        duplicates = Channel.objects.filter(name=name)
        if values.get("id") is not None:
            duplicates = duplicates.exclude(pk=values["id"])
        if duplicates.exists():
            errors["name"] = [_("A channel with this name already exists.")]
    if errors:
        raise ValidationError(errors)
    return {field: cleaned[field] for field in EDITABLE_FIELDS}


def _user(actor: Actor | None) -> Any:
    return actor if actor is not None and actor.is_authenticated else None


@transaction.atomic
def create_channel(
    *, actor: Actor | None, remote_addr: str | None = None, **values: Any
) -> Channel:
    """A new channel from ``EDITABLE_FIELDS`` (validated; the secret may be empty).

    ``actor`` and ``remote_addr`` are for the audit log, as for every write here.
    """
    check_can_manage_channels(actor)
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: [_("Unknown field.")] for name in sorted(unknown)})
    fields = clean_channel(values)
    channel = Channel.objects.create(created_by=_user(actor), **fields)
    record(
        action=AuditAction.CHANNEL_CREATED,
        actor=actor,
        target=channel,
        remote_addr=remote_addr,
        **{field: value for field, value in fields.items() if field not in _UNAUDITED_FIELDS},
        has_secret=bool(fields["secret"]),
    )
    return channel


@transaction.atomic
def update_channel(
    *, channel: Channel, actor: Actor | None, remote_addr: str | None = None, **changes: Any
) -> Channel:
    """Change some fields of a channel. ``secret`` left out (or None) keeps the stored one."""
    check_can_manage_channels(actor)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: [_("Unknown field.")] for name in sorted(unknown)})
    locked = Channel.objects.select_for_update().get(pk=channel.pk)
    if changes.get("secret") is None:
        changes.pop("secret", None)
    merged = {field: getattr(locked, field) for field in EDITABLE_FIELDS}
    merged.update(changes)
    merged["id"] = locked.pk
    fields = clean_channel(merged)
    changed = [field for field in EDITABLE_FIELDS if getattr(locked, field) != fields[field]]
    before = {field: getattr(locked, field) for field in changed}
    for field in changed:
        setattr(locked, field, fields[field])
    if changed:
        locked.save(update_fields=[*changed, "updated_at"])
        record(
            action=AuditAction.CHANNEL_CHANGED,
            actor=actor,
            target=locked,
            remote_addr=remote_addr,
            changed=changed,
            **{
                field: {"old": before[field], "new": fields[field]}
                for field in changed
                if field not in _UNAUDITED_FIELDS
            },
        )
    return locked


@transaction.atomic
def delete_channel(
    *, channel: Channel, actor: Actor | None, remote_addr: str | None = None
) -> None:
    """Delete a channel and its outbox history (messages cascade)."""
    check_can_manage_channels(actor)
    # The row as stored, not the caller's copy, is what the audit log describes.
    locked = Channel.objects.select_for_update().filter(pk=channel.pk).first()
    if locked is None:  # a concurrent delete got there first: nothing to log
        return
    _count, deleted = Channel.objects.filter(pk=locked.pk).delete()
    record(
        action=AuditAction.CHANNEL_DELETED,
        actor=actor,
        target=locked,
        remote_addr=remote_addr,
        kind=locked.kind,
        outbound_messages=deleted.get(OutboundMessage._meta.label, 0),
    )


@transaction.atomic
def send_test_message(*, channel: Channel, actor: Actor | None) -> OutboundMessage:
    """Queue a test message to the channel (also when inactive: that is how one checks it).

    It goes through the outbox like any other message, so its attempts are recorded; the
    sender renders a sample text instead of an alarm.
    """
    check_can_manage_channels(actor)
    message = OutboundMessage.objects.create(
        channel=channel,
        event="test",
        is_test=True,
        status=OutboundStatus.PENDING,
        next_attempt_at=timezone.now(),
    )
    from .outbox import enqueue_after_commit

    enqueue_after_commit([message.pk])
    return message
