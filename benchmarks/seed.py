"""Bulk-load realistic alarm history (run in a subprocess with the stack's Django settings).

``python -m benchmarks.seed --start K --count M --base EPOCH --instances I --policies P`` adds
alarms number K..K+M-1 of a deterministic history and prints one JSON line of what it did.

The history: alarms spread over the 90 days before ``--base`` across weighted namespaces,
regions, policies and a fleet of instances (about ten alarms per instance, as recurring problems
give); most are recovered and acknowledged, recent ones are often firing, and a small share of
old ones stayed firing (their recovery never arrived). Each alarm has its timeline: triggered,
up to three repeats, recovered, acknowledged, and a few carry operators' notes. The load is
skewed as real fleets are: a few noisy instances and each namespace's first policy raise a
large share of the alarms. Display names are Tencent's Chinese ones, and a share of the
policies and instances have Chinese names, so search has Chinese text to find. Rows are
written oldest first. Progress goes to stderr per chunk; ``run`` streams it to the caller.

Rows go in with PostgreSQL's COPY, column lists and defaults taken from the models, so a new
model field with a default needs no change here (one without a default fails loudly); a big
load builds the trigram indexes afterwards (``benchmarks.bulkload``). The caller runs VACUUM
ANALYZE afterwards, as autovacuum would have by the time anyone looks.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import django

from alarms.services.search_text import SearchNames, alarm_search_text

from .bulkload import Copier, Progress, execute, gin_indexes_built_after
from .common import SEEDED_INSTANCE_ID, seeded_instance_id

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
# Tencent's display names (Chinese); subjects not listed get a title-cased English name.
DISPLAY_NAMES = {
    "cpu_usage": "CPU利用率",
    "mem_usage": "内存利用率",
    "disk_usage": "磁盘使用率",
    "lan_outtraffic": "内网出带宽",
    "ping_unreach": "ping不可达",
    "cpu_use_rate": "CPU利用率",
    "slow_queries": "慢查询数",
    "real_capacity": "磁盘使用空间",
    "disk_read_iops": "磁盘读IOPS",
    "disk_await": "磁盘IO等待时间",
    "disk_readonly": "磁盘只读",
    "instance_disk_usage": "实例磁盘使用率",
    "pod_oom": "容器OOM",
}
# Chinese names for every third policy and every fifth instance.
CHINESE_POLICY = "{kind} 告警策略 {i}"
CHINESE_INSTANCES = ["订单服务", "支付网关", "日志磁盘", "用户中心", "推荐引擎"]
# Noisy ones: these fleet positions (all below the smallest fleet of 100, none of them the
# instance the bench searches for) raise 15 % of the alarms; each namespace's first policy
# a third of its namespace's alarms.
NOISY_INSTANCES = [3, 17, 29, 51, 68, 86]
NOISY_INSTANCE_SHARE = 0.15
NOISY_POLICY_SHARE = 0.33
# A load at least this big (and at least the table's size) builds the GIN indexes afterwards.
BIG_LOAD = 100_000
NOTE_SHARE = 0.04  # alarms with operators' notes (one or two)
NOTE_TEXTS = [
    "磁盘清理后恢复，已通知业务方",
    "Known issue, vendor ticket opened",
    "扩容中，预计30分钟内恢复",
    "False alarm during the deploy window",
]


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


def _age(k: int) -> int:
    """Seconds before the base at which alarm number ``k`` starts."""
    return (A * k + B) % P


def _creation_order(row: dict[str, Any]) -> int:
    dimensions: dict[str, Any] = row["dimensions"]
    return int(str(dimensions.get("objId", "obj-0")).removeprefix("obj-"))


def instance_row(i: int, endpoint_ids: list[int]) -> dict[str, Any]:
    rng = random.Random(i)
    namespace = NS_BY_WEIGHT[rng.randrange(len(NS_BY_WEIGHT))]
    instance_id = seeded_instance_id(i)
    kind = namespace.split("/")[-1]
    name = f"{CHINESE_INSTANCES[i // 5 % 5]}-{i}" if i % 5 == 4 else f"{kind}-{i}"
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
        "name": CHINESE_POLICY.format(kind=kind, i=i) if i % 3 == 2 else f"{kind} alarms #{i}",
        "policy_type": f"{kind}_device",
        "type_ename": kind.upper(),
    }


def run(
    env: Mapping[str, str], cwd: str, args: Sequence[str], log: Callable[[str], None]
) -> dict[str, Any]:
    """Run the seed in a subprocess, passing its progress lines to ``log``; its JSON answer.

    Bounded like every step of the benchmark: the caller's per-row allowance, as a timeout.
    """
    count = int(args[list(args).index("--count") + 1])
    deadline = time.monotonic() + 300 + count / 200
    with subprocess.Popen(
        [sys.executable, "-m", "benchmarks.seed", *args],
        cwd=cwd,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    ) as process:
        assert process.stderr is not None and process.stdout is not None
        errors: list[str] = []
        for line in process.stderr:  # ends when the seed exits (or is killed below)
            if line.startswith("seed: "):
                log(f"    {line.removeprefix('seed: ').rstrip()}")
            else:
                errors = [*errors[-40:], line]
            if time.monotonic() > deadline:
                process.kill()
        output = process.stdout.read()
        if process.wait() != 0:
            raise RuntimeError(f"benchmarks.seed exited {process.returncode}:\n{''.join(errors)}")
    return dict(json.loads(output.strip().splitlines()[-1]))


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

    from alarms.models import Alarm, AlarmEvent, CallbackEndpoint, Instance, Note, Policy
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
        seeded = Instance.objects.filter(instance_id__regex=SEEDED_INSTANCE_ID.pattern)
        have = seeded.count()
        Copier(Instance, now).copy(
            instance_row(i, endpoint_ids) for i in range(have, args.instances)
        )
        have = Policy.objects.filter(key__startswith="policy-seed").count()
        Copier(Policy, now).copy(policy_row(i, endpoint_ids) for i in range(have, args.policies))

    fleet = sorted(  # the i-th object first, as created (objId is obj-<i>)
        (
            {**row, "dimensions_json": json.dumps(row["dimensions"])}
            for row in Instance.objects.filter(
                instance_id__regex=SEEDED_INSTANCE_ID.pattern
            ).values(
                "pk", "endpoint_id", "namespace", "region", "instance_id", "name", "dimensions"
            )
        ),
        key=_creation_order,
    )
    policies: dict[str, list[dict[str, Any]]] = {}
    rows = Policy.objects.filter(key__startswith="policy-seed").order_by("key")
    for policy in rows.values("pk", "key", "name", "policy_id"):
        namespace = policy_namespace(int(policy["key"].removeprefix("policy-seed")))
        policies.setdefault(namespace, []).append(dict(policy))

    base = datetime.fromtimestamp(args.base, UTC).replace(microsecond=0)
    alarm_copier, event_copier = Copier(Alarm, now, with_ids=True), Copier(AlarmEvent, now)
    note_copier = Copier(Note, now)
    rng = random.Random(args.start)
    made: dict[str, Any] = {"alarms": 0, "events": 0, "notes": 0}
    progress = Progress(args.count)
    end = args.start + args.count
    # Seeded history needs no durability: a crash only loses the load, which is redone.
    execute("SET synchronous_commit = off")
    big = args.count >= max(BIG_LOAD, Alarm.objects.count())
    # Oldest first, as production writes them: the heap and the ids follow time, so a recent
    # window lies in the table's last pages (random order puts a few of its rows on every page).
    order = sorted(range(args.start, end), key=_age, reverse=True)
    with gin_indexes_built_after(Alarm._meta.db_table, enabled=big):
        for chunk_start in range(0, len(order), CHUNK):
            chunk = order[chunk_start : chunk_start + CHUNK]
            with transaction.atomic():
                first_id = alarm_copier.reserve_ids(len(chunk))
                alarms = [
                    alarm_row(k, first_id + i, rng, base, fleet, policies, user_id)
                    for i, k in enumerate(chunk)
                ]
                made["alarms"] += alarm_copier.copy(alarms)
                notes = [note for alarm in alarms for note in alarm.pop("notes")]
                made["notes"] += note_copier.copy(notes)
                made["events"] += event_copier.copy(timeline(alarms, notes))
            progress.report(made["alarms"], sum(made.values()))

    made.update(instances=len(fleet), seconds=round(time.monotonic() - started, 2))
    print(json.dumps(made))


def _pick_instance(rng: random.Random, fleet: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    if rng.random() < NOISY_INSTANCE_SHARE:
        noisy = [i for i in NOISY_INSTANCES if i < len(fleet)] or [0]
        return fleet[noisy[rng.randrange(len(noisy))]]
    return fleet[rng.randrange(len(fleet))]


def _pick_policy(rng: random.Random, candidates: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    if not candidates:
        return {"pk": None, "name": "", "policy_id": ""}
    if rng.random() < NOISY_POLICY_SHARE:
        return candidates[0]
    return candidates[rng.randrange(len(candidates))]


def alarm_row(
    k: int,
    pk: int,
    rng: random.Random,
    base: datetime,
    fleet: Sequence[Mapping[str, Any]],
    policies: Mapping[str, Sequence[Mapping[str, Any]]],
    user_id: int | None,
) -> dict[str, Any]:
    age = _age(k)
    first = base - timedelta(seconds=age)
    instance = _pick_instance(rng, fleet)
    namespace = instance["namespace"]
    metrics, event_names = NS_INFO[namespace]
    policy = _pick_policy(rng, policies.get(namespace, ()))
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
    display = DISPLAY_NAMES.get(subject) or subject.replace("_", " ").title()
    acknowledged_at = first + timedelta(seconds=rng.randint(30, 900)) if acked else None
    notes = [
        {
            "alarm_id": pk,
            "author_id": user_id,
            "text": rng.choice(NOTE_TEXTS),
            "created_at": first + timedelta(seconds=rng.randint(60, 7200)),
        }
        for _ in range(rng.choice([1, 1, 2]) if rng.random() < NOTE_SHARE else 0)
    ]
    return {
        "id": pk,
        "endpoint_id": instance["endpoint_id"],
        "fingerprint": hashlib.sha256(identity.encode()).hexdigest(),
        "policy_id": policy["pk"],
        "instance_id": instance["pk"],
        "kind": "event" if is_event else "metric",
        "status": "firing" if firing else "recovered",
        "level": level,
        "namespace": namespace,
        "region": instance["region"],
        "dimensions": instance["dimensions_json"],
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
        "note_count": len(notes),
        "notes": notes,  # taken out before the COPY (Copier reads only the model's columns)
        # What the lifecycle writes, so the trigram index is as big as in production.
        "search_text": alarm_search_text(
            metric_display_name="" if is_event else display,
            event_display_name=display if is_event else "",
            namespace=namespace,
            region=instance["region"],
            dimensions=instance["dimensions"],
            names=SearchNames(
                metric_name="" if is_event else subject,
                event_name=subject if is_event else "",
                policy_name=policy["name"],
                policy_id=policy["policy_id"],
                instance_id=instance["instance_id"],
                instance_name=instance["name"],
            ),
        ),
        "snapshot_rank": f"{0 if firing else 1}:{300 * repeats:016d}:seed-{k}",
        "created_at": first,
        "updated_at": last_notified,
    }


EMPTY_DETAILS = "{}"


def timeline(alarms: list[dict[str, Any]], notes: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for alarm in alarms:
        pk, first = alarm["id"], alarm["first_occurred_at"]
        yield {"alarm_id": pk, "type": "triggered", "occurred_at": first, "details": EMPTY_DETAILS}
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
    for note in notes:
        yield {
            "alarm_id": note["alarm_id"],
            "type": "annotated",
            "occurred_at": note["created_at"],
            "actor_id": note["author_id"],
        }


if __name__ == "__main__":
    main()
