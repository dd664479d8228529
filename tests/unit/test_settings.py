"""Settings come from the environment; production mistakes fail loudly at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_DEBUG": "False",
    "DJANGO_SECRET_KEY": "a-long-random-production-secret-" + "x" * 40,
    "DJANGO_ALLOWED_HOSTS": "alarmhub.example.com",
    "DATABASE_URL": "postgres://alarmhub@127.0.0.1:5432/alarmhub",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ALARMHUB_"))}
    clean.pop("DATABASE_URL", None)
    clean.pop("CELERY_BROKER_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_check_passes_with_production_environment() -> None:
    # Static files are collected at deploy time, not in a clone (tests/unit/test_checks.py).
    env = {**PRODUCTION_ENV, "DJANGO_SILENCED_SYSTEM_CHECKS": "alarmhub.E001"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_check_warns_about_embedded_defaults_without_debug() -> None:
    env = {
        k: v for k, v in PRODUCTION_ENV.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")
    }
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    assert "alarmhub.W001" in result.stderr
    assert "alarmhub.W002" in result.stderr


def test_missing_secret_key_without_debug_fails_naming_the_variable() -> None:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_malformed_number_fails_naming_the_variable() -> None:
    result = manage("check", env={"ALARMHUB_MAX_BODY_BYTES": "lots"})
    assert result.returncode != 0
    assert "ALARMHUB_MAX_BODY_BYTES" in result.stderr


def test_malformed_throttle_rate_fails_at_start_up_naming_the_variable() -> None:
    result = manage("check", env={"ALARMHUB_WRITE_THROTTLE_RATE": "600"})
    assert result.returncode != 0
    assert "ALARMHUB_WRITE_THROTTLE_RATE" in result.stderr
    assert manage("check", env={"ALARMHUB_WRITE_THROTTLE_RATE": "30/hour"}).returncode == 0


def test_malformed_database_url_fails_naming_the_variable() -> None:
    result = manage("check", env={"DATABASE_URL": "mysqlish:/nowhere"})
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def test_fresh_clone_defaults_to_sqlite_and_in_process_tasks() -> None:
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.DEBUG)",
        env={},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-3:] == ["django.db.backends.sqlite3", "True", "True"]
