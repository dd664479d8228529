"""On PostgreSQL a long window's statistics add up hourly roll-ups and read a sample
(``selectors.stats_rollup``, issue 16): the counts, means, namespaces and buckets are exactly
what reading every alarm gives, at every moment — after a rebuild, right after writes that the
rebuild has not seen yet, and when a write lands while the rebuild runs. With the whole window
as its "sample" the lists and percentiles are exact too; with a real one they are flagged.

Runs in a ``manage.py shell`` subprocess on the session's cluster and prints JSON findings.
The alarms lie in 2019, a stretch no other test writes to.
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

from django.conf import settings
from django.db import connection, connections
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from alarms.filters.filtersets import AlarmFilterSet
from alarms.models import Alarm, Instance, StatsDirtyHour
from alarms.selectors import stats
from alarms.selectors.stats_postgres import COLUMNS
from alarms.selectors.stats_rollup import sampled
from alarms.services.stats_rollup import rebuild_all, rebuild_marked_hours
from tests.support.factories import make_endpoint

run = RUN
rng = random.Random(61)
base = datetime(2019, 6, 1, tzinfo=UTC)
ep = make_endpoint(name=f"rollup-{run}").endpoint
instances = Instance.objects.bulk_create(
    Instance(endpoint=ep, namespace="qce/cvm", instance_id=f"r{run}-{n:02d}", name=f"h{n}")
    for n in range(30)
)
rows = []
for n in range(3000):
    first = base + timedelta(seconds=rng.randrange(0, 20 * 86400))
    recovered = first + timedelta(seconds=rng.randrange(60, 3 * 86400)) if n % 3 else None
    acked = first + timedelta(seconds=rng.randrange(5, 7200)) if n % 4 == 0 else None
    rows.append(Alarm(
        endpoint=ep,
        fingerprint=f"r{run}-{rng.randrange(0, 400):03d}",
        instance=instances[min(int(rng.expovariate(0.25)), 29)],
        kind="metric",
        status="recovered" if recovered else "firing",
        namespace=rng.choice(["qce/cvm", "qce/cvm", "qce/cdb", "qce/lb", ""]),
        region="ap-guangzhou",
        first_occurred_at=first,
        recovered_at=recovered,
        first_acknowledged_at=acked,
        acknowledged_at=acked if n % 8 == 0 else None,
        notification_count=1 + n % 3,
        flapping=n % 50 == 0,
    ))
# Two recoveries of one hour's alarms on either side of a custom end (see the cases).
for minutes in (10, 20 * 60):
    rows.append(Alarm(
        endpoint=ep, fingerprint=f"r{run}-split-{minutes}", kind="metric", status="recovered",
        namespace="qce/lb", first_occurred_at=base + 9 * timedelta(days=1) + timedelta(hours=1),
        recovered_at=base + 10 * timedelta(days=1) + timedelta(minutes=minutes),
    ))
# Means at a rounding edge: a half-microsecond mean (PostgreSQL's interval division rounds it
# to even), and a time to acknowledge of a day and 4 µs among zeros (days divide apart).
edge = base + 22 * timedelta(days=1)
for n, micro in enumerate((500, 501)):
    tta = timedelta(seconds=1, microseconds=micro)
    rows.append(Alarm(endpoint=ep, fingerprint=f"r{run}-half-{n}", kind="metric", status="firing",
                      namespace="qce/cvm", first_occurred_at=edge + timedelta(minutes=n),
                      first_acknowledged_at=edge + timedelta(minutes=n) + tta))
for n in range(7):
    first = edge + timedelta(hours=5, minutes=n)
    tta = timedelta(days=1, microseconds=4) if n == 0 else timedelta(0)
    rows.append(Alarm(endpoint=ep, fingerprint=f"r{run}-days-{n}", kind="metric",
                      status="firing", namespace="qce/cvm", first_occurred_at=first,
                      first_acknowledged_at=first + tta))
Alarm.objects.bulk_create(rows)
hours_with_alarms = len({row.first_occurred_at.replace(minute=0, second=0) for row in rows})
report = {"hours_with_alarms": hours_with_alarms, "marked_by_insert": StatsDirtyHour.objects.filter(
    hour__gte=base, hour__lt=base + timedelta(days=24)).values("hour").distinct().count()}
report["rebuilt"] = rebuild_all()
report["marks_left"] = StatsDirtyHour.objects.filter(hour__lt=base + timedelta(days=30)).count()

day, hour = timedelta(days=1), timedelta(hours=1)
CASES = {
    "7 days, open-ended": {
        "first_occurred_after": base + 5 * day + timedelta(minutes=17, seconds=3)},
    "2 days, hourly": {"first_occurred_after": base + 3 * day + hour / 2,
                       "first_occurred_before": base + 5 * day + timedelta(seconds=1234)},
    "cdb & recovered, 10 days": {"first_occurred_after": base + 2 * day, "namespace": "qce/cdb",
                                 "status": "recovered", "first_occurred_before": base + 12 * day},
    "two namespaces, firing": {"first_occurred_after": base, "namespace": ["qce/lb", ""],
                               "status": "firing", "first_occurred_before": base + 25 * day},
    "whole hours": {"first_occurred_after": base + 4 * day,
                    "first_occurred_before": base + 9 * day},
    "within one hour": {"first_occurred_after": base + 2 * day + timedelta(minutes=10),
                        "first_occurred_before": base + 2 * day + timedelta(minutes=40)},
    "end splits recoveries": {"first_occurred_after": base + 3 * day,
                              "first_occurred_before": base + 10 * day + timedelta(minutes=30)},
    "half-microsecond mean": {"first_occurred_after": base + 22 * day,
                              "first_occurred_before": base + 22 * day + 2 * hour},
    "a day among zeros": {"first_occurred_after": base + 22 * day + 5 * hour,
                          "first_occurred_before": base + 22 * day + 7 * hour},
    "from the calendar's end": {"first_occurred_after": datetime(9999, 12, 31, 23, 30, tzinfo=UTC)},
    "to the calendar's end": {"first_occurred_after": base + 21 * day, "first_occurred_before":
                              datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)},
    "empty": {"first_occurred_after": base - 16000 * day,
              "first_occurred_before": base - 15900 * day},
}


def compare(label):
    found = {}
    for name, data in CASES.items():
        query = QueryDict(mutable=True)
        for key, value in data.items():
            values = value if isinstance(value, list) else [value]
            query.setlist(key, [v.isoformat() if hasattr(v, "isoformat") else v for v in values])
        filterset = AlarmFilterSet(query, queryset=Alarm.objects.all())
        assert filterset.is_valid(), filterset.errors
        cleaned = filterset.form.cleaned_data
        window = stats.Window(after=cleaned["first_occurred_after"],
                              before=cleaned["first_occurred_before"] or base + 30 * day)
        with CaptureQueriesContext(connection) as queries:
            rolled = stats.alarm_stats(filterset.qs, window=window, filters=cleaned)
        exact = stats._postgres_stats(filterset.qs, window)
        mine, theirs = vars(rolled), vars(exact)
        found[name] = {
            "sample": mine.pop("sample"),
            "diff": {k: [repr(v)[:300], repr(theirs[k])[:300]] for k, v in mine.items()
                     if v != theirs[k]},
            "queries": len(queries),
            "alarms": exact.alarms,
        }
    report[label] = found


# The whole window as the sample: every figure must be the exact one.
settings.ALARMHUB_STATS_EXACT_UP_TO = 0
settings.ALARMHUB_STATS_SAMPLE = 10**9
compare("built")

# Writes the roll-ups have not seen: acknowledge, unacknowledge, recover, delete, move an
# alarm to another hour, add one to an old hour; and a repeat, which changes no counted column.
mine = Alarm.objects.filter(endpoint=ep).order_by("id")
marks_before = StatsDirtyHour.objects.count()
repeat = mine[10]
Alarm.objects.filter(pk=repeat.pk).update(notification_count=repeat.notification_count + 5)
report["repeat_marks"] = StatsDirtyHour.objects.count() - marks_before
firing = list(mine.filter(status="firing")[:3])
Alarm.objects.filter(pk=firing[0].pk).update(
    acknowledged_at=firing[0].first_occurred_at + hour,
    first_acknowledged_at=firing[0].first_occurred_at + hour)
Alarm.objects.filter(pk=firing[1].pk).update(
    status="recovered", recovered_at=firing[1].first_occurred_at + 2 * hour)
Alarm.objects.filter(pk=mine.filter(acknowledged_at__isnull=False)[0].pk).update(acknowledged_at=None)
mine.filter(pk=mine[20].pk).delete()
moved = mine[30]
Alarm.objects.filter(pk=moved.pk).update(first_occurred_at=moved.first_occurred_at - 3 * day)
Alarm.objects.create(endpoint=ep, fingerprint=f"r{run}-new", kind="metric", status="firing",
                     namespace="qce/cdb", first_occurred_at=base + 6 * day + timedelta(minutes=5))
report["marked_hours"] = StatsDirtyHour.objects.filter(
    hour__lt=base + timedelta(days=30)).values("hour").distinct().count()
compare("after writes")
rebuild_all()
compare("rebuilt again")

# A write that commits while a rebuild runs: its hour stays marked, and is read from the alarms.
other = connections.create_connection("default")
target = mine.filter(status="firing", acknowledged_at__isnull=True)[5]
Alarm.objects.filter(pk=mine[40].pk).update(acknowledged_at=base)  # something to rebuild
raced_hour = target.first_occurred_at.replace(minute=0, second=0, microsecond=0)
Alarm.objects.filter(pk=target.pk).update(acknowledged_at=target.first_occurred_at + hour)


def write_meanwhile(execute, sql, params, many, context):
    if sql.startswith("DELETE FROM alarms_statsdirtyhour"):
        with other.cursor() as cursor:
            cursor.execute(
                "UPDATE alarms_alarm SET acknowledged_at = first_occurred_at, "
                "first_acknowledged_at = first_occurred_at WHERE id = %s", [target.pk])
    return execute(sql, params, many, context)


with connection.execute_wrapper(write_meanwhile):
    rebuild_marked_hours()
other.close()
report["raced_hour_marked"] = StatsDirtyHour.objects.filter(hour=raced_hour).exists()
compare("raced")

# Another run holding the lock: beat's run gives up, rebuild_stats (rebuild_all) waits for it.
import threading
from alarms.services.stats_rollup import LOCK_KEY

holder = connections.create_connection("default")
holder.inc_thread_sharing()
with holder.cursor() as cursor:
    cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
Alarm.objects.filter(pk=mine[50].pk).update(acknowledged_at=base)


def let_go():
    with holder.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


report["busy_run"] = rebuild_marked_hours()
threading.Timer(1.0, let_go).start()
report["waiting_run"] = rebuild_all()
holder.close()

# A real sample: about ALARMHUB_STATS_SAMPLE alarms, read by the sample index.
settings.ALARMHUB_STATS_SAMPLE = 500
compare("sampled")
week = Alarm.objects.filter(first_occurred_at__gte=base, first_occurred_at__lt=base + 7 * day)
with connection.cursor() as cursor:
    cursor.execute("VACUUM (ANALYZE) alarms_alarm")
    cursor.execute("SET enable_seqscan = off")
    cursor.execute("SET enable_bitmapscan = off")
    # A sample of a hundredth, as of a window fifty times this one; read as the statement does.
    sample = sampled(week, 100 * week.count()).order_by().values(*COLUMNS)
    sql, params = sample.query.sql_with_params()
    cursor.execute("EXPLAIN " + sql, params)
    report["sample_plan"] = "\\n".join(row[0] for row in cursor.fetchall())
    cursor.execute("RESET ALL")
print("REPORT " + json.dumps(report, default=str))
"""

ROUNDS = ("built", "after writes", "rebuilt again", "raced")


@pytest.fixture(scope="module")
def report(postgres: PostgresServer) -> dict:
    run = f"{uuid.uuid4().int % 10**8:08d}"
    env = service_env(database_url=postgres.url)
    output = manage(env, "shell", "-c", SCRIPT.replace("RUN", repr(run)), timeout=240).stdout
    line = next(line for line in output.splitlines() if line.startswith("REPORT "))
    data: dict = json.loads(line.removeprefix("REPORT "))
    return data


def test_every_write_marks_its_hour_and_a_rebuild_clears_the_marks(report: dict) -> None:
    assert report["marked_by_insert"] == report["hours_with_alarms"] > 400
    assert report["rebuilt"] >= report["hours_with_alarms"]
    assert report["marks_left"] == 0
    # Acknowledge, unacknowledge, recover, delete, a move (old and new hour) and an insert.
    assert 5 <= report["marked_hours"] <= 7


def test_a_repeat_marks_nothing(report: dict) -> None:
    assert report["repeat_marks"] == 0


@pytest.mark.parametrize("round_", ROUNDS)
def test_with_the_whole_window_sampled_every_figure_is_the_exact_one(
    report: dict, round_: str
) -> None:
    cases = report[round_]
    assert {name: case["diff"] for name, case in cases.items()} == {name: {} for name in cases}
    assert cases["7 days, open-ended"]["alarms"] > 900
    assert cases["cdb & recovered, 10 days"]["alarms"] > 100
    assert cases["half-microsecond mean"]["alarms"] == 2


@pytest.mark.parametrize("round_", ROUNDS)
def test_a_long_window_reads_the_roll_ups_in_two_queries(report: dict, round_: str) -> None:
    cases = report[round_]
    # One query where the window reaches the calendar's end: no hour arithmetic, read exactly.
    ends = {"from the calendar's end", "to the calendar's end"}
    assert {name: case["queries"] for name, case in cases.items()} == {
        name: 1 if name in ends else 2 for name in cases
    }
    # The roll-ups answered, except where the end splits an hour's recoveries or the window
    # reaches the calendar's end: read exactly (as an empty window is: no more alarms than
    # ALARMHUB_STATS_EXACT_UP_TO, here 0).
    exact = {"end splits recoveries", "empty", *ends}
    sampled = {name for name, case in cases.items() if case["sample"]}
    assert sampled == set(cases) - exact
    assert cases["empty"]["alarms"] == 0


def test_a_rebuild_while_another_runs_skips_or_waits(report: dict) -> None:
    assert report["busy_run"] == 0  # beat's task: the next run will do it
    assert report["waiting_run"] >= 1  # manage.py rebuild_stats: once the other run is done


def test_a_write_during_a_rebuild_keeps_its_hour_marked(report: dict) -> None:
    assert report["raced_hour_marked"] is True


def test_a_real_sample_is_flagged_and_about_the_asked_size(report: dict) -> None:
    for name, case in report["sampled"].items():
        if case["sample"] is None:
            continue
        assert case["sample"]["of"] == case["alarms"], name
        expected = min(500, case["alarms"])
        assert 0.7 * expected <= case["sample"]["alarms"] <= 1.3 * expected + 5, name
        # The exact parts still agree; the estimated ones may not.
        estimated = {"by_policy", "noisiest_instances", "flapping"}
        estimated |= {"mtta_percentiles", "mttr_percentiles"}
        assert set(case["diff"]) <= estimated, name


def test_the_sample_is_read_by_its_own_index(report: dict) -> None:
    assert "Index Only Scan using alarm_sample_idx" in report["sample_plan"]
