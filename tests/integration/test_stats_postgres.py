"""On PostgreSQL the statistics are one statement (``selectors.stats_postgres``, issue 16) that
answers exactly what the ORM's seven aggregate queries answer, on data built to hit the edges:
more than twenty policies, instances and identities with ties at the twentieth place, alarms
without a policy, a policy that was deleted, flapping flags, acknowledgements, recoveries after
the window, hourly, daily and very wide windows, and filters that join other tables.

The comparison runs in a ``manage.py shell`` subprocess on the session's cluster (the in-process
settings point at SQLite) and prints its findings as JSON.
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.support.services import PostgresServer, manage, service_env

SCRIPT = """
import json
import random
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from alarms.filters.filtersets import AlarmFilterSet
from alarms.models import Alarm, Instance, Policy
from alarms.selectors import stats
from tests.support.factories import make_endpoint

run = RUN
rng = random.Random(16)
now = datetime(2024, 3, 8, 12, tzinfo=UTC)
ep = make_endpoint(name=f"stats-{run}").endpoint
# Policy ids out of creation order, so that a tie broken by policy id is not broken by pk.
policies = Policy.objects.bulk_create(
    Policy(endpoint=ep, key=f"k{run}-{n}", policy_id=f"p{run}-{(n * 7) % 30:02d}", name=f"P {n}")
    for n in range(30)
)
instances = Instance.objects.bulk_create(
    Instance(endpoint=ep, namespace="qce/cvm", instance_id=f"i{run}-{(n * 11) % 40:02d}",
             name=f"host {n}")
    for n in range(40)
)
# Counts per policy and per instance fall by one down the list, with ten tied across the
# twentieth place; the alarms without a policy or an instance fill up the rest.
def spread(items, top):
    chosen = [item for k, item in enumerate(items) for _ in range(25 if 15 <= k < 25 else top - k)]
    chosen += [None] * (1100 - len(chosen))
    rng.shuffle(chosen)
    return chosen


rows = []
for n, (policy, instance) in enumerate(zip(spread(policies, 40), spread(instances, 45))):
    first = now - timedelta(minutes=rng.randrange(0, 60 * 24 * 40))
    recovered = first + timedelta(seconds=rng.randrange(30, 90_000)) if n % 3 else None
    acked = first + timedelta(seconds=rng.randrange(5, 4000)) if n % 4 == 0 else None
    rows.append(Alarm(
        endpoint=ep,
        fingerprint=f"f{run}-{rng.randrange(0, 200):03d}",
        policy=policy,
        instance=instance,
        kind="metric",
        status="recovered" if recovered else "firing",
        namespace=rng.choice(["qce/cvm", "qce/cdb", "qce/lb", ""]),
        region=rng.choice(["ap-guangzhou", "ap-shanghai"]),
        first_occurred_at=first + timedelta(microseconds=n),
        recovered_at=recovered,
        first_acknowledged_at=acked,
        acknowledged_at=acked if n % 8 == 0 else None,
        notification_count=2 + (n < 5),
        flapping=n % 29 == 0,
    ))
Alarm.objects.bulk_create(rows)
Policy.objects.filter(pk=policies[3].pk).delete()  # its alarms keep no policy

CASES = {
    "7d": ({"first_occurred_after": now - timedelta(days=7)}, now),
    "24h": ({"first_occurred_after": now - timedelta(hours=24)}, now),
    "30d cdb recovered": (
        {"first_occurred_after": now - timedelta(days=30), "namespace": "qce/cdb",
         "status": "recovered"}, now),
    "policy filter": ({"first_occurred_after": now - timedelta(days=40),
                       "policy_id": [f"p{run}-01", f"p{run}-02"]}, now),
    "search": ({"first_occurred_after": now - timedelta(days=40), "q": "host"}, now),
    "ten years": ({"first_occurred_after": now - timedelta(days=3650)}, now),
    "empty": ({"first_occurred_after": now + timedelta(days=1)}, now + timedelta(days=2)),
}
report = {}
for name, (data, before) in CASES.items():
    query = QueryDict(mutable=True)
    for key, value in data.items():
        values = value if isinstance(value, list) else [value]
        query.setlist(key, [v.isoformat() if hasattr(v, "isoformat") else v for v in values])
    filterset = AlarmFilterSet(query, queryset=Alarm.objects.filter(endpoint=ep))
    assert filterset.is_valid(), filterset.errors
    window = stats.Window(after=filterset.form.cleaned_data["first_occurred_after"], before=before)
    with CaptureQueriesContext(connection) as queries:
        one = stats.alarm_stats(filterset.qs, window=window)
    orm = stats._orm_stats(filterset.qs, window)
    report[name] = {
        "same": vars(one) == vars(orm),
        "queries": len(queries),
        "alarms": orm.alarms,
        "lists": [len(orm.by_policy), len(orm.noisiest_instances), len(orm.flapping)],
        "diff": {k: [repr(v)[:400], repr(vars(orm)[k])[:400]]
                 for k, v in vars(one).items() if v != vars(orm)[k]},
    }
from django.db.models import Count, Sum

everything = Alarm.objects.filter(endpoint=ep)
by_policy = sorted(everything.values("policy").annotate(n=Count("id")).values_list("n", flat=True))
by_instance = sorted(
    everything.filter(instance__isnull=False).values("instance")
    .annotate(n=Count("id"), s=Sum("notification_count")).values_list("n", "s")
)
# Whether the twentieth place ties with the twenty-first (the tie a joined column breaks).
report["ties"] = [by_policy[-20] == by_policy[-21], by_instance[-20] == by_instance[-21]]
# The statement's means (SUM / COUNT) against AVG itself, unrounded, in groups of every size.
from alarms.selectors.stats_postgres import COLUMNS, MTTA, MTTR

AVG_TTA = ("EXTRACT(EPOCH FROM AVG(first_acknowledged_at - first_occurred_at) "
           "FILTER (WHERE first_acknowledged_at IS NOT NULL))")
AVG_TTR = ("EXTRACT(EPOCH FROM AVG(recovered_at - first_occurred_at) "
           "FILTER (WHERE recovered_at IS NOT NULL))")
report["means"] = {}
with connection.cursor() as cursor:
    for key in ("policy_id", "instance_id", "namespace", "fingerprint", "flapping"):
        cursor.execute(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE a IS NOT DISTINCT FROM b "
            "AND c IS NOT DISTINCT FROM d), "
            f"COUNT(*) FILTER (WHERE a IS NULL) FROM (SELECT {key}, {MTTA} AS a, {AVG_TTA} AS b, "
            f"{MTTR} AS c, {AVG_TTR} AS d FROM alarms_alarm WHERE endpoint_id = %s GROUP BY 1) g",
            [ep.pk],
        )
        report["means"][key] = cursor.fetchone()
    # The statement's larger work_mem is its own: the session's is the same afterwards.
    cursor.execute("SHOW work_mem")
    before = cursor.fetchone()[0]
    week = stats.Window(after=now - timedelta(days=7), before=now)
    stats.alarm_stats(Alarm.objects.filter(endpoint=ep), window=week)
    cursor.execute("SHOW work_mem")
    report["work_mem"] = [before, cursor.fetchone()[0]]
    # The window can be read from alarm_stats_window_idx alone (on a table this small the
    # planner would scan it: rule scans out to see whether the index covers the statement).
    cursor.execute("VACUUM (ANALYZE) alarms_alarm")  # a visibility map, as autovacuum keeps
    cursor.execute("SET enable_seqscan = off")
    cursor.execute("SET enable_bitmapscan = off")
    window = Alarm.objects.filter(first_occurred_at__gte=now - timedelta(days=7))
    sql, params = window.order_by().values(*COLUMNS).query.sql_with_params()
    cursor.execute("EXPLAIN " + sql, params)
    report["window_plan"] = "\\n".join(row[0] for row in cursor.fetchall())
    cursor.execute("RESET ALL")
print("REPORT " + json.dumps(report))
"""


# Report entries that are not cases of CASES.
EXTRAS = ("ties", "means", "work_mem", "window_plan")


@pytest.fixture(scope="module")
def report(postgres: PostgresServer) -> dict[str, dict]:
    run = f"{uuid.uuid4().int % 10**8:08d}"
    env = service_env(database_url=postgres.url)
    output = manage(env, "shell", "-c", SCRIPT.replace("RUN", repr(run)), timeout=180).stdout
    line = next(line for line in output.splitlines() if line.startswith("REPORT "))
    data: dict[str, dict] = json.loads(line.removeprefix("REPORT "))
    return data


def test_the_one_statement_answers_what_the_orm_queries_answer(report: dict[str, dict]) -> None:
    cases = {name: case for name, case in report.items() if name not in EXTRAS}
    assert {name: case["diff"] for name, case in cases.items()} == {n: {} for n in cases}
    assert all(case["same"] for case in cases.values())


def test_the_fixture_reaches_the_edges(report: dict[str, dict]) -> None:
    # Full top-20 lists (so ties at the cut matter) and an empty window.
    assert report["ten years"]["lists"] == [20, 20, 20]
    assert report["empty"]["alarms"] == 0
    assert report["ties"] == [True, True]


def test_the_means_are_avg_to_the_microsecond(report: dict[str, dict]) -> None:
    # Every group (one alarm to hundreds, some without acknowledgement: NULL) agrees exactly.
    means = report["means"]
    assert {key: total == same for key, (total, same, _) in means.items()} == dict.fromkeys(
        means, True
    )
    assert means["fingerprint"][0] > 100 and means["fingerprint"][2] > 0


def test_the_larger_work_mem_ends_with_the_statement(report: dict[str, dict]) -> None:
    assert report["work_mem"][0] == report["work_mem"][1]


def test_statistics_are_one_query_on_postgresql(report: dict[str, dict]) -> None:
    cases = {name: case for name, case in report.items() if name not in EXTRAS}
    assert {name: case["queries"] for name, case in cases.items()} == {n: 1 for n in cases}


def test_the_window_is_an_index_only_scan(report: dict[str, dict]) -> None:
    assert "Index Only Scan using alarm_stats_window_idx" in str(report["window_plan"])


def test_the_window_index_holds_every_column_the_statement_reads() -> None:
    # An index-only scan of the window needs them all (migration 0014); a column added to the
    # statement but not to the index would send every window back to the table's rows.
    from alarms.models import Alarm
    from alarms.selectors.stats_postgres import COLUMNS

    (index,) = [i for i in Alarm._meta.indexes if i.name == "alarm_stats_window_idx"]
    columns = [str(Alarm._meta.get_field(name).column) for name in (*index.fields, *index.include)]
    assert sorted(columns) == sorted(COLUMNS)
