"""Query counts and plans, measured in-process (run in a subprocess with the stack's settings).

Two modes, each printing one JSON line:

``python -m benchmarks.probe pages USERNAME TOKEN PAGES_JSON``
    Requests each page twice through Django's test client against the benchmark's PostgreSQL
    (the second, warm request is reported, as a long-running gunicorn worker would serve it),
    counts its SQL queries, and EXPLAIN ANALYZEs each SELECT: per page, the query count, the
    AlarmHub tables read by a sequential scan (with their sizes), the kind of each COUNT
    statement (capped by a LIMIT, grouped, or full), the costliest plan, the statements' total
    execution time and the slowest one's scans (index, rows).

``python -m benchmarks.probe pipeline CALLBACK_PATH TEMPLATE_FILE``
    Queries (and commits) of one callback POST, of processing a trigger (a new alarm) and of
    processing a repeat (an existing alarm). Enqueueing is switched off in this process so the
    running Celery worker does not race it for the two deliveries.
"""

from __future__ import annotations

import json
import os
import re
import sys
import uuid
from pathlib import Path
from typing import Any

import django


def _walk(plan: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes += _walk(child)
    return nodes


def _scans(plan: dict[str, Any]) -> list[str]:
    """How a plan reads the alarm tables: "Index Scan alarm_recent_idx (51 rows)", ...

    Only nodes that ran (a lazily evaluated InitPlan that never ran is left out)."""
    scans = []
    for node in _walk(plan):
        kind = node.get("Node Type", "")
        if "Scan" not in kind or not node.get("Actual Loops"):
            continue
        target = node.get("Index Name") or node.get("Relation Name", "")
        if target.startswith("alarm"):
            rows = int(node.get("Actual Rows", 0)) * int(node.get("Actual Loops", 1))
            scans.append(f"{kind} {target} ({rows:,} rows)")
    return scans


def _count_kind(sql: str) -> str:
    """What a COUNT statement costs: bounded by a LIMIT, one row per group, or the whole set."""
    if re.search(r"LIMIT \d+\)", sql):
        return "capped"
    if "GROUP BY" in sql.upper():
        return "grouped"
    return "full"


def _table_rows(tables: list[str]) -> dict[str, int]:
    """The planner's row estimate of each table (pg_class.reltuples, fresh after ANALYZE)."""
    from django.db import connection

    if not tables:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples::bigint FROM pg_class WHERE relname = ANY(%s)", [tables]
        )
        return {name: int(rows) for name, rows in cursor.fetchall()}


def pages(username: str, token: str, pages_json: str) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    user = get_user_model().objects.get(username=username)
    session_client = Client()
    session_client.force_login(user)
    token_client = Client(HTTP_AUTHORIZATION=f"Token {token}")

    report: dict[str, Any] = {}
    for key, path, auth in json.loads(pages_json):
        client = token_client if auth == "token" else session_client
        client.get(path)  # warm: per-process caches, as in a running server
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path)
        seq_scans: set[str] = set()
        max_cost = 0.0
        counts: list[str] = []
        slowest: dict[str, Any] = {"ms": 0.0, "scans": []}
        database_ms = 0.0
        for query in ctx.captured_queries:
            sql = query["sql"]
            if "COUNT(" in sql.upper():
                counts.append(_count_kind(sql))
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            # ANALYZE runs the statement once more (warm, as the page's second request was).
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
                plan = cursor.fetchone()[0]
            top = (json.loads(plan) if isinstance(plan, str) else plan)[0]
            root = top["Plan"]
            max_cost = max(max_cost, float(root.get("Total Cost", 0.0)))
            elapsed = float(top.get("Execution Time", 0.0))
            database_ms += elapsed
            if elapsed > slowest["ms"]:
                slowest = {"ms": round(elapsed, 2), "scans": _scans(root)}
            for node in _walk(root):
                relation = node.get("Relation Name", "")
                # Only scans that ran: an InitPlan the executor never needed is no cost.
                ran = node.get("Actual Loops", 0) > 0
                if node.get("Node Type") == "Seq Scan" and relation.startswith("alarms_") and ran:
                    seq_scans.add(relation)
        report[key] = {
            "status": response.status_code,
            "queries": len(ctx.captured_queries),
            "counts": counts,
            "seq_scans": _table_rows(sorted(seq_scans)),
            "max_cost": round(max_cost, 1),
            "database_ms": round(database_ms, 2),
            "slowest": slowest,
        }
    return report


def pipeline(callback_path: str, template_file: str) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from alarms import tasks
    from alarms.models import Delivery
    from alarms.tasks import process_delivery

    # Store without queueing: the probe runs each delivery itself, under its query counter.
    tasks.enqueue_delivery = lambda delivery_id: True
    template = Path(template_file).read_text()
    run = uuid.uuid4().hex[:8]

    def post(instance: str, n: int) -> str:
        """POST one callback for ``instance``; returns its sessionId."""
        values = {
            "@SESSION@": f"probe-{run}-{instance}-{n}",
            "@INSTANCE@": f"ins-probe-{run}-{instance}",
            "@VALUE@": f"{95 + n}.5",
            "@DURATION@": str(60 * n),
        }
        text = template
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        Client().post(callback_path, text.encode(), content_type="application/json")
        return values["@SESSION@"]

    def delivery(session_id: str) -> int:
        # The template prefixes every sessionId with the run's salt.
        rows = Delivery.objects.filter(session_id__endswith=session_id)
        return rows.values_list("pk", flat=True)[0]

    def measured(action: Any) -> dict[str, int]:
        with CaptureQueriesContext(connection) as ctx:
            action()
        in_transaction, commits, statements = False, 0, 0
        for query in ctx.captured_queries:
            sql = query["sql"].lstrip().upper()
            if sql.startswith("BEGIN"):
                in_transaction = True
            elif sql.startswith(("COMMIT", "ROLLBACK")):
                in_transaction = False
                commits += sql.startswith("COMMIT")
            elif not sql.startswith(("SAVEPOINT", "RELEASE")):
                statements += 1
                # A write outside BEGIN ... COMMIT is its own (autocommit) transaction.
                commits += not in_transaction and sql.startswith(("INSERT", "UPDATE", "DELETE"))
        return {
            "statements": statements,
            "round_trips": len(ctx.captured_queries),
            "commits": commits,
        }

    process_delivery(delivery("-" + post("warm", 0)))  # warm both paths (imports, caches)
    report: dict[str, Any] = {"callback": measured(lambda: post("a", 1))}
    trigger = delivery(f"-probe-{run}-a-1")
    report["trigger"] = measured(lambda: process_delivery(trigger))
    repeat = delivery("-" + post("a", 2))
    report["repeat"] = measured(lambda: process_delivery(repeat))
    return report


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    django.setup()
    mode, *args = sys.argv[1:]
    result = pages(*args) if mode == "pages" else pipeline(*args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
