"""System checks for AlarmHub's own invariants (ids alarmhub.W001...)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.compatibility, deploy=True)
def check_production_shape(app_configs: Any, **kwargs: Any) -> list[Warning]:
    """Warn when a non-DEBUG deployment still runs on the embedded defaults."""
    if settings.DEBUG:
        return []
    warnings: list[Warning] = []
    if settings.CELERY_TASK_ALWAYS_EAGER:
        warnings.append(
            Warning(
                "Celery tasks run in-process: callbacks are processed inside web requests.",
                hint="Set CELERY_BROKER_URL=redis://... and run a celery worker and beat.",
                id="alarmhub.W001",
            )
        )
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        warnings.append(
            Warning(
                "The database is SQLite.",
                hint="Set DATABASE_URL=postgres://... for production.",
                id="alarmhub.W002",
            )
        )
    return warnings
