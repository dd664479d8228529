"""Policies and instances: what the alarm sources told us about their world."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .endpoints import CallbackEndpoint


class Policy(models.Model):
    """A Tencent alarm policy, as seen in callbacks."""

    # No index of its own: policy_unique_key starts with endpoint.
    endpoint = models.ForeignKey(
        CallbackEndpoint,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("endpoint"),
        db_index=False,
    )
    # policyId, or "name:<policyName>" for payloads (real events) that carry no id.
    key = models.CharField(max_length=300, editable=False)
    policy_id = models.CharField(_("policy id"), max_length=200, blank=True)
    name = models.CharField(_("name"), max_length=300, blank=True)
    policy_type = models.CharField(_("type"), max_length=100, blank=True)
    type_cname = models.CharField(_("type (Chinese)"), max_length=200, blank=True)
    type_ename = models.CharField(_("type (English)"), max_length=200, blank=True)
    first_seen_at = models.DateTimeField(_("first seen"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("last seen"), auto_now=True)

    class Meta:
        verbose_name = _("policy")
        verbose_name_plural = _("policies")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "key"], name="policy_unique_key")
        ]
        indexes = [models.Index(fields=["policy_id"], name="policy_id_idx")]

    def __str__(self) -> str:
        return self.name or self.policy_id or self.key


class Instance(models.Model):
    """A monitored object (CVM instance, database, load balancer, ...)."""

    # No index of its own: instance_unique_identity starts with endpoint.
    endpoint = models.ForeignKey(
        CallbackEndpoint,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("endpoint"),
        db_index=False,
    )
    namespace = models.CharField(_("namespace"), max_length=100, blank=True)
    region = models.CharField(_("region"), max_length=50, blank=True)
    instance_id = models.CharField(_("instance id"), max_length=300, blank=True)
    name = models.CharField(_("name"), max_length=300, blank=True)
    dimensions = models.JSONField(_("dimensions"), default=dict, blank=True)
    first_seen_at = models.DateTimeField(_("first seen"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("last seen"), auto_now=True)

    class Meta:
        verbose_name = _("instance")
        verbose_name_plural = _("instances")
        ordering = ["instance_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "namespace", "region", "instance_id"],
                name="instance_unique_identity",
            )
        ]
        indexes = [models.Index(fields=["instance_id"], name="instance_id_idx")]

    def __str__(self) -> str:
        if self.name and self.name != self.instance_id:
            return f"{self.instance_id} ({self.name})"
        return self.instance_id or "-"
