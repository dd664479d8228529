from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlarmsConfig(AppConfig):
    name = "alarms"
    verbose_name = _("Alarms")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401  (registers system checks)
            tasks,  # noqa: F401  (registers the tasks that are published by name)
        )
        from .services import audit_signals

        audit_signals.connect()  # logins and failed logins go to the audit log
