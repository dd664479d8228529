"""The lifecycle's reads and writes for a batch of notifications: a few statements per batch.

``services.lifecycle`` decides in memory; this module loads what it reads (identity locks, the
alarms of every identity in the batch, policies, instances, deliveries already applied) and
writes what it decided with set-based statements. Unchanged policies and instances cost no
write at all.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, models
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import Max, Q

from ..choices import NOTIFICATION_EVENT_TYPES, AlarmStatus
from ..models import Alarm, AlarmEvent, Instance, Policy

# Advisory-lock namespace of alarm identities ("AHB1"); the key is a crc32 of the fingerprint.
IDENTITY_LOCK_CLASS = 0x41484231

# Lifecycle columns the pipeline writes to an existing alarm. Operator columns (acknowledgement,
# notes, escalation) are never among them: the pipeline cannot overwrite an operator's action.
LIFECYCLE_FIELDS = (
    "status",
    "recovered_at",
    "trigger_seen",
    "superseded",
    "flapping",
    "snapshot_rank",
    "level",
    "dimensions",
    "metric_display_name",
    "operator",
    "threshold",
    "unit",
    "period_seconds",
    "current_value",
    "event_display_name",
    "last_notified_at",
    "duration_seconds",
    "extras",
    "search_text",
    "policy",
    "instance",
    "notification_count",
    "updated_at",
)


def fit(model: type[Any], values: dict[str, Any]) -> dict[str, Any]:
    """Clip strings to their column's max_length: PostgreSQL rejects longer ones outright.

    Tencent sends free text (names, units, values) of unbounded length; a 400-character
    instance name must not cost the whole alarm. The full payload stays in the delivery.
    """
    fitted = dict(values)
    for name, value in values.items():
        limit = getattr(model._meta.get_field(name), "max_length", None)
        if isinstance(value, str) and limit and len(value) > limit:
            fitted[name] = value[:limit]
    return fitted


# The portable ranges (PostgreSQL's), so that SQLite stores what PostgreSQL would.
_INTEGER_RANGES = BaseDatabaseOperations.integer_field_ranges


def fit_row(obj: Any) -> None:
    """``fit`` applied in place to every char column of a model instance; a payload integer
    beyond its (nullable) column is made unknown rather than fail the INSERT."""
    for column in obj._meta.concrete_fields:
        value = getattr(obj, column.attname)
        if isinstance(value, str) and column.max_length and len(value) > column.max_length:
            setattr(obj, column.attname, value[: column.max_length])
        elif type(value) is int and column.null and isinstance(column, models.IntegerField):
            low, high = _INTEGER_RANGES.get(column.get_internal_type(), (None, None))
            if (low is not None and value < low) or (high is not None and value > high):
                setattr(obj, column.attname, None)


def identity_lock_key(fingerprint: str) -> int:
    return zlib.crc32(fingerprint.encode()) - 2**31  # signed 32-bit fits the int4 form


def lock_identities(fingerprints: Iterable[str]) -> None:
    """Serialise all work on these alarm identities until the transaction ends.

    Two workers handling occurrences of one fingerprint must see each other's rows, or an older
    occurrence could stay firing beside a newer one (rule 5). PostgreSQL takes one
    transaction-scoped advisory lock per identity, in ascending key order so that two batches
    never wait on each other in a cycle; SQLite already serialises writers.
    """
    if connection.vendor != "postgresql":
        return
    keys = sorted({identity_lock_key(fp) for fp in fingerprints})
    if not keys:
        return
    with connection.cursor() as cursor:
        # unnest yields the array's order and the locks are taken row by row as it streams.
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(%s, k)) FROM unnest(%s::int[]) AS k",
            [IDENTITY_LOCK_CLASS, keys],
        )


AppliedKey = tuple[int, str, datetime]  # (delivery id, fingerprint, first occurrence)


def applied_notifications(delivery_ids: Sequence[int]) -> dict[AppliedKey, Alarm]:
    """Lifecycles each delivery has already been applied to (a rerun changes nothing)."""
    if not delivery_ids:
        return {}
    events = AlarmEvent.objects.filter(
        delivery_id__in=delivery_ids, type__in=NOTIFICATION_EVENT_TYPES
    ).select_related("alarm")
    return {
        (event.delivery_id, event.alarm.fingerprint, event.alarm.first_occurred_at): event.alarm
        for event in events
        if event.delivery_id is not None
    }


@dataclass
class IdentityWindow:
    """The first occurrences a batch touches for one identity."""

    earliest: datetime
    latest: datetime


def locked_alarms(windows: Mapping[str, IdentityWindow], *, reach: timedelta) -> list[Alarm]:
    """Every alarm the rules can read for these identities, locked for update.

    That is each identity's occurrences within ``reach`` (the flapping window) of the batch's
    first occurrences — which includes the exact lifecycles — plus every still-firing one (rule 5
    may close it).
    """
    if not windows:
        return []
    near = Q()
    for fingerprint, window in windows.items():
        near |= Q(
            fingerprint=fingerprint,
            first_occurred_at__gte=window.earliest - reach,
            first_occurred_at__lte=window.latest + reach,
        )
    firing = Q(fingerprint__in=list(windows), status=AlarmStatus.FIRING)
    query = Alarm.objects.select_for_update(of=("self",)).filter(near | firing)
    return list(query.select_related("policy", "instance").order_by("pk"))


def latest_occurrences(fingerprints: Sequence[str]) -> dict[str, datetime]:
    """Each identity's newest first occurrence on record (rule 5's "a newer one exists")."""
    if not fingerprints:
        return {}
    if connection.vendor == "postgresql":
        # One index probe per identity (alarm_fp_time_idx) instead of a GROUP BY over history.
        table = Alarm._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT fp, (SELECT max(first_occurred_at) FROM {table} WHERE fingerprint = fp) "  # noqa: S608
                "FROM unnest(%s::text[]) AS fp",
                [list(fingerprints)],
            )
            return {fp: latest for fp, latest in cursor.fetchall() if latest is not None}
    rows = (
        Alarm.objects.filter(fingerprint__in=fingerprints)
        .values("fingerprint")
        .annotate(latest=Max("first_occurred_at"))
        .order_by()
    )
    return {row["fingerprint"]: row["latest"] for row in rows}


# --- policies and instances ------------------------------------------------------------------

PolicyKey = tuple[int, str]  # (endpoint id, key)
InstanceKey = tuple[int, str, str, str]  # (endpoint id, namespace, region, instance id)


@dataclass
class CatalogueChanges:
    """What the batch says about policies and instances, merged in application order."""

    policies: dict[PolicyKey, dict[str, Any]] = field(default_factory=dict)
    instances: dict[InstanceKey, dict[str, Any]] = field(default_factory=dict)

    def policy(self, key: PolicyKey, fields: dict[str, Any]) -> None:
        # A later notification's non-empty value wins, as applying them one by one would do.
        merged = self.policies.setdefault(key, dict(fields))
        merged.update({name: value for name, value in fields.items() if value})

    def instance(self, key: InstanceKey, name: str, dimensions: dict[str, Any]) -> None:
        merged = self.instances.setdefault(key, {"name": name, "dimensions": dimensions})
        merged["name"] = name or merged["name"]
        merged["dimensions"] = dimensions


def _by_endpoint(keys: Iterable[tuple[Any, ...]]) -> dict[int, list[tuple[Any, ...]]]:
    grouped: dict[int, list[tuple[Any, ...]]] = {}
    for key in keys:
        grouped.setdefault(key[0], []).append(key)
    return grouped


def _policies_for(keys: Iterable[PolicyKey]) -> dict[PolicyKey, Policy]:
    match = Q()
    for endpoint_id, group in _by_endpoint(keys).items():
        match |= Q(endpoint_id=endpoint_id, key__in=[key for _, key in group])
    if not match:
        return {}
    return {(p.endpoint_id, p.key): p for p in Policy.objects.filter(match)}


def _instances_for(keys: Iterable[InstanceKey]) -> dict[InstanceKey, Instance]:
    # Grouped by (endpoint, namespace, region): each group is one probe of the unique index.
    groups: dict[tuple[int, str, str], list[str]] = {}
    for endpoint_id, namespace, region, instance_id in keys:
        groups.setdefault((endpoint_id, namespace, region), []).append(instance_id)
    match = Q()
    for (endpoint_id, namespace, region), instance_ids in groups.items():
        match |= Q(
            endpoint_id=endpoint_id,
            namespace=namespace,
            region=region,
            instance_id__in=instance_ids,
        )
    if not match:
        return {}
    return {
        (i.endpoint_id, i.namespace, i.region, i.instance_id): i
        for i in Instance.objects.filter(match)
    }


def save_catalogue(
    changes: CatalogueChanges,
) -> tuple[dict[PolicyKey, Policy], dict[InstanceKey, Instance]]:
    """Create missing policies and instances, update changed ones; unchanged rows cost nothing.

    One SELECT per table; an INSERT (conflicts ignored: a concurrent batch may have created the
    row) and a second SELECT only when something is new; an UPDATE per changed row (rare).
    """
    return _save_policies(changes.policies), _save_instances(changes.instances)


def _save_policies(wanted: dict[PolicyKey, dict[str, Any]]) -> dict[PolicyKey, Policy]:
    policies = _policies_for(wanted)
    missing = {key for key in wanted if key not in policies}
    if missing:
        Policy.objects.bulk_create(
            [Policy(endpoint_id=e, key=k, **wanted[(e, k)]) for e, k in sorted(missing)],
            ignore_conflicts=True,
        )
        policies.update(_policies_for(missing))
    # Key order, as the inserts: two batches never wait on each other's rows in a cycle.
    for key, fields in sorted(wanted.items()):
        if key in missing:
            continue
        policy = policies[key]
        changed = {k: v for k, v in fields.items() if v and getattr(policy, k) != v}
        if changed:
            Policy.objects.filter(pk=policy.pk).update(**changed)
            for name, value in changed.items():
                setattr(policy, name, value)
    return policies


def _save_instances(wanted: dict[InstanceKey, dict[str, Any]]) -> dict[InstanceKey, Instance]:
    instances = _instances_for(wanted)
    missing = {key for key in wanted if key not in instances}
    if missing:
        Instance.objects.bulk_create(
            [
                Instance(
                    endpoint_id=endpoint_id,
                    namespace=namespace,
                    region=region,
                    instance_id=instance_id,
                    **wanted[(endpoint_id, namespace, region, instance_id)],
                )
                for endpoint_id, namespace, region, instance_id in sorted(missing)
            ],
            ignore_conflicts=True,
        )
        instances.update(_instances_for(missing))
    for key, fields in sorted(wanted.items()):
        if key in missing:
            continue
        instance = instances[key]
        name = fields["name"] or instance.name
        if name != instance.name or instance.dimensions != fields["dimensions"]:
            Instance.objects.filter(pk=instance.pk).update(
                name=name, dimensions=fields["dimensions"]
            )
            instance.name, instance.dimensions = name, fields["dimensions"]
    return instances


def save_alarms(created: Sequence[Alarm], changed: Sequence[Alarm], *, now: datetime) -> None:
    """Insert the new alarms (their ids come back) and write the lifecycle columns of the rest."""
    if created:
        Alarm.objects.bulk_create(created)
    for alarm in changed:
        alarm.updated_at = now  # auto_now is not applied by these updates
    if not changed:
        return
    if connection.vendor == "postgresql":
        _update_from_values(changed)
    else:
        for alarm in changed:  # SQLite: the embedded mode applies one delivery at a time
            alarm.save(update_fields=LIFECYCLE_FIELDS)


def _update_from_values(alarms: Sequence[Alarm]) -> None:
    """One ``UPDATE ... FROM (VALUES ...)`` for every changed alarm.

    Django's ``bulk_update`` builds a CASE per column and row, which costs more Python than the
    rest of a batch together; this is the same statement shape PostgreSQL plans as a join.
    """
    fields = [Alarm._meta.get_field(name) for name in LIFECYCLE_FIELDS]
    columns = [str(column.column) for column in fields]  # type: ignore[union-attr]
    types = [column.db_type(connection) for column in fields]  # type: ignore[union-attr]
    row = "(%s::bigint, " + ", ".join(f"%s::{db_type}" for db_type in types) + ")"
    params: list[Any] = []
    for alarm in alarms:
        params.append(alarm.pk)
        for column in fields:
            value = getattr(alarm, column.attname)  # type: ignore[union-attr]
            params.append(column.get_db_prep_save(value, connection))  # type: ignore[union-attr]
    quote = connection.ops.quote_name
    table = quote(str(Alarm._meta.db_table))
    assignments = ", ".join(f"{quote(c)} = v.{quote(c)}" for c in columns)
    sql = (
        f"UPDATE {table} AS a SET {assignments} "  # noqa: S608
        f"FROM (VALUES {', '.join([row] * len(alarms))}) "
        f"AS v(id, {', '.join(quote(c) for c in columns)}) WHERE a.id = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def save_events(events: Sequence[AlarmEvent]) -> None:
    if events:
        AlarmEvent.objects.bulk_create(events)
