"""gunicorn settings for AlarmHub's web process (DESIGN §6 "Operations", SECURITY.md).

    gunicorn -c deploy/gunicorn.conf.py alarmhub.wsgi

Options given on the command line (``--bind``, ``--workers``...) override this file.
Environment: ``ALARMHUB_BIND`` (else ``127.0.0.1:$PORT``, PORT default 8000),
``WEB_CONCURRENCY`` (worker processes), ``ALARMHUB_WORKER_CLASS`` (``gevent``, the default;
``gthread`` or ``sync`` only behind a buffering reverse proxy), ``ALARMHUB_WORKER_CONNECTIONS``,
``ALARMHUB_CLIENT_TIMEOUT`` and ``ALARMHUB_HEADER_TIMEOUT`` (seconds).

Why gevent: the callback URL is public, and a sync or threaded worker gives each client a whole
process or thread while it sends its request, so a handful of clients trickling bytes starve the
real callbacks (issue 14, finding 1). A gevent worker holds a slow client in a greenlet. psycopg 3
cooperates with gevent once the worker has monkey-patched (it detects the patch and avoids its
C wait loop); Celery workers are started separately and are not affected.

Nothing here may import Django, Celery or the ``alarmhub`` package: this file runs in the
master before the gevent worker patches the standard library, and a module imported that early
keeps real thread-locals (Django's database connections would be shared between greenlets).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType
from typing import Any

from gunicorn.glogging import Logger


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise SystemExit(f"{name} must be at least 1, not {value}")
    return value


def _load_logredact() -> ModuleType:
    # By file path: importing `alarmhub.logredact` would run alarmhub/__init__.py (Celery, Django).
    path = Path(__file__).resolve().parent.parent / "alarmhub" / "logredact.py"
    spec = importlib.util.spec_from_file_location("_alarmhub_logredact", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_logredact = _load_logredact()

# --- where and how many ------------------------------------------------------------------------

bind = [os.environ.get("ALARMHUB_BIND") or f"127.0.0.1:{_env_int('PORT', 8000)}"]
workers = _env_int("WEB_CONCURRENCY", max(2, os.cpu_count() or 1))

WORKER_CLASSES = ("gevent", "gthread", "sync")
_worker = os.environ.get("ALARMHUB_WORKER_CLASS", "gevent").strip() or "gevent"
if _worker not in WORKER_CLASSES:
    raise SystemExit(f"ALARMHUB_WORKER_CLASS must be one of {', '.join(WORKER_CLASSES)}")

# Concurrent connections per gevent worker. Each one in the app may hold a database connection:
# keep workers x this below PostgreSQL's max_connections minus the Celery workers' share.
worker_connections = _env_int("ALARMHUB_WORKER_CONNECTIONS", 200)
threads = 8 if _worker == "gthread" else 1

# --- timeouts ------------------------------------------------------------------------------------

# The whole request head (line and headers) must arrive within this: the gevent worker reads it
# under `keepalive` (gunicorn's timeout_ctx), so a client trickling headers is dropped after it.
keepalive = _env_int("ALARMHUB_HEADER_TIMEOUT", 5)
# Longest silence while reading a body or writing a response: a stalled body read then ends in
# the callback's 400 instead of holding its greenlet for ever.
CLIENT_TIMEOUT = _env_int("ALARMHUB_CLIENT_TIMEOUT", 15)
# A worker whose loop stops answering the master this long is killed and replaced.
timeout = 30
graceful_timeout = 20

# --- request limits ------------------------------------------------------------------------------

# The callback path is ~70 bytes; list filters in a query string are the long ones.
limit_request_line = 8190
limit_request_fields = 50
limit_request_field_size = 8190
# Bodies: the callback reads at most ALARMHUB_MAX_BODY_BYTES (413 beyond), everything else is
# bounded by Django's DATA_UPLOAD_MAX_MEMORY_SIZE.

# --- logging -------------------------------------------------------------------------------------

accesslog = "-"
errorlog = "-"
# The path without the query string, and no user name (gunicorn would decode it from Basic auth).
access_log_format = '%(h)s - - %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(L)s'

# Never read secrets from the logs' environment atoms either.
_SECRET_ATOMS = ("{authorization}i", "{cookie}i", "{http_authorization}e", "{http_cookie}e")


class RedactingLogger(Logger):
    """gunicorn's logger with callback tokens cut to their hint in access and error lines."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        # Error lines ("Error handling request /api/v1/callbacks/...") and handlers alike.
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, _logredact.RedactCallbackTokens) for f in log.filters):
                log.addFilter(_logredact.RedactCallbackTokens())

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        for key in _SECRET_ATOMS:
            atoms.pop(key, None)
        atoms["u"] = "-"
        return {key: _logredact.redact(v) if isinstance(v, str) else v for key, v in atoms.items()}


logger_class = RedactingLogger

# --- the worker ----------------------------------------------------------------------------------

if _worker == "gevent":
    import gevent
    from gunicorn.workers.base_async import AsyncWorker
    from gunicorn.workers.ggevent import GeventWorker

    class AlarmHubGeventWorker(GeventWorker):
        """gunicorn's gevent worker with an idle timeout on every client socket, yielding to the
        other connections between the requests of a keep-alive connection."""

        def handle(self, listener: Any, client: Any, addr: Any) -> None:
            # GeventWorker.handle would make the socket blocking (no timeout); set ours instead.
            client.settimeout(CLIENT_TIMEOUT)
            AsyncWorker.handle(self, listener, client, addr)

        def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> Any:
            try:
                return super().handle_request(listener_name, req, sock, addr)
            finally:
                # A keep-alive client whose next request is already buffered never makes the
                # greenlet wait, so without this it would be served back to back while every
                # other connection of the worker starved: /healthz p99 300 ms at 8 connections
                # (3 ms with sync workers), the console's tail latency behind a busy client.
                gevent.sleep(0)

    worker_class: Any = AlarmHubGeventWorker
    # Each greenlet is its own "thread" to Django: a persistent connection per greenlet would pile
    # up, and a new connection per request costs more than the callback itself (PostgreSQL forks
    # a backend). So the worker's greenlets share a psycopg pool (Django's OPTIONS["pool"]), at
    # most this many connections per worker process; DATABASE_POOL_SIZE=0 turns it off.
    os.environ.setdefault("DATABASE_POOL_SIZE", "16")
    os.environ.setdefault("DATABASE_CONN_MAX_AGE", "0")
else:
    worker_class = _worker

# We do not use gunicorn's control socket (gunicorn >= 24): one fewer thing listening.
control_socket_disable = True
