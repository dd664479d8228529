"""Acknowledgement expiry (issue 12, item 8; Alertmanager #1860): an acknowledgement of a
matching firing alarm lapses after a while, so a forgotten alarm is not quiet for ever.

Beat runs :func:`expire_acknowledgements` every minute. For every active
:class:`~alarms.models.AckExpiryRule` with ``expire_after_seconds``, a firing alarm that matches
its filter and was acknowledged at least that long ago is unacknowledged by AlarmHub itself
(actor None): its timeline gets an UNACKNOWLEDGED event whose details say ``ack_expired`` and
name the rule and the acknowledgement that lapsed. Idempotent: an alarm no longer acknowledged
is not looked at again, and a fresh acknowledgement starts a new clock.

What "re-arming notifications" means: nothing is sent at the expiry itself (it is no news to
the people who acknowledged). The alarm is simply unacknowledged again, so its next repeat
reaches the channels that filter on ``acknowledged=false`` (the usual "only what nobody owns"
channel), the board shows it unowned, and escalation (``services.escalation``) treats it as
unacknowledged again: a channel that never escalated it does so at its next run.

``expire_on_refire`` ("or when the alarm fires again after a recovery"): in AlarmHub a trigger
after a recovery is a *new* lifecycle of the same identity (a new ``firstOccurTime``, DESIGN §3),
a new alarm row that starts unacknowledged; a late trigger or repeat of the *recovered*
lifecycle never reopens it (rule 4). So an acknowledgement never outlives a recovery, with or
without a rule, and there is nothing for this flag to undo: it is kept as the rule's stated
intent, and the tests pin the behaviour it names. Repeats of the same, still-firing lifecycle
are not "firing again": they keep the acknowledgement (the time limit is for those).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..choices import AlarmStatus
from ..models import AckExpiryRule, Alarm
from ..notify.matching import alarm_matches, validate_filter
from ..permissions import check_can_manage_channels
from ..selectors.alarms import alarm_list_queryset
from .operator import unacknowledge_alarm

if TYPE_CHECKING:
    from ..permissions import Actor

logger = logging.getLogger(__name__)

ACK_EXPIRED = "ack_expired"
# Per run and rule: a backlog drains over a few minutes instead of in one long task.
BATCH_SIZE = 500


MIN_EXPIRE_AFTER_SECONDS = 60


def clean_rule_values(
    *, filter: object, expire_after_seconds: int | None, expire_on_refire: bool
) -> dict[str, list[str]]:
    """The rule's filter, cleaned; raises ValidationError keyed by the offending field."""
    try:
        cleaned = validate_filter(filter or {})  # type: ignore[arg-type]
    except ValidationError as exc:
        messages = [f"{name}: {m}" for name, ms in exc.message_dict.items() for m in ms]
        raise ValidationError({"filter": messages}) from exc
    if expire_after_seconds is not None and expire_after_seconds < MIN_EXPIRE_AFTER_SECONDS:
        raise ValidationError({"expire_after_seconds": ["Give at least 60 seconds."]})
    if expire_after_seconds is None and not expire_on_refire:
        raise ValidationError({"expire_after_seconds": ["Give a time limit."]})
    return cleaned


@transaction.atomic
def save_rule(*, rule: AckExpiryRule, actor: Actor | None) -> AckExpiryRule:
    """Validate and save a new or changed rule (the admin calls this); staff or
    ``manage_channel``, like the channels whose messages it re-arms. Raises ValidationError
    naming the field, PermissionDenied."""
    check_can_manage_channels(actor)
    rule.filter = clean_rule_values(
        filter=rule.filter,
        expire_after_seconds=rule.expire_after_seconds,
        expire_on_refire=rule.expire_on_refire,
    )
    if rule._state.adding and actor is not None and actor.is_authenticated:
        rule.created_by = actor
    rule.save()
    return rule


def timed_rules() -> list[AckExpiryRule]:
    """Active rules with a time limit, shortest first: an alarm several rules match lapses at
    the shortest one (it is unacknowledged by then when the longer ones look)."""
    return list(
        AckExpiryRule.objects.filter(is_active=True, expire_after_seconds__isnull=False).order_by(
            "expire_after_seconds", "id"
        )
    )


def lapsed_for(rule: AckExpiryRule, now: datetime) -> list[Alarm]:
    """Firing alarms acknowledged at least the rule's time ago that match its filter.

    Acknowledged firing alarms are few; the filter is matched in Python (policy and instance
    joined), as for channels and silences.
    """
    assert rule.expire_after_seconds is not None
    cutoff = now - timedelta(seconds=rule.expire_after_seconds)
    candidates = (
        alarm_list_queryset()
        .filter(status=AlarmStatus.FIRING, acknowledged_at__lte=cutoff)
        .order_by("acknowledged_at", "pk")[:BATCH_SIZE]
    )
    return [alarm for alarm in candidates if alarm_matches(alarm, rule.filter or {})]


@transaction.atomic
def expire_acknowledgement(*, alarm: Alarm, rule: AckExpiryRule, now: datetime) -> bool:
    """Unacknowledge ``alarm`` if it is still firing and acknowledged at least the rule's time
    ago, re-checked under the row lock (an operator may have re-acknowledged it meanwhile);
    False when there was nothing to do."""
    assert rule.expire_after_seconds is not None
    locked = Alarm.objects.select_for_update().select_related("acknowledged_by").get(pk=alarm.pk)
    cutoff = now - timedelta(seconds=rule.expire_after_seconds)
    acknowledged_at = locked.acknowledged_at
    if locked.status != AlarmStatus.FIRING or acknowledged_at is None or acknowledged_at > cutoff:
        return False
    by = locked.acknowledged_by
    unacknowledge_alarm(
        alarm=locked,
        actor=None,
        details={
            "reason": ACK_EXPIRED,
            "rule_id": rule.pk,
            "expire_after_seconds": rule.expire_after_seconds,
            "acknowledged_at": acknowledged_at.isoformat(),
            "acknowledged_by": by.get_username() if by is not None else None,
        },
    )
    return True


def expire_acknowledgements(*, now: datetime | None = None) -> int:
    """Apply every timed rule once; returns how many acknowledgements expired."""
    now = now or timezone.now()
    expired = 0
    for rule in timed_rules():
        for alarm in lapsed_for(rule, now):
            expired += int(expire_acknowledgement(alarm=alarm, rule=rule, now=now))
    if expired:
        logger.info("%d acknowledgements expired", expired)
    return expired
