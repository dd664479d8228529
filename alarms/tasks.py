"""Celery tasks: thin wrappers that take primary keys and call the domain layer."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from celery.signals import task_postrun, task_prerun
from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections

from . import processing

logger = logging.getLogger(__name__)

TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)


@task_prerun.connect
@task_postrun.connect
def _recycle_stale_db_connections(sender: Any = None, **kwargs: Any) -> None:
    """Drop connections that broke or outlived CONN_MAX_AGE, as Django does per request.

    Workers keep their connection across tasks (CELERY_DB_REUSE_MAX); this arms Django's
    health check so the first query of a task after a database restart reconnects.
    Eager tasks run inside the caller's transaction and are left alone.
    """
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    close_old_connections()


@shared_task(
    bind=True,
    name="alarms.tasks.process_delivery",
    autoretry_for=TRANSIENT_DB_ERRORS,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=8,
)
def process_delivery(self, delivery_id: int) -> str:
    """Claim, parse and apply one delivery. Safe to run twice: the claim makes reruns no-ops."""
    if not processing.claim(delivery_id):
        return "skipped"
    try:
        return processing.process_claimed(delivery_id)
    except TRANSIENT_DB_ERRORS:
        _release_quietly(delivery_id)
        raise  # autoretry with backoff
    except DatabaseError as exc:
        logger.exception("delivery %s failed with a database error", delivery_id)
        _fail_quietly(delivery_id, f"database error: {exc}")
        return "failed"
    except Exception as exc:
        # Never let a payload crash the worker: record it and move on.
        logger.exception("delivery %s failed unexpectedly", delivery_id)
        _fail_quietly(delivery_id, f"internal error: {type(exc).__name__}: {exc}")
        return "failed"


def _release_quietly(delivery_id: int) -> None:
    try:
        processing.release(delivery_id)
    except DatabaseError:
        logger.warning("could not release delivery %s; the sweep will", delivery_id)


def _fail_quietly(delivery_id: int, error: str) -> None:
    from .choices import DeliveryStatus

    try:
        processing.finish(delivery_id, DeliveryStatus.FAILED, error=error)
    except DatabaseError:
        logger.warning("could not mark delivery %s failed; the sweep will retry it", delivery_id)


@shared_task(name="alarms.tasks.requeue_stranded_deliveries")
def requeue_stranded_deliveries() -> int:
    return processing.requeue_stranded().requeued


@shared_task(name="alarms.tasks.prune_old_deliveries")
def prune_old_deliveries() -> int:
    return processing.prune_old_bodies()


@shared_task(name="alarms.tasks.ping_database")
def ping_database(marker: str) -> None:
    """Foundation smoke task: writes a marker row so tests can see a worker ran it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS alarmhub_ping (marker text)")
        cursor.execute("INSERT INTO alarmhub_ping (marker) VALUES (%s)", [marker])
