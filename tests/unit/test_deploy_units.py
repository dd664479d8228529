"""The shipped production process shape: systemd units and the Procfile (issue 15)."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"

# unit → (the command after the venv's bin/, its arguments that must be there)
EXPECTED = {
    "alarmhub-web.service": ("gunicorn", ["-c", "deploy/gunicorn.conf.py", "alarmhub.wsgi"]),
    "alarmhub-worker.service": ("celery", ["-A", "alarmhub", "worker"]),
    "alarmhub-beat.service": ("celery", ["-A", "alarmhub", "beat"]),
}


def _unit(name: str) -> configparser.ConfigParser:
    # systemd allows repeated keys and `%` specifiers: no strictness, no interpolation.
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string((UNITS / name).read_text())
    return parser


def test_exactly_the_three_process_kinds_are_shipped() -> None:
    assert sorted(p.name for p in UNITS.glob("*.service")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_unit_starts_the_documented_command_from_the_checkout(name: str) -> None:
    service = _unit(name)["Service"]
    command, required = EXPECTED[name]
    argv = shlex.split(service["ExecStart"])
    assert Path(argv[0]).name == command
    assert Path(argv[0]).is_absolute(), "systemd needs an absolute path (the venv's bin/)"
    assert argv[1 : 1 + len(required)] == required, argv
    # gunicorn reads deploy/gunicorn.conf.py relative to it; celery imports alarmhub from it.
    assert Path(service["WorkingDirectory"]).is_absolute()
    assert service["EnvironmentFile"] == "/etc/alarmhub/env"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_unit_restarts_what_dies_and_runs_as_a_non_root_user(name: str) -> None:
    unit = _unit(name)
    service = unit["Service"]
    assert service["Restart"] == "always"
    assert 0 < float(service["RestartSec"]) <= 10
    assert int(service["TimeoutStopSec"]) > 0
    # Without this, five quick crashes (Redis down, say) would stop restarts for good.
    assert unit["Unit"]["StartLimitIntervalSec"] == "0"
    assert service["User"] not in ("", "root", "0")


def test_worker_stop_lets_running_tasks_finish_before_killing_the_pool() -> None:
    from django.conf import settings

    service = _unit("alarmhub-worker.service")["Service"]
    # mixed: SIGTERM (Celery's warm shutdown) to the main process only; SIGKILL to the pool
    # children only once TimeoutStopSec has passed.
    assert service["KillMode"] == "mixed"
    assert int(service["TimeoutStopSec"]) > settings.CELERY_TASK_TIME_LIMIT


def test_web_stop_outlasts_gunicorns_graceful_timeout() -> None:
    config = (ROOT / "deploy" / "gunicorn.conf.py").read_text()
    graceful = next(
        int(line.split("=")[1])
        for line in config.splitlines()
        if line.startswith("graceful_timeout")
    )
    assert int(_unit("alarmhub-web.service")["Service"]["TimeoutStopSec"]) > graceful


def test_procfile_names_the_same_three_commands() -> None:
    entries = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()
    )
    assert sorted(entries) == ["beat", "web", "worker"]
    for kind, unit in (
        ("web", "alarmhub-web.service"),
        ("worker", "alarmhub-worker.service"),
        ("beat", "alarmhub-beat.service"),
    ):
        command, required = EXPECTED[unit]
        argv = shlex.split(entries[kind])
        assert argv[0] == command and argv[1 : 1 + len(required)] == required, (kind, argv)
