"""The lifecycle's rules, run against PostgreSQL: the batch path's PostgreSQL-only statements
(advisory locks, the batch claim, ``UPDATE ... FROM (VALUES ...)``, the per-identity newest
occurrence) must give exactly what SQLite gives.

The domain tests that state the pairing rules, order independence and batch equivalence run
here again, in a pytest subprocess whose ``DATABASE_URL`` points at the session's server.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.services import PROJECT_ROOT, PostgresServer

RULE_TESTS = (
    "tests/domain/test_batch_processing.py",
    "tests/domain/test_order_independence.py",
    "tests/domain/test_pairing_rules.py",
    "tests/domain/test_outbox.py",
    "tests/domain/test_silences.py",
    "tests/domain/test_pipeline_leftovers.py",
    "tests/domain/test_coalesced_wakeups.py",
    "tests/domain/test_store_delivery.py",
)


def test_the_lifecycle_rules_hold_on_postgresql(postgres: PostgresServer) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env["DATABASE_URL"] = postgres.url
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *RULE_TESTS, "-q", "-p", "no:cacheprovider"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
