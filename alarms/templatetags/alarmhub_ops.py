"""The pipeline warning for the admin index and the console header (`{% load alarmhub_ops %}`).

A module of its own so that pages load it without the admin machinery of ``alarms`` tags.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext, ngettext

from alarms.choices import DeliveryStatus
from alarms.selectors.pipeline import stalled_deliveries_count, sweep_is_late

register = template.Library()

VIEW_DELIVERY = "alarms.view_delivery"


def duration_text(seconds: int) -> str:
    """``120`` → "2 min", ``90`` → "90 s": how the warning names the requeue delay."""
    if seconds % 60 == 0:
        return gettext("%(minutes)d min") % {"minutes": seconds // 60}
    return gettext("%(seconds)d s") % {"seconds": seconds}


@register.inclusion_tag("alarms/_pipeline_warning.html", takes_context=True)
def alarmhub_pipeline_warning(context: template.Context) -> dict[str, Any]:
    """Warn signed-in users when callbacks wait past the requeue delay or beat stopped sweeping.

    Two cheap queries (see ``alarms.selectors.pipeline``); nothing is shown when all is well.
    """
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False}
    stalled = stalled_deliveries_count()
    late = sweep_is_late()
    if not stalled and not late:
        return {"show": False}
    messages: list[str] = []
    if stalled:
        messages.append(
            ngettext(
                "%(count)d callback waiting for over %(duration)s — is a worker running?",
                "%(count)d callbacks waiting for over %(duration)s — is a worker running?",
                stalled,
            )
            % {
                "count": stalled,
                "duration": duration_text(settings.ALARMHUB_REQUEUE_AFTER_SECONDS),
            }
        )
    if late:
        messages.append(
            gettext("The stranded-delivery sweep has not run lately — is celery beat running?")
        )
    # Staff who may read deliveries get a link to the waiting ones.
    url = ""
    if stalled and user.is_staff and user.has_perm(VIEW_DELIVERY):
        url = (
            reverse("admin:alarms_delivery_changelist")
            + "?"
            + urlencode({"status__exact": DeliveryStatus.PENDING})
        )
    return {"show": True, "messages": messages, "deliveries_url": url}
