"""Query counts and plans of pages (run in a subprocess with the stack's Django settings).

``python -m benchmarks.probe USERNAME TOKEN PAGES_JSON`` requests each page twice through
Django's test client against the benchmark's PostgreSQL (the second, warm request is the one
reported, as a long-running gunicorn worker would serve it), counts its SQL queries, and asks
PostgreSQL to EXPLAIN each SELECT. It prints one JSON line: per page, the query count, the
sequential scans over AlarmHub tables, the statements that COUNT, and the costliest plan.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import django


def _walk(plan: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes += _walk(child)
    return nodes


def main() -> None:
    username, token, pages_json = sys.argv[1:4]
    pages: list[list[str]] = json.loads(pages_json)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    user = get_user_model().objects.get(username=username)
    session_client = Client()
    session_client.force_login(user)
    token_client = Client(HTTP_AUTHORIZATION=f"Token {token}")

    report: dict[str, Any] = {}
    for label, path, auth in pages:
        client = token_client if auth == "token" else session_client
        client.get(path)  # warm: per-process caches, as in a running server
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path)
        seq_scans: set[str] = set()
        max_cost = 0.0
        counting = 0
        for query in ctx.captured_queries:
            sql = query["sql"]
            if "COUNT(" in sql.upper():
                counting += 1
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
                plan = cursor.fetchone()[0]
            root = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
            max_cost = max(max_cost, float(root.get("Total Cost", 0.0)))
            for node in _walk(root):
                relation = node.get("Relation Name", "")
                if node.get("Node Type") == "Seq Scan" and relation.startswith("alarms_"):
                    seq_scans.add(relation)
        report[label] = {
            "status": response.status_code,
            "queries": len(ctx.captured_queries),
            "counts": counting,
            "seq_scans": sorted(seq_scans),
            "max_cost": round(max_cost, 1),
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
