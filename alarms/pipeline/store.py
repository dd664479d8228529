"""Storing a callback delivery durably: the only write the callback view makes."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from ..choices import DeliveryStatus
from ..models import Delivery


@dataclass(frozen=True)
class StoredDelivery:
    delivery_id: int
    duplicate: bool


def _own_statement_or_savepoint() -> AbstractContextManager[object]:
    """Nothing in autocommit mode, else a savepoint the caller's transaction survives.

    In autocommit mode (the callback view: ATOMIC_REQUESTS is off) the INSERT is its own
    transaction: one round trip, and committed with the WAL flushed to disk when it returns.
    A failed INSERT there rolls back by itself; inside a transaction it needs the savepoint.
    """
    if transaction.get_connection().in_atomic_block:
        return transaction.atomic()
    return contextlib.nullcontext()


def _insert_sql(connection: BaseDatabaseWrapper) -> str:
    table = connection.ops.quote_name(Delivery._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in _COLUMNS)
    placeholders = ", ".join(["%s"] * len(_COLUMNS))
    pk = connection.ops.quote_name(Delivery._meta.pk.column)
    return f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) RETURNING {pk}"  # noqa: S608


_COLUMNS = [field for field in Delivery._meta.concrete_fields if not field.primary_key]


def _create(fields: dict[str, object]) -> int:
    """``Delivery.objects.create(**fields).pk`` as one statement compiled once per vendor.

    The model's own defaults and ``auto_now_add`` values, prepared by the fields themselves,
    as ``save()`` would; what it skips is the ORM building the same SQL on every callback, which
    cost more CPU than the database spent running it (issue 16). Delivery has no save signals.
    """
    connection = transaction.get_connection()
    if not connection.features.can_return_columns_from_insert:
        return Delivery.objects.create(**fields).pk
    row = Delivery(**fields)
    values = [field.get_db_prep_save(field.pre_save(row, True), connection) for field in _COLUMNS]
    sql = _INSERT_SQL.get(connection.vendor) or _INSERT_SQL.setdefault(
        connection.vendor, _insert_sql(connection)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        return int(cursor.fetchone()[0])


_INSERT_SQL: dict[str, str] = {}


def _insert(fields: dict[str, object]) -> int:
    """``_create(fields)``, spending no round trip on a health check.

    CONN_HEALTH_CHECKS sends ``SELECT 1`` before the first query of every request over a reused
    connection: a third of the callback's database round trips. In autocommit mode the INSERT is
    its own check instead: if it finds the connection broken (the database restarted since the
    last request), it is sent once more on a new connection. That cannot store a body twice:
    were the first INSERT committed after all, the unique index makes the second a duplicate
    (and the stranded-delivery sweep queues the first).
    """
    connection = transaction.get_connection()
    unchecked = (  # the health check Django would run now (BaseDatabaseWrapper._cursor)
        connection.connection is not None
        and connection.health_check_enabled
        and not connection.health_check_done
        and not connection.in_atomic_block
    )
    if not unchecked:
        return _create(fields)
    connection.health_check_done = True
    try:
        return _create(fields)
    except (OperationalError, InterfaceError):
        if connection.is_usable():
            raise  # the statement failed, not the connection: nothing to retry
        connection.close()
        return _create(fields)


def store_delivery(
    *,
    endpoint_id: int,
    body: bytes,
    session_id: str,
    remote_addr: str | None,
    content_type: str,
    user_agent: str,
    enqueue: Callable[[int], object] | None = None,
) -> StoredDelivery:
    """Insert a Delivery and hand its id to ``enqueue`` once it is committed.

    A byte-identical body already stored for this endpoint (a Tencent retry) is recorded as
    a duplicate and not queued; the unique index decides, so racing re-sends are safe too.
    Raises DatabaseError when the row cannot be stored.
    """
    digest = hashlib.sha256(body).hexdigest()
    fields = {
        "endpoint_id": endpoint_id,
        "body": body,
        "body_sha256": digest,
        "session_id": session_id[:200],
        "remote_addr": remote_addr,
        "content_type": content_type[:200],
        "user_agent": user_agent[:300],
    }
    try:
        with _own_statement_or_savepoint():
            delivery_id = _insert({"unique_body_sha256": digest, **fields})
    except IntegrityError:
        # Rare (a retry): two statements, each committed on its own outside a transaction.
        original = (
            Delivery.objects.filter(endpoint_id=endpoint_id, unique_body_sha256=digest)
            .values_list("pk", flat=True)
            .first()
        )
        duplicate = Delivery.objects.create(
            status=DeliveryStatus.DUPLICATE, duplicate_of_id=original, **fields
        )
        return StoredDelivery(delivery_id=duplicate.pk, duplicate=True)
    if enqueue is not None:
        # At once in autocommit mode (the row is committed); after the caller's commit otherwise.
        transaction.on_commit(lambda: enqueue(delivery_id))
    return StoredDelivery(delivery_id=delivery_id, duplicate=False)
