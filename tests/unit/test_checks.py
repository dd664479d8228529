"""alarmhub.E001: DEBUG off with a manifest static storage needs `collectstatic` to have run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from alarms.checks import check_static_manifest

ROOT = Path(__file__).resolve().parents[2]
WHITENOISE = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
PLAIN = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


def test_missing_manifest_without_debug_is_an_error_naming_collectstatic(tmp_path: Path) -> None:
    with override_settings(DEBUG=False, STORAGES=WHITENOISE, STATIC_ROOT=tmp_path):
        errors = check_static_manifest(None)

    assert [error.id for error in errors] == ["alarmhub.E001"]
    assert errors[0].is_serious()
    assert errors[0].hint is not None
    assert "collectstatic" in errors[0].hint
    assert str(tmp_path) in errors[0].msg


def test_collected_static_files_pass_the_check(tmp_path: Path) -> None:
    (tmp_path / "staticfiles.json").write_text('{"paths": {}, "version": "1.1"}')
    with override_settings(DEBUG=False, STORAGES=WHITENOISE, STATIC_ROOT=tmp_path):
        assert check_static_manifest(None) == []


def test_debug_or_a_non_manifest_storage_needs_no_manifest(tmp_path: Path) -> None:
    with override_settings(DEBUG=True, STORAGES=WHITENOISE, STATIC_ROOT=tmp_path):
        assert check_static_manifest(None) == []
    with override_settings(DEBUG=False, STORAGES=PLAIN, STATIC_ROOT=tmp_path):
        assert check_static_manifest(None) == []


def test_unset_static_root_is_reported_too() -> None:
    with override_settings(DEBUG=False, STORAGES=WHITENOISE, STATIC_ROOT=None):
        assert [error.id for error in check_static_manifest(None)] == ["alarmhub.E001"]


def test_collectstatic_is_not_blocked_by_the_check_and_cures_it(tmp_path: Path) -> None:
    # collectstatic runs the "staticfiles"-tagged checks: E001 must not stop the cure.
    manifest = {
        **PLAIN,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    with override_settings(DEBUG=False, STORAGES=manifest, STATIC_ROOT=tmp_path):
        assert check_static_manifest(None)
        call_command("collectstatic", "--noinput", skip_checks=False, verbosity=0)

        assert check_static_manifest(None) == []


def test_manage_py_check_reports_it_without_debug(tmp_path: Path) -> None:
    """End to end: production-like settings, an empty STATIC_ROOT (benchmarks.settings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ALARMHUB_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
            "ALARMHUB_BENCH_STATIC_ROOT": str(tmp_path),
            "DJANGO_DEBUG": "False",
            "DJANGO_SECRET_KEY": "a-long-random-production-secret-" + "x" * 40,
            "DJANGO_ALLOWED_HOSTS": "alarmhub.example.com",
        }
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "alarmhub.E001" in result.stderr
    assert "collectstatic" in result.stderr


@pytest.mark.parametrize(
    ("argv", "blocked"),
    [
        (["manage.py", "check"], True),
        (["manage.py", "runserver"], True),
        (["manage.py", "migrate", "--noinput"], False),
        (["manage.py", "collectstatic", "--noinput"], False),
        (["pytest"], True),
    ],
)
def test_missing_manifest_blocks_only_commands_that_serve_pages(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], blocked: bool
) -> None:
    from alarms import checks

    monkeypatch.setattr(checks.sys, "argv", argv)
    assert checks._running_a_command_that_serves_no_pages() is not blocked
