"""create_callback_endpoint takes the Basic-auth password from a file or a prompt (issue 14.13)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import CommandError, call_command

from alarms.models import CallbackEndpoint

pytestmark = pytest.mark.django_db


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_callback_endpoint", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _password_ok(name: str, password: str) -> bool:
    return check_password(
        password, CallbackEndpoint.objects.get(name=name).basic_auth_password_hash
    )


def test_the_password_is_read_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret from file\n", encoding="utf-8")

    out, err = _run(
        "filed", "--basic-auth-user", "tencent", "--basic-auth-password-file", str(secret)
    )

    assert _password_ok("filed", "s3cret from file")  # the line, without its newline
    assert "s3cret" not in out + err
    assert out.splitlines()[-1].startswith("/api/v1/callbacks/")


def test_an_unreadable_password_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="password file"):
        _run("x", "--basic-auth-user", "u", "--basic-auth-password-file", str(tmp_path / "nope"))
    assert not CallbackEndpoint.objects.exists()


def test_the_password_is_prompted_for_on_a_terminal(monkeypatch: Any) -> None:
    answers = iter(["typed-secret", "typed-secret"])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))

    _run("prompted", "--basic-auth-user", "tencent")

    assert _password_ok("prompted", "typed-secret")


def test_a_mistyped_confirmation_creates_nothing(monkeypatch: Any) -> None:
    answers = iter(["one", "two"])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))

    with pytest.raises(CommandError, match="do not match"):
        _run("mistyped", "--basic-auth-user", "tencent")
    assert not CallbackEndpoint.objects.exists()


def test_without_a_terminal_or_file_a_user_without_password_is_refused(monkeypatch: Any) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)

    with pytest.raises(CommandError, match="password is required"):
        _run("no-password", "--basic-auth-user", "tencent")


def test_the_password_option_still_works_but_warns_about_ps() -> None:
    _out, err = _run("legacy", "--basic-auth-user", "tencent", "--basic-auth-password", "pw-cli")

    assert _password_ok("legacy", "pw-cli")
    assert "ps" in err and "--basic-auth-password-file" in err
