"""Callback tokens never reach a log: Django's loggers, the configured handlers and gunicorn's
access and error logs all keep only the token hint (issue 14, finding 2)."""

from __future__ import annotations

import io
import logging
import runpy
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client, RequestFactory
from gunicorn.config import Config

from alarmhub.logging_config import logging_config
from alarmhub.logredact import RedactCallbackTokens, RedactingFormatter, redact
from alarms.services.endpoints import NewEndpoint
from tests.support.factories import post_callback

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "Zq3vX9kLmN0pQrStUvWxYz_-0123456789abcdefgh"
HINTED = f"/api/v1/callbacks/{TOKEN[:6]}…/"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Not Found: /api/v1/callbacks/{TOKEN}/", f"Not Found: {HINTED}"),
        (
            f'"POST /api/v1/callbacks/{TOKEN}?x=1 HTTP/1.1" 404',
            f'"POST /api/v1/callbacks/{TOKEN[:6]}…?x=1 HTTP/1.1" 404',
        ),
        (f"/api/v1/callbacks%2F{TOKEN}", f"/api/v1/callbacks%2F{TOKEN[:6]}…"),
        (f"path='/api/v1/callbacks/{TOKEN}'", f"path='{HINTED[:-1]}'"),
        ("/api/v1/callbacks/", "/api/v1/callbacks/"),
        ("GET /api/v1/alarms/?q=callbacks", "GET /api/v1/alarms/?q=callbacks"),
    ],
)
def test_redact_keeps_the_hint_and_drops_the_rest(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_filter_rewrites_message_arguments_and_the_request_copy() -> None:
    request = RequestFactory().post(f"/api/v1/callbacks/{TOKEN}/")
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "%s: %s", ("Not Found", request.path), None
    )
    record.__dict__["request"] = request  # what `extra={"request": ...}` does
    mapping = logging.LogRecord("x", logging.INFO, __file__, 1, "%(path)s", None, None)
    mapping.args = {"path": request.path}

    assert RedactCallbackTokens().filter(record) is True
    RedactCallbackTokens().filter(mapping)

    assert record.getMessage() == f"Not Found: {HINTED}"
    assert mapping.getMessage() == HINTED
    logged = record.__dict__["request"]
    assert logged.path == HINTED
    assert TOKEN not in logged.META["PATH_INFO"]
    # The live request still routes: only the logged copy is redacted.
    assert request.path == f"/api/v1/callbacks/{TOKEN}/"


def test_formatter_redacts_exception_text() -> None:
    try:
        raise LookupError(f"no route for /api/v1/callbacks/{TOKEN}/")
    except LookupError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", None, sys.exc_info())

    text = RedactingFormatter("%(message)s").format(record)

    assert TOKEN not in text
    assert f"no route for {HINTED}" in text


@pytest.fixture
def console_output() -> Iterator[io.StringIO]:
    """What the handlers settings.LOGGING installed on the root logger write."""
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    handlers = [h for h in handlers if any(isinstance(f, RedactCallbackTokens) for f in h.filters)]
    assert handlers, "settings.LOGGING must put the redacting filter on the console handler"
    buffer = io.StringIO()
    previous = [h.setStream(buffer) for h in handlers]
    try:
        yield buffer
    finally:
        for handler, stream in zip(handlers, previous, strict=True):
            handler.setStream(stream)


@pytest.mark.django_db
def test_django_request_log_of_an_unknown_token_has_no_token(
    client: Client, caplog: pytest.LogCaptureFixture, console_output: io.StringIO
) -> None:
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = post_callback(client, f"/api/v1/callbacks/{TOKEN}/", b"{}")

    assert response.status_code == 404
    assert f"Not Found: {HINTED}" in caplog.text
    assert TOKEN not in caplog.text
    assert HINTED in console_output.getvalue()
    assert TOKEN not in console_output.getvalue()


@pytest.mark.django_db
def test_django_request_log_of_a_bad_body_on_a_real_token_has_no_token(
    client: Client,
    endpoint: NewEndpoint,
    caplog: pytest.LogCaptureFixture,
    console_output: io.StringIO,
) -> None:
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = post_callback(client, endpoint.path, b"not json")

    assert response.status_code == 400
    assert f"callbacks/{endpoint.token[:6]}…/" in caplog.text
    assert endpoint.token not in caplog.text + console_output.getvalue()


# --- gunicorn (deploy/gunicorn.conf.py) ---------------------------------------------------------


def _gunicorn_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name in ("ALARMHUB_BIND", "PORT", "WEB_CONCURRENCY", "ALARMHUB_WORKER_CLASS"):
        monkeypatch.delenv(name, raising=False)
    # The file may set DATABASE_CONN_MAX_AGE for gevent; keep that out of this process.
    monkeypatch.setenv("DATABASE_CONN_MAX_AGE", "60")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))


def _gunicorn_config(settings: dict[str, Any]) -> Config:
    """A gunicorn Config with every setting of the file applied (and so validated)."""
    config = Config()
    for name, value in settings.items():
        if name in config.settings:
            config.set(name, value)
    return config


def test_gunicorn_config_is_valid_and_binds_loopback_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = _gunicorn_settings(monkeypatch)
    config = _gunicorn_config(settings)

    assert config.bind == ["127.0.0.1:8000"]
    assert config.worker_class_str == "AlarmHubGeventWorker"
    assert config.keepalive == 5  # the gevent worker's deadline for the request head
    assert (config.limit_request_fields, config.limit_request_field_size) == (50, 8190)
    assert "%(U)s" in config.access_log_format and "%(u)s" not in config.access_log_format


def test_gunicorn_config_imports_nothing_the_gevent_worker_must_patch_first() -> None:
    # The file runs in the master, before the worker monkey-patches: Django imported there would
    # keep real thread-locals, and greenlets would share one database connection.
    code = (
        "import runpy, sys\n"
        "runpy.run_path('deploy/gunicorn.conf.py')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules}"
        " & {'django', 'celery', 'alarmhub', 'alarms', 'psycopg'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_gunicorn_config_reads_bind_workers_and_worker_class_from_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = _gunicorn_config(
        _gunicorn_settings(
            monkeypatch, PORT="8123", WEB_CONCURRENCY="3", ALARMHUB_WORKER_CLASS="gthread"
        )
    )
    assert (config.bind, config.workers, config.worker_class_str) == (
        ["127.0.0.1:8123"],
        3,
        "gthread",
    )
    bound = _gunicorn_config(_gunicorn_settings(monkeypatch, ALARMHUB_BIND="0.0.0.0:9000"))
    assert bound.bind == ["0.0.0.0:9000"]


@pytest.mark.parametrize(("name", "value"), [("WEB_CONCURRENCY", "many"), ("PORT", "0")])
def test_gunicorn_config_refuses_bad_numbers(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    with pytest.raises(SystemExit, match=name):
        _gunicorn_settings(monkeypatch, **{name: value})


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_gunicorn_logger_redacts_access_and_error_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _gunicorn_settings(monkeypatch)
    config = _gunicorn_config(settings)
    logger = settings["logger_class"](config)
    access, errors = _Capture(), _Capture()
    logger.access_log.addHandler(access)
    logger.error_log.addHandler(errors)
    path = f"/api/v1/callbacks/{TOKEN}/"
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": path,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_AUTHORIZATION": "Basic dGVuY2VudDpzM2NyZXQ=",  # tencent:s3cret
        "HTTP_USER_AGENT": "Tencent",
    }
    response = SimpleNamespace(status="404 Not Found", sent=42, headers=[])
    request = SimpleNamespace(headers=[("AUTHORIZATION", environ["HTTP_AUTHORIZATION"])])

    logger.access(response, request, environ, timedelta(milliseconds=3))
    logger.error("Error handling request %s", path)

    assert len(access.lines) == 1
    line = access.lines[0]
    assert f'"POST {HINTED} HTTP/1.1" 404 42' in line
    assert TOKEN not in line and "tencent" not in line
    assert errors.lines == [f"Error handling request {HINTED}"]


@pytest.mark.django_db
def test_error_report_email_has_no_token(settings: Any, mailoutbox: list[Any]) -> None:
    settings.ADMINS = [("ops", "ops@example.com")]
    request = RequestFactory().post(f"/api/v1/callbacks/{TOKEN}/", data=b"{}", content_type="x")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("django.request").error(
            "Internal Server Error: %s",
            request.path,
            exc_info=True,
            extra={"status_code": 500, "request": request},
        )

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert HINTED in message.subject
    assert TOKEN not in message.subject + message.body


def test_every_configured_handler_redacts_and_the_root_level_is_the_callers() -> None:
    config = logging_config(level="DEBUG")

    assert config["root"]["level"] == "DEBUG"
    assert all("redact_tokens" in h["filters"] for h in config["handlers"].values())
    assert config["formatters"]["plain"]["()"] == "alarmhub.logredact.RedactingFormatter"
