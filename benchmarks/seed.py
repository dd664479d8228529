"""Bulk-load realistic alarm history (run in a subprocess with the stack's Django settings).

``python -m benchmarks.seed --start K --count M --base EPOCH --instances I --policies P`` adds
alarms number K..K+M-1 of a deterministic history and prints one JSON line of what it did.

The history: alarms spread over the 90 days before ``--base`` across weighted namespaces,
regions, policies and a fleet of instances (about ten alarms per instance, as recurring problems
give); most are recovered and acknowledged, recent ones are often firing, and a small share of
old ones stayed firing (their recovery never arrived). Each alarm has its timeline: triggered,
up to three repeats, recovered, acknowledged.

Rows go in with PostgreSQL's COPY, column lists and defaults taken from the models, so a new
model field with a default needs no change here (one without a default fails loudly). The
caller runs VACUUM ANALYZE afterwards, as autovacuum would have by the time anyone looks.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import django

from alarms.services.search_text import alarm_search_text

WINDOW_SECONDS = 90 * 86400
# (namespace, weight, metrics, event names) — weights are shares of the fleet.
NAMESPACES: list[tuple[str, int, list[str], list[str]]] = [
    ("qce/cvm", 45, ["cpu_usage", "mem_usage", "disk_usage", "lan_outtraffic"], ["ping_unreach"]),
    ("qce/lb_public", 12, ["client_conn", "unhealth_rs_count"], []),
    ("qce/cdb", 10, ["cpu_use_rate", "slow_queries", "real_capacity"], ["mysql_ha_switch"]),
    ("qce/redis_mem_edition", 8, ["cpu_util", "mem_util", "connections_util"], []),
    ("qce/cmongo", 5, ["cpu_usage", "inserts", "conn_usage"], []),
    ("qce/cbs", 5, ["disk_read_iops", "disk_await"], ["disk_readonly"]),
    ("qce/cos", 5, ["std_storage", "internet_traffic"], []),
    ("qce/vpc_peering", 4, ["outbandwidth", "pkgdrop"], ["peering_down"]),
    ("qce/ckafka", 3, ["instance_disk_usage", "topic_lag"], []),
    ("qce/tke2", 3, ["k8s_pod_restart_total", "k8s_node_cpu_usage"], ["pod_oom"]),
]
REGIONS = [("ap-guangzhou", 35), ("ap-shanghai", 25), ("ap-beijing", 20), ("ap-hongkong", 8)]
REGIONS += [("ap-singapore", 6), ("na-siliconvalley", 3), ("eu-frankfurt", 3)]
LEVELS = ["", "Remind", "Warn", "Serious"]
SEED_ENDPOINTS = ["bench-team-ops", "bench-team-data", "bench-team-web"]
CHUNK = 20_000  # alarms generated and copied per round (bounds memory at any --count)


def _weighted(items: list[tuple[Any, int]]) -> list[Any]:
    return [item for item, weight in items for _ in range(weight)]


NS_BY_WEIGHT = _weighted([(ns, weight) for ns, weight, _, _ in NAMESPACES])
NS_INFO = {ns: (metrics, events) for ns, _, metrics, events in NAMESPACES}
REGION_BY_WEIGHT = _weighted(REGIONS)


def _prime_at_least(n: int) -> int:
    def is_prime(k: int) -> bool:
        return k > 1 and all(k % d for d in range(2, int(k**0.5) + 1))

    while not is_prime(n):
        n += 1
    return n


# Alarm k starts `(A*k + B) mod P` seconds before base: a bijection on 0..P-1, so no two
# alarms ever share a start second and (fingerprint, first_occurred_at) stays unique across
# separate loads, while starts still scatter over the whole window.
P = _prime_at_least(WINDOW_SECONDS)
A, B = 2_654_435, 97


def instance_row(i: int, endpoint_ids: list[int]) -> dict[str, Any]:
    rng = random.Random(i)
    namespace = NS_BY_WEIGHT[rng.randrange(len(NS_BY_WEIGHT))]
    instance_id = f"ins-seed{i:07d}"
    name = f"{namespace.split('/')[-1]}-{i}"
    return {
        "endpoint_id": endpoint_ids[i % len(endpoint_ids)],
        "namespace": namespace,
        "region": REGION_BY_WEIGHT[rng.randrange(len(REGION_BY_WEIGHT))],
        "instance_id": instance_id,
        "name": name,
        "dimensions": {"unInstanceId": instance_id, "objName": name, "objId": f"obj-{i}"},
    }


def policy_namespace(i: int) -> str:
    return NAMESPACES[i % len(NAMESPACES)][0]


def policy_row(i: int, endpoint_ids: list[int]) -> dict[str, Any]:
    kind = policy_namespace(i).split("/")[-1]
    return {
        "endpoint_id": endpoint_ids[i % len(endpoint_ids)],
        "key": f"policy-seed{i:05d}",
        "policy_id": f"policy-seed{i:05d}",
        "name": f"{kind} alarms #{i}",
        "policy_type": f"{kind}_device",
        "type_ename": kind.upper(),
    }


class Copier:
    """COPY dict rows into a model's table; unset columns get the model field's default.

    Ids come from the table's sequence, or with ``with_ids`` from the rows (see reserve_ids).
    """

    def __init__(self, model: Any, now: datetime, *, with_ids: bool = False) -> None:
        from django.db.models import JSONField
        from django.db.models.fields import NOT_PROVIDED
        from psycopg.types.json import Jsonb

        self.model = model
        self.table = model._meta.db_table
        # Columns the database fills itself: the id (unless reserved), db_default fields.
        self.fields = [
            f
            for f in model._meta.concrete_fields
            if (with_ids or not f.primary_key)
            and getattr(f, "db_default", NOT_PROVIDED) is NOT_PROVIDED
        ]
        self.json = {f.attname for f in self.fields if isinstance(f, JSONField)}
        self.jsonb = Jsonb
        self.defaults: dict[str, Any] = {}
        self.required: set[str] = set()
        for f in self.fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                self.defaults[f.attname] = now
            else:
                # Django's own default: the field's default, "" for text, else None.
                self.defaults[f.attname] = f.get_default()
            if not f.null:
                self.required.add(f.attname)

    def reserve_ids(self, count: int) -> int:
        """First of ``count`` consecutive primary keys taken from the table's sequence."""
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                "nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
                [self.table, self.table, count],
            )
            last = int(cursor.fetchone()[0])
        return last - count + 1

    def copy(self, rows: Iterable[dict[str, Any]]) -> int:
        from django.db import connection

        columns = ", ".join(connection.ops.quote_name(f.column) for f in self.fields)
        written = 0
        sql = f"COPY {self.table} ({columns}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(self._values(row))
                written += 1
        return written

    def _values(self, row: dict[str, Any]) -> list[Any]:
        values = []
        for f in self.fields:
            name = f.attname
            value = row[name] if name in row else self.defaults[name]
            if value is None and name in self.required:
                raise SystemExit(f"seed: no value for {self.table}.{name} (NOT NULL, no default)")
            values.append(self.jsonb(value) if name in self.json and value is not None else value)
        return values


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--start", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--base", type=float, required=True, help="epoch seconds of 'now'")
    parser.add_argument("--instances", type=int, required=True, help="fleet size after this load")
    parser.add_argument("--policies", type=int, required=True, help="policies after this load")
    args = parser.parse_args()
    if args.start + args.count > P:
        sys.exit(f"at most {P} seeded alarms fit the {WINDOW_SECONDS} s window")

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from alarms.models import Alarm, AlarmEvent, CallbackEndpoint, Instance, Policy
    from alarms.services.endpoints import create_callback_endpoint

    started = time.monotonic()
    now = datetime.now(UTC)
    for name in SEED_ENDPOINTS:
        if not CallbackEndpoint.objects.filter(name=name).exists():
            create_callback_endpoint(name=name)
    endpoint_ids = list(
        CallbackEndpoint.objects.filter(name__in=SEED_ENDPOINTS)
        .order_by("name")
        .values_list("pk", flat=True)
    )
    user = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
    user_id = user.pk if user else None

    with transaction.atomic():
        # Top up the fleet and the policies (the i-th object is always the same one).
        have = Instance.objects.filter(instance_id__startswith="ins-seed").count()
        Copier(Instance, now).copy(
            instance_row(i, endpoint_ids) for i in range(have, args.instances)
        )
        have = Policy.objects.filter(key__startswith="policy-seed").count()
        Copier(Policy, now).copy(policy_row(i, endpoint_ids) for i in range(have, args.policies))

    fleet = list(
        Instance.objects.filter(instance_id__startswith="ins-seed")
        .order_by("instance_id")
        .values("pk", "endpoint_id", "namespace", "region", "instance_id", "dimensions")
    )
    policies: dict[str, list[int]] = {}
    for pk, key in Policy.objects.filter(key__startswith="policy-seed").values_list("pk", "key"):
        namespace = policy_namespace(int(key.removeprefix("policy-seed")))
        policies.setdefault(namespace, []).append(pk)

    base = datetime.fromtimestamp(args.base, UTC).replace(microsecond=0)
    alarm_copier, event_copier = Copier(Alarm, now, with_ids=True), Copier(AlarmEvent, now)
    rng = random.Random(args.start)
    alarms_made = events_made = 0
    end = args.start + args.count
    for chunk_start in range(args.start, end, CHUNK):
        count = min(CHUNK, end - chunk_start)
        with transaction.atomic():
            first_id = alarm_copier.reserve_ids(count)
            alarms = [
                alarm_row(k, first_id + i, rng, base, fleet, policies, user_id)
                for i, k in enumerate(range(chunk_start, chunk_start + count))
            ]
            alarms_made += alarm_copier.copy(alarms)
            events_made += event_copier.copy(timeline(alarms))

    print(
        json.dumps(
            {
                "alarms": alarms_made,
                "events": events_made,
                "instances": len(fleet),
                "seconds": round(time.monotonic() - started, 2),
            }
        )
    )


def alarm_row(
    k: int,
    pk: int,
    rng: random.Random,
    base: datetime,
    fleet: Sequence[Mapping[str, Any]],
    policies: dict[str, list[int]],
    user_id: int | None,
) -> dict[str, Any]:
    age = (A * k + B) % P
    first = base - timedelta(seconds=age)
    instance = fleet[rng.randrange(len(fleet))]
    namespace = instance["namespace"]
    metrics, event_names = NS_INFO[namespace]
    candidates: Sequence[int | None] = policies.get(namespace) or [None]
    is_event = bool(event_names) and rng.random() < 0.3
    subject = rng.choice(event_names if is_event else metrics)
    level = rng.choice(LEVELS)
    # Recent alarms are often still firing; a few old ones never got their recovery.
    firing = rng.random() < (0.6 if age < 6 * 3600 else 0.005)
    repeats = rng.choice([0, 0, 0, 1, 2, 3, 5, 12])
    duration = rng.randint(60, 4 * 3600)
    recovered_at = None if firing else min(first + timedelta(seconds=duration), base)
    last_notified = recovered_at or first + timedelta(seconds=300 * repeats)
    acked = rng.random() < (0.3 if firing else 0.6)
    identity = f"{instance['endpoint_id']}:{instance['instance_id']}:{subject}:{level}"
    threshold = rng.choice([80, 85, 90, 95])
    display = subject.replace("_", " ").title()
    acknowledged_at = first + timedelta(seconds=rng.randint(30, 900)) if acked else None
    return {
        "id": pk,
        "endpoint_id": instance["endpoint_id"],
        "fingerprint": hashlib.sha256(identity.encode()).hexdigest(),
        "policy_id": candidates[rng.randrange(len(candidates))],
        "instance_id": instance["pk"],
        "kind": "event" if is_event else "metric",
        "status": "firing" if firing else "recovered",
        "level": level,
        "namespace": namespace,
        "region": instance["region"],
        "dimensions": instance["dimensions"],
        "metric_name": "" if is_event else subject,
        "metric_display_name": "" if is_event else display,
        "operator": "" if is_event else ">",
        "threshold": "" if is_event else str(threshold),
        "unit": "" if is_event else "%",
        "period_seconds": None if is_event else 60,
        "current_value": "" if is_event else f"{threshold + rng.random() * 10:.2f}",
        "event_name": subject if is_event else "",
        "event_display_name": display if is_event else "",
        "first_occurred_at": first,
        "recovered_at": recovered_at,
        "last_notified_at": last_notified,
        "duration_seconds": int((last_notified - first).total_seconds()),
        "notification_count": 1 + repeats + (0 if firing else 1),
        "trigger_seen": True,
        "acknowledged_by_id": user_id if acked else None,
        "acknowledged_at": acknowledged_at,
        # Never unacknowledged in this history: the first acknowledgement is the current one.
        "first_acknowledged_at": acknowledged_at,
        # What the lifecycle writes, so the trigram index is as big as in production.
        "search_text": alarm_search_text(
            metric_display_name="" if is_event else display,
            event_display_name=display if is_event else "",
            namespace=namespace,
            region=instance["region"],
            dimensions=instance["dimensions"],
        ),
        "snapshot_rank": f"{0 if firing else 1}:{300 * repeats:016d}:seed-{k}",
        "created_at": first,
        "updated_at": last_notified,
    }


def timeline(alarms: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for alarm in alarms:
        pk, first = alarm["id"], alarm["first_occurred_at"]
        yield {"alarm_id": pk, "type": "triggered", "occurred_at": first, "details": {}}
        recovered = alarm["recovered_at"] is not None
        repeats = alarm["notification_count"] - 1 - int(recovered)
        for i in range(min(repeats, 3)):
            yield {
                "alarm_id": pk,
                "type": "repeated",
                "occurred_at": first + timedelta(seconds=300 * (i + 1)),
                "details": {"value": alarm["current_value"], "duration_seconds": 300 * (i + 1)},
            }
        if recovered:
            yield {"alarm_id": pk, "type": "recovered", "occurred_at": alarm["recovered_at"]}
        if alarm["acknowledged_at"] is not None:
            yield {
                "alarm_id": pk,
                "type": "acknowledged",
                "occurred_at": alarm["acknowledged_at"],
                "actor_id": alarm["acknowledged_by_id"],
            }


if __name__ == "__main__":
    main()
