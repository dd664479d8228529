"""`bootstrap_demo` (run by `make run`) prints URLs on the host and port it is told."""

from __future__ import annotations

import os
import shutil
import subprocess
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _token_file_in_tmp(settings: Any, tmp_path: Path) -> None:
    """The command keeps the demo token under BASE_DIR/var: not in the working tree."""
    settings.BASE_DIR = tmp_path


def bootstrap(*args: str) -> str:
    out = StringIO()
    call_command("bootstrap_demo", *args, "--load-demo", "never", stdout=out)
    return out.getvalue()


def test_first_run_prints_the_login_and_callback_urls_of_the_base_url() -> None:
    output = bootstrap("--base-url", "http://127.0.0.1:8123/")

    assert "Created user 'admin'" in output
    assert "Log in at http://127.0.0.1:8123/admin/ as 'admin'." in output
    assert "Demo callback URL: http://127.0.0.1:8123/api/v1/callbacks/" in output
    assert ":8000" not in output


def test_later_runs_print_the_login_url_of_the_base_url() -> None:
    get_user_model().objects.create_superuser("root", "root@localhost", "x")

    output = bootstrap("--base-url", "http://alarmhub.lan:9000")

    assert "Log in at http://alarmhub.lan:9000/admin/ with your admin account" in output
    assert "Demo callback URL: http://alarmhub.lan:9000/api/v1/callbacks/" in output
    assert "127.0.0.1" not in output


def test_without_a_base_url_the_default_port_is_printed() -> None:
    assert "Log in at http://127.0.0.1:8000/admin/" in bootstrap()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize(
    ("args", "serve", "base_url"),
    [
        ([], "runserver 127.0.0.1:8000", "--base-url http://127.0.0.1:8000"),
        (["PORT=8123"], "runserver 127.0.0.1:8123", "--base-url http://127.0.0.1:8123"),
        (["HOST=0.0.0.0", "PORT=8123"], "runserver 0.0.0.0:8123", "http://127.0.0.1:8123"),
        (["HOST=192.0.2.7"], "runserver 192.0.2.7:8000", "--base-url http://192.0.2.7:8000"),
    ],
)
def test_make_run_passes_host_and_port_to_the_server_and_the_printed_urls(
    args: list[str], serve: str, base_url: str
) -> None:
    # -n prints the recipe without running it; a PORT exported by the shell would win over 8000.
    env = {k: v for k, v in os.environ.items() if k not in ("HOST", "PORT")}
    result = subprocess.run(
        ["make", "-n", "run", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert any(line.endswith(serve) for line in lines), result.stdout
    assert any("bootstrap_demo" in line and base_url in line for line in lines), result.stdout
