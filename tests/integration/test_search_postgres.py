"""Free-text search on PostgreSQL answers as on SQLite, and its predicate is one the indexes
serve (issue 16): a rare term is a trigram look-up, rows in the old search-text format are
reached through their partial index; the scale indexes exist and are valid.

The searching runs in a ``manage.py shell`` subprocess on the session's cluster (the in-process
settings point at SQLite) and prints its findings as JSON.
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.support.services import PostgresServer, manage, service_env

SCRIPT = """
import json
from django.db import connection, transaction
from django.db.models import Value
from django.db.models.functions import Concat, Substr
from alarms.services.search_text import SEARCH_TEXT_MARK
from alarms.models import Alarm
from alarms.selectors.alarms import search_alarms
from alarms.services.lifecycle import search_text_of
from tests.support.factories import apply_alarm, make_endpoint

run = RUN
ep = make_endpoint(name=f"search-{run}").endpoint
made = {
    "disk": apply_alarm(ep, region=f"r-{run}", metric_display_name="磁盘使用率"),
    "cdb": apply_alarm(
        ep, region=f"r-{run}", namespace="qce/cdb", policy_id=f"p-{run}", policy_name="数据库告警"
    ),
    "cpu": apply_alarm(
        ep, region=f"r-{run}", metric_display_name="CPU利用率", instance_id=f"ins-{run}"
    ),
}


def found(term):
    rows = search_alarms(Alarm.objects.filter(endpoint=ep), term)
    return sorted(name for name, alarm in made.items() if rows.filter(pk=alarm.pk).exists())


def plan(term):
    sql, params = search_alarms(Alarm.objects.all(), term)[:50].query.sql_with_params()
    with connection.cursor() as cursor:
        # A few rows: walking alarm_recent_idx is cheapest. Without it and without a table scan
        # the planner must combine bitmap index scans, which it can only if every arm of the
        # OR is indexable (else it falls back to the penalised scan anyway).
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("SET enable_indexscan = off")
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql, params)
        text = "\\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
        cursor.execute("RESET enable_indexscan")
    return text


# How often a search with no old-format row left reads the policy table, with the planner's
# statistics taken while every row was old (as right after an upgrade): the old policy
# look-up then starts from the policies, as it did at a million alarms (3,000 scanned).
def policy_reads_without_old_rows(term):
    with transaction.atomic():
        for n in range(30):  # rows enough that the planner starts from the policies
            apply_alarm(ep, region=f"r-{run}", instance_id=f"i-{n}", policy_id=f"p-{run}-{n}")
        Alarm.objects.update(search_text=Substr("search_text", 2))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE alarms_alarm")
        Alarm.objects.update(search_text=Concat(Value(SEARCH_TEXT_MARK), "search_text"))
        reads = (
            "SELECT COALESCE(seq_scan, 0) + COALESCE(idx_scan, 0) FROM pg_stat_xact_user_tables "
            "WHERE relname = 'alarms_policy'"
        )
        with connection.cursor() as cursor:
            # Bitmap scans of the alarm table (they take the old look-ups' result up front, as
            # at a million alarms) and nested loops for the look-ups.
            for setting in ("seqscan", "indexscan", "hashjoin", "mergejoin"):
                cursor.execute(f"SET LOCAL enable_{setting} = off")
            cursor.execute(reads)
            (before,) = cursor.fetchone()
            list(search_alarms(Alarm.objects.all(), term)[:5])
            cursor.execute(reads)
            (after,) = cursor.fetchone()
        transaction.set_rollback(True)
    return after - before


TERMS = ["磁盘", "db", "DB", "数据", f"r-{run}", f"p-{run}", f"ins-{run}", "cpu_usage", "nothing"]
report = {"old": {t: found(t) for t in TERMS}}
for alarm in Alarm.objects.filter(endpoint=ep).select_related("policy", "instance"):
    alarm.search_text = search_text_of(alarm)
    alarm.save(update_fields=["search_text"])
report["full"] = {t: found(t) for t in TERMS}
report["plan_rare"] = plan(f"ins-{run}")
report["plan_short"] = plan("磁盘")
report["policy_reads_without_old_rows"] = policy_reads_without_old_rows(f"ins-{run}")
with connection.cursor() as cursor:
    cursor.execute(
        "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relname IN ('alarm_region_lower_idx', 'alarm_recovered_idx', "
        "'alarm_search_legacy_idx', 'alarms_alarm_search_text_trgm', 'alarm_firing_seen_idx', "
        "'alarm_ns_status_idx', 'alarm_firing_ns_idx', 'alarm_stats_window_idx')"
    )
    report["indexes"] = dict(cursor.fetchall())
print("REPORT " + json.dumps(report))
"""

EXPECTED = {
    "磁盘": ["disk"],
    "db": ["cdb"],
    "DB": ["cdb"],
    "数据": ["cdb"],
    "cpu_usage": ["cdb", "cpu", "disk"],  # the factory's metric name
    "nothing": [],
}


@pytest.fixture(scope="module")
def report(postgres: PostgresServer) -> dict[str, object]:
    run = f"{uuid.uuid4().int % 10**8:08d}"  # digits: no accidental "db" in the terms
    env = service_env(database_url=postgres.url)
    output = manage(env, "shell", "-c", SCRIPT.replace("RUN", repr(run)), timeout=180).stdout
    line = next(line for line in output.splitlines() if line.startswith("REPORT "))
    data: dict[str, object] = json.loads(line.removeprefix("REPORT "))
    data["run"] = run
    return data


@pytest.mark.parametrize("fmt", ["old", "full"])
def test_search_finds_the_same_alarms_in_either_format(report: dict, fmt: str) -> None:
    run = report["run"]
    expected = {
        **EXPECTED,
        f"r-{run}": ["cdb", "cpu", "disk"],  # a term every alarm of the run matches
        f"p-{run}": ["cdb"],
        f"ins-{run}": ["cpu"],
    }
    assert report[fmt] == expected


def test_a_rare_term_is_served_by_the_trigram_index(
    report: dict,
) -> None:
    plan = report["plan_rare"]
    assert "alarms_alarm_search_text_trgm" in plan, plan
    # Old-format rows (other tests' alarms) are read through the partial index, not the table.
    assert "alarm_search_legacy_idx" in plan, plan


def test_once_no_old_format_row_is_left_search_does_not_read_the_policies(
    report: dict,
) -> None:
    assert report["policy_reads_without_old_rows"] == 0


def test_a_two_character_term_runs_without_error(report: dict) -> None:
    assert "Execution Time" in report["plan_short"]


def test_the_scale_indexes_exist_and_are_valid(report: dict) -> None:
    assert report["indexes"] == {
        "alarm_firing_seen_idx": True,
        "alarm_ns_status_idx": True,
        "alarm_region_lower_idx": True,
        "alarm_recovered_idx": True,
        "alarm_search_legacy_idx": True,
        "alarm_stats_window_idx": True,
        "alarms_alarm_search_text_trgm": True,
    }
