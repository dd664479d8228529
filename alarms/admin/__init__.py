"""The Django admin as AlarmHub's ops console (issue 5): one module per concern.

Everything here is presentation and permission checks: every change to an alarm or an endpoint
goes through ``alarms.services``, and re-processing through ``alarms.tasks``. Importing the
modules registers their ModelAdmins (``admin.autodiscover`` imports this package).

- ``scale``: the capped paginator and the mixins every large or read-only changelist uses
- ``display``: presentation helpers for columns and read-only fields
- ``filters``: the alarm list's filters, in the API's FilterSet vocabulary
- ``alarms`` and ``operations``: AlarmAdmin, its page, and the operator's URLs and actions
- ``deliveries``, ``endpoints``, ``catalogue``: the other models
- ``audit``: the audit log, read-only for everyone
- ``tokens``: API tokens, listed by prefix and revoked (DRF's plain-text token admin is removed)
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from . import (
    ack_expiry,
    alarms,
    audit,
    catalogue,
    deliveries,
    endpoints,
    notify,
    silences,
    tokens,
)

__all__ = [
    "ack_expiry",
    "alarms",
    "audit",
    "catalogue",
    "deliveries",
    "endpoints",
    "notify",
    "silences",
    "tokens",
]

admin.site.site_header = _("AlarmHub")
admin.site.site_title = _("AlarmHub")
admin.site.index_title = _("Operations console")
# The header links to the dashboard by name instead (templates/admin/base_site.html).
admin.site.site_url = None
