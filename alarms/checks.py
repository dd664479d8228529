"""System checks for AlarmHub's own invariants (ids alarmhub.E001, alarmhub.W001...)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.checks import Error, Tags, Warning, register
from django.utils.module_loading import import_string


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


@register()
def check_requeue_after_time_limit(app_configs: Any, **kwargs: Any) -> list[Warning]:
    """The sweep re-queues deliveries "processing" longer than ALARMHUB_REQUEUE_AFTER_SECONDS:
    at or below the task time limit, a batch that is still running would be processed twice
    over (harmless to the alarms, but a slow storm then does its work twice)."""
    requeue_after, limit = settings.ALARMHUB_REQUEUE_AFTER_SECONDS, settings.CELERY_TASK_TIME_LIMIT
    if requeue_after > limit:
        return []
    return [
        Warning(
            f"ALARMHUB_REQUEUE_AFTER_SECONDS ({requeue_after}) is not above "
            f"CELERY_TASK_TIME_LIMIT ({limit}): the stranded-delivery sweep can re-queue a "
            "batch that is still running.",
            hint=f"Set ALARMHUB_REQUEUE_AFTER_SECONDS above {limit} (default: the limit + 60).",
            id="alarmhub.W003",
        )
    ]


# Commands that serve or check pages; every other command (migrate, collectstatic itself,
# create_callback_endpoint) must keep working before static files are collected.
_COMMANDS_THAT_SERVE_PAGES = frozenset({"check", "runserver"})


def _running_a_command_that_serves_no_pages() -> bool:
    program, *args = sys.argv or [""]
    return (
        Path(program).name == "manage.py"
        and bool(args)
        and (args[0] not in _COMMANDS_THAT_SERVE_PAGES)
    )


@register()
def check_static_manifest(app_configs: Any, **kwargs: Any) -> list[Error]:
    """A manifest storage without its manifest makes every page answer 500: say so up front."""
    if settings.DEBUG or _running_a_command_that_serves_no_pages():
        return []
    backend = settings.STORAGES.get("staticfiles", {}).get("BACKEND", "")
    try:
        storage_class = import_string(backend)
    except ImportError:
        return []  # Django's own storage checks report a bad backend path
    if not (isinstance(storage_class, type) and issubclass(storage_class, ManifestFilesMixin)):
        return []
    options: Any = settings.STORAGES["staticfiles"].get("OPTIONS") or {}
    if not isinstance(options, dict):
        return []
    root = options.get("location") or settings.STATIC_ROOT
    manifest_name = options.get("manifest_name") or storage_class.manifest_name
    if root and (Path(root) / manifest_name).is_file():
        return []
    return [
        Error(
            f"No static files manifest ({manifest_name}) in STATIC_ROOT ({root}): with DEBUG "
            "off every page would answer 500 with 'Missing staticfiles manifest entry'.",
            hint="Run `python manage.py collectstatic --noinput` before starting the web server.",
            id="alarmhub.E001",
        )
    ]
