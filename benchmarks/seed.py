"""Bulk-load realistic alarm history (run in a subprocess with the stack's Django settings).

``python -m benchmarks.seed --start K --count M --base EPOCH --instances I --policies P`` adds
alarms number K..K+M-1 of a deterministic history and prints one JSON line of what it did.
Alarms spread over 90 days before ``--base`` across namespaces, regions, policies and instances
(about ten alarms per instance, as recurring problems give); most are recovered and
acknowledged, recent ones are often firing, and a small share of old ones stayed firing (their
recovery never arrived). Each alarm gets its timeline: triggered, a few repeats, recovered,
acknowledged. Rows go in with ``bulk_create`` (one multi-row INSERT per batch); the caller runs
VACUUM ANALYZE afterwards, as autovacuum would have by then.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import django

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


def instance_fields(i: int) -> dict[str, Any]:
    rng = random.Random(i)
    namespace = NS_BY_WEIGHT[rng.randrange(len(NS_BY_WEIGHT))]
    instance_id = f"ins-seed{i:07d}"
    name = f"{namespace.split('/')[-1]}-{i}"
    return {
        "namespace": namespace,
        "region": REGION_BY_WEIGHT[rng.randrange(len(REGION_BY_WEIGHT))],
        "instance_id": instance_id,
        "name": name,
        "dimensions": {"unInstanceId": instance_id, "objName": name, "objId": f"obj-{i}"},
    }


def policy_fields(i: int) -> dict[str, Any]:
    namespace = NAMESPACES[i % len(NAMESPACES)][0]
    kind = namespace.split("/")[-1]
    return {
        "key": f"policy-seed{i:05d}",
        "policy_id": f"policy-seed{i:05d}",
        "name": f"{kind} alarms #{i}",
        "policy_type": f"{kind}_device",
        "type_ename": kind.upper(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--start", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--base", type=float, required=True, help="epoch seconds of 'now'")
    parser.add_argument("--instances", type=int, required=True, help="fleet size after this load")
    parser.add_argument("--policies", type=int, required=True, help="policies after this load")
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    if args.start + args.count > P:
        sys.exit(f"at most {P} seeded alarms fit the {WINDOW_SECONDS} s window")

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    django.setup()
    from django.contrib.auth import get_user_model

    from alarms.models import Alarm, AlarmEvent, CallbackEndpoint, Instance, Policy
    from alarms.services import create_callback_endpoint

    started = time.monotonic()
    for name in SEED_ENDPOINTS:
        if not CallbackEndpoint.objects.filter(name=name).exists():
            create_callback_endpoint(name=name)
    endpoints = list(CallbackEndpoint.objects.filter(name__in=SEED_ENDPOINTS).order_by("name"))
    user = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()

    # Top up the fleet and the policies (ids are stable: the i-th object is always the same).
    have = Instance.objects.filter(instance_id__startswith="ins-seed").count()
    Instance.objects.bulk_create(
        (
            Instance(endpoint=endpoints[i % len(endpoints)], **instance_fields(i))
            for i in range(have, args.instances)
        ),
        batch_size=args.batch,
    )
    have = Policy.objects.filter(key__startswith="policy-seed").count()
    Policy.objects.bulk_create(
        (
            Policy(endpoint=endpoints[i % len(endpoints)], **policy_fields(i))
            for i in range(have, args.policies)
        ),
        batch_size=args.batch,
    )
    instances = list(
        Instance.objects.filter(instance_id__startswith="ins-seed").order_by("instance_id")
    )
    policies: dict[str, list[Policy]] = {}
    for policy in Policy.objects.filter(key__startswith="policy-seed").order_by("key"):
        namespace = NAMESPACES[int(policy.key.removeprefix("policy-seed")) % len(NAMESPACES)][0]
        policies.setdefault(namespace, []).append(policy)

    base = datetime.fromtimestamp(args.base, UTC).replace(microsecond=0)
    rng = random.Random(args.start)
    alarms_made = events_made = 0
    for chunk_start in range(args.start, args.start + args.count, args.batch):
        chunk_end = min(chunk_start + args.batch, args.start + args.count)
        alarms = [
            _alarm(Alarm, k, rng, base, instances, policies, endpoints, user)
            for k in range(chunk_start, chunk_end)
        ]
        Alarm.objects.bulk_create(alarms, batch_size=args.batch)
        events = [event for alarm in alarms for event in _timeline(AlarmEvent, alarm, rng)]
        AlarmEvent.objects.bulk_create(events, batch_size=args.batch)
        alarms_made += len(alarms)
        events_made += len(events)

    print(
        json.dumps(
            {
                "alarms": alarms_made,
                "events": events_made,
                "instances": len(instances),
                "seconds": round(time.monotonic() - started, 2),
            }
        )
    )


def _alarm(
    model: Any,
    k: int,
    rng: random.Random,
    base: datetime,
    instances: list[Any],
    policies: dict[str, list[Any]],
    endpoints: list[Any],
    user: Any,
) -> Any:
    age = (A * k + B) % P
    first = base - timedelta(seconds=age)
    instance = instances[rng.randrange(len(instances))]
    metrics, event_names = NS_INFO[instance.namespace]
    candidates = policies.get(instance.namespace) or [None]
    policy = candidates[rng.randrange(len(candidates))]
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
    identity = f"{instance.endpoint_id}:{instance.instance_id}:{subject}:{level}"
    threshold = rng.choice([80, 85, 90, 95])
    return model(
        endpoint_id=instance.endpoint_id,
        fingerprint=hashlib.sha256(identity.encode()).hexdigest(),
        policy=policy,
        instance=instance,
        kind="event" if is_event else "metric",
        status="firing" if firing else "recovered",
        level=level,
        namespace=instance.namespace,
        region=instance.region,
        dimensions=instance.dimensions,
        metric_name="" if is_event else subject,
        metric_display_name="" if is_event else subject.replace("_", " ").title(),
        operator="" if is_event else ">",
        threshold="" if is_event else str(threshold),
        unit="" if is_event else "%",
        period_seconds=None if is_event else 60,
        current_value="" if is_event else f"{threshold + rng.random() * 10:.2f}",
        event_name=subject if is_event else "",
        event_display_name=subject.replace("_", " ").title() if is_event else "",
        first_occurred_at=first,
        recovered_at=recovered_at,
        last_notified_at=last_notified,
        duration_seconds=int((last_notified - first).total_seconds()),
        notification_count=1 + repeats + (0 if firing else 1),
        trigger_seen=True,
        acknowledged_by=user if acked else None,
        acknowledged_at=first + timedelta(seconds=rng.randint(30, 900)) if acked else None,
        snapshot_rank=f"{0 if firing else 1}:{300 * repeats:016d}:seed-{k}",
    )


def _timeline(model: Any, alarm: Any, rng: random.Random) -> list[Any]:
    events = [model(alarm=alarm, type="triggered", details={"session_id": f"seed-{alarm.pk}"})]
    for i in range(min(alarm.notification_count - 1, 3)):
        details = {"value": alarm.current_value, "duration_seconds": 300 * (i + 1)}
        events.append(model(alarm=alarm, type="repeated", details=details))
    if alarm.status == "recovered":
        events.append(model(alarm=alarm, type="recovered", details={}))
    if alarm.acknowledged_at is not None:
        events.append(model(alarm=alarm, type="acknowledged", actor=alarm.acknowledged_by))
    return events


if __name__ == "__main__":
    main()
