"""Deliveries: every callback request as received, before and after processing."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..choices import NOTIFICATION_EVENT_TYPES, DeliveryStatus
from .endpoints import CallbackEndpoint


class Delivery(models.Model):
    """One HTTP request as received on a callback URL. Never deleted by processing."""

    # The indexes of this table are paid by every callback: the endpoint has none of its own
    # (delivery_unique_body_per_endpoint starts with it), sessionId one exact-match index
    # (no LIKE pattern index: nothing searches it by prefix), duplicate_of a partial one.
    endpoint = models.ForeignKey(
        CallbackEndpoint,
        on_delete=models.PROTECT,
        related_name="deliveries",
        verbose_name=_("endpoint"),
        db_index=False,
    )
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    remote_addr = models.GenericIPAddressField(_("remote address"), null=True, blank=True)
    content_type = models.CharField(_("Content-Type"), max_length=200, blank=True)
    user_agent = models.CharField(_("User-Agent"), max_length=300, blank=True)
    body = models.BinaryField(_("raw body"), null=True)
    body_sha256 = models.CharField(_("body SHA-256"), max_length=64)
    # Set only on the first delivery of a body; the unique constraint below makes a racing
    # byte-identical re-send fail its INSERT, and the view then records it as a duplicate.
    unique_body_sha256 = models.CharField(max_length=64, null=True, editable=False)  # noqa: DJ001 (NULLs never collide)
    session_id = models.CharField(_("sessionId"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    status_changed_at = models.DateTimeField(_("status changed"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    duplicate_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("duplicate of"),
        db_index=False,
    )
    # The alarms a delivery touched are those whose timeline names it (AlarmEvent.delivery):
    # one body may carry several alarms (an Alertmanager group).

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        permissions = [("reprocess_delivery", _("Can run deliveries through the pipeline again"))]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "unique_body_sha256"], name="delivery_unique_body_per_endpoint"
            ),
        ]
        indexes = [
            # The stranded-delivery sweep: pending/processing rows older than a cutoff.
            models.Index(
                fields=["status_changed_at"],
                name="delivery_stranded_idx",
                condition=Q(status__in=["pending", "processing"]),
            ),
            # Admin changelist: newest first, filtered by status / endpoint.
            models.Index(fields=["-received_at", "-id"], name="delivery_recent_idx"),
            models.Index(fields=["status", "-received_at"], name="delivery_status_idx"),
            # Exact sessionId look-ups (admin search, the API's session_id filter).
            models.Index(fields=["session_id"], name="delivery_session_idx"),
            # The duplicates of a delivery (claims, SET_NULL when one is deleted): few rows.
            models.Index(
                fields=["duplicate_of"],
                name="delivery_duplicate_of_idx",
                condition=Q(duplicate_of__isnull=False),
            ),
            # Retention pruning: old bodies still present.
            models.Index(
                fields=["received_at"], name="delivery_prune_idx", condition=Q(body__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.session_id or '-'} ({self.status})"

    @property
    def alarm_ids(self) -> list[int]:
        """The alarms this delivery was applied to (from their timelines), smallest id first.

        Reads ``notification_events`` when ``selectors.deliveries.with_alarm_ids`` prefetched it.
        """
        events = getattr(self, "notification_events", None)
        if events is None:
            events = self.events.filter(type__in=NOTIFICATION_EVENT_TYPES).only("alarm_id")
        return sorted({event.alarm_id for event in events})

    @property
    def body_text(self) -> str:
        return bytes(self.body or b"").decode("utf-8", errors="replace")
