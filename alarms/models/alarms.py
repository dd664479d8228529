"""Alarm lifecycles, their timelines and operator notes (DESIGN §2-§3)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from ..choices import AlarmKind, AlarmStatus, EventType
from ..services.search_text import SEARCH_TEXT_MARK
from .catalogue import Instance, Policy
from .deliveries import Delivery
from .endpoints import CallbackEndpoint
from .stats import SAMPLE_BUCKET

# The columns besides first_occurred_at that the statistics' statement reads
# (selectors.stats_postgres.COLUMNS): the window's and the sample's indexes include them all.
STATS_COLUMNS = [
    "id",
    "namespace",
    "status",
    "policy",
    "instance",
    "fingerprint",
    "flapping",
    "notification_count",
    "recovered_at",
    "acknowledged_at",
    "first_acknowledged_at",
]


class Alarm(models.Model):
    """One alarm lifecycle: a trigger, its repeats and its recovery (DESIGN §3)."""

    endpoint = models.ForeignKey(
        CallbackEndpoint,
        on_delete=models.PROTECT,
        related_name="alarms",
        verbose_name=_("endpoint"),
    )
    fingerprint = models.CharField(_("fingerprint"), max_length=64)
    policy = models.ForeignKey(
        Policy,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alarms",
        verbose_name=_("policy"),
    )
    instance = models.ForeignKey(
        Instance,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alarms",
        verbose_name=_("instance"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=AlarmKind.choices)
    status = models.CharField(_("status"), max_length=10, choices=AlarmStatus.choices)
    level = models.CharField(_("level"), max_length=20, blank=True)
    namespace = models.CharField(_("namespace"), max_length=100, blank=True)
    region = models.CharField(_("region"), max_length=50, blank=True)
    dimensions = models.JSONField(_("dimensions"), default=dict, blank=True)
    metric_name = models.CharField(_("metric"), max_length=200, blank=True)
    metric_display_name = models.CharField(_("metric display name"), max_length=300, blank=True)
    operator = models.CharField(_("operator"), max_length=20, blank=True)
    threshold = models.CharField(_("threshold"), max_length=100, blank=True)
    unit = models.CharField(_("unit"), max_length=50, blank=True)
    period_seconds = models.IntegerField(_("period (s)"), null=True, blank=True)
    current_value = models.CharField(_("current value"), max_length=100, blank=True)
    event_name = models.CharField(_("event"), max_length=200, blank=True)
    event_display_name = models.CharField(_("event display name"), max_length=300, blank=True)
    first_occurred_at = models.DateTimeField(_("first occurred"))
    recovered_at = models.DateTimeField(_("recovered"), null=True, blank=True)
    last_notified_at = models.DateTimeField(_("last notified"), null=True, blank=True)
    duration_seconds = models.BigIntegerField(_("duration (s)"), null=True, blank=True)
    notification_count = models.PositiveIntegerField(_("notifications"), default=0)
    trigger_seen = models.BooleanField(_("trigger seen"), default=False)
    superseded = models.BooleanField(_("superseded"), default=False)
    flapping = models.BooleanField(_("flapping"), default=False)
    # Ordering key of the notification whose snapshot (value, duration) the alarm shows, so
    # that any arrival order ends with the same snapshot (DESIGN §3.4).
    snapshot_rank = models.CharField(max_length=100, blank=True, editable=False)
    extras = models.JSONField(_("other fields"), default=dict, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("acknowledged by"),
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    # Set by the first acknowledgement and kept by unacknowledge: MTTA measures from it.
    first_acknowledged_at = models.DateTimeField(_("first acknowledged at"), null=True, blank=True)
    note_count = models.PositiveIntegerField(_("notes"), default=0)
    # When the escalation message went out (once per alarm and channel policy; None: not yet).
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    # Text that free-text search reads besides the joined names: display names, dimension
    # values (IPs inside objDetail included), namespace, region. Kept by the lifecycle service.
    search_text = models.TextField(_("search text"), blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("alarm")
        verbose_name_plural = _("alarms")
        ordering = ["-first_occurred_at", "-id"]
        permissions = [
            ("acknowledge_alarm", _("Can acknowledge and unacknowledge alarms")),
            ("annotate_alarm", _("Can add notes to alarms")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint", "first_occurred_at"], name="alarm_unique_lifecycle"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["firing", "recovered"]), name="alarm_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(acknowledged_by__isnull=True) | Q(acknowledged_at__isnull=False),
                name="alarm_ack_has_time",
            ),
        ]
        indexes = [
            # Default list order everywhere (API cursor, dashboard, admin).
            models.Index(fields=["-first_occurred_at", "-id"], name="alarm_recent_idx"),
            # Filter by namespace / status / region, newest first.
            models.Index(fields=["namespace", "-first_occurred_at"], name="alarm_ns_idx"),
            models.Index(fields=["status", "-first_occurred_at"], name="alarm_status_idx"),
            models.Index(fields=["region", "-first_occurred_at"], name="alarm_region_idx"),
            # "Firing, not acknowledged" is the operator's inbox; also the board's per-namespace
            # counts of firing and stale alarms, as an index-only scan (hence the push time and
            # the id: selectors.firing_counts_by_namespace).
            models.Index(
                fields=["namespace", "last_notified_at", "id"],
                name="alarm_firing_seen_idx",
                condition=Q(status="firing"),
            ),
            # Namespace and status together (the admin's filters): its capped COUNT and page.
            models.Index(
                fields=["namespace", "status", "-first_occurred_at"], name="alarm_ns_status_idx"
            ),
            models.Index(
                fields=["-first_occurred_at"],
                name="alarm_unacked_idx",
                condition=Q(acknowledged_at__isnull=True),
            ),
            # Supersede / flapping look-ups: other lifecycles of one fingerprint by time.
            models.Index(fields=["fingerprint", "-first_occurred_at"], name="alarm_fp_time_idx"),
            # The region filter compares LOWER(region) (filters.MultiValueCharFilter), which
            # alarm_region_idx cannot serve; that one still serves the admin's DISTINCT region.
            models.Index(
                Lower("region"), F("first_occurred_at").desc(), name="alarm_region_lower_idx"
            ),
            # The board's "recently recovered" rank: recovered_at >= cutoff, a few rows.
            models.Index(
                F("recovered_at").desc(),
                name="alarm_recovered_idx",
                condition=Q(status="recovered"),
            ),
            # The statistics' window (selectors.stats_postgres) as an index-only scan: the
            # time range and every column its statement reads (PostgreSQL; elsewhere the time).
            models.Index(
                fields=["first_occurred_at"],
                name="alarm_stats_window_idx",
                include=STATS_COLUMNS,
            ),
            # The statistics' sample of a long window (selectors.stats_rollup).
            # The same columns as the window's index, so the sample too is an index-only scan.
            models.Index(
                SAMPLE_BUCKET,
                F("first_occurred_at"),
                name="alarm_sample_idx",
                include=STATS_COLUMNS,
            ),
            # Rows in the old search-text format, which search finds through the joined tables
            # (selectors.search_alarms): empty once every row has the full format.
            models.Index(
                fields=["id"],
                name="alarm_search_legacy_idx",
                condition=~Q(search_text__startswith=SEARCH_TEXT_MARK),
            ),
        ]

    def __str__(self) -> str:
        subject = self.metric_name or self.event_name or self.get_kind_display()
        return f"#{self.pk} {subject} ({self.get_status_display()})"

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None


class AlarmEvent(models.Model):
    """One entry of an alarm's timeline."""

    # No index of its own: alarmevent_timeline_idx starts with alarm (issue 16).
    alarm = models.ForeignKey(
        Alarm,
        on_delete=models.CASCADE,
        related_name="events",
        verbose_name=_("alarm"),
        db_index=False,
    )
    type = models.CharField(_("type"), max_length=20, choices=EventType.choices)
    occurred_at = models.DateTimeField(_("time"), auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("actor"),
        help_text=_("Empty for events caused by Tencent or AlarmHub itself."),
    )
    delivery = models.ForeignKey(
        Delivery,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
        verbose_name=_("delivery"),
    )
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("alarm event")
        verbose_name_plural = _("alarm events")
        ordering = ["occurred_at", "id"]
        constraints = [
            # A delivery applied twice (rerun, reprocess) adds nothing the second time.
            models.UniqueConstraint(
                fields=["alarm", "delivery", "type"],
                name="alarmevent_once_per_delivery",
                condition=Q(delivery__isnull=False),
            )
        ]
        indexes = [models.Index(fields=["alarm", "occurred_at"], name="alarmevent_timeline_idx")]

    def __str__(self) -> str:
        return f"{self.get_type_display()} @ {self.occurred_at:%Y-%m-%d %H:%M:%S}"


class Note(models.Model):
    """An operator's annotation on an alarm."""

    # No index of its own: note_alarm_idx starts with alarm.
    alarm = models.ForeignKey(
        Alarm,
        on_delete=models.CASCADE,
        related_name="notes",
        verbose_name=_("alarm"),
        db_index=False,
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("author"),
    )
    text = models.TextField(_("text"), max_length=10000)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["alarm", "created_at"], name="note_alarm_idx")]

    def __str__(self) -> str:
        return self.text[:50]
