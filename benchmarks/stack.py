"""The throwaway production-like stack a benchmark run measures.

PostgreSQL (durable: fsync on, as in production), Redis, gunicorn and a Celery worker, all on
127.0.0.1, built from the integration tests' service helpers. ``Stack`` is a context manager:
every process it started is stopped on the way out, whatever the exit (error, Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from tests.support.services import (
    PROJECT_ROOT,
    CeleryWorker,
    PostgresServer,
    RedisServer,
    ServiceError,
    WebServer,
    manage,
    service_env,
)

GUNICORN_CONF = PROJECT_ROOT / "deploy" / "gunicorn.conf.py"
BENCH_USER = "bench"
# A throwaway superuser on a throwaway cluster that listens on 127.0.0.1 only.
BENCH_PASSWORD = "bench-only-not-a-secret-4f2a9c"  # noqa: S105
ENDPOINT_NAME = "bench-storm"
# /proc/<pid>/clear_refs: writing 5 resets the peak RSS (VmHWM) to the current RSS (Linux ≥ 4.0).
RESET_PEAK = "5"


@dataclass(frozen=True)
class ProcessMemory:
    """One process of a service's tree: its peak resident set so far and its current one."""

    pid: int
    role: str  # gunicorn "master" / "worker", Celery "main" / "pool"
    peak: int  # bytes, VmHWM (a high-water mark since start or since the last reset)
    rss: int  # bytes, VmRSS now


def status_memory(status: str) -> tuple[int, int]:
    """(VmHWM, VmRSS) in bytes from the text of /proc/<pid>/status (the kernel writes kB)."""
    found = {"VmHWM": 0, "VmRSS": 0}
    for line in status.splitlines():
        key, _, value = line.partition(":")
        if key in found:
            number, _, unit = value.strip().partition(" ")
            if unit.strip() != "kB":
                raise ValueError(f"unexpected unit in {line!r}")
            found[key] = int(number) * 1024
    return found["VmHWM"], found["VmRSS"]


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (from /proc/<pid>/task/*/children), parents first."""
    tree, queue = [], [pid]
    while queue:
        current = queue.pop(0)
        tree.append(current)
        with contextlib.suppress(OSError):  # a process that exited meanwhile has no children
            for task in Path(f"/proc/{current}/task").iterdir():
                queue += [int(child) for child in (task / "children").read_text().split()]
    return tree


def tree_memory(pid: int, roles: tuple[str, str]) -> list[ProcessMemory]:
    """Memory of every live process in ``pid``'s tree; ``roles`` names the root and the rest."""
    found = []
    for member in process_tree(pid):
        try:
            peak, rss = status_memory(Path(f"/proc/{member}/status").read_text())
        except OSError:
            continue
        found.append(ProcessMemory(member, roles[0] if member == pid else roles[1], peak, rss))
    return found


class Stack:
    """Start everything with ``with Stack(...) as stack:``; read URLs and credentials from it."""

    def __init__(
        self,
        *,
        web_workers: int,
        worker_concurrency: int,
        log: Callable[[str], None],
        web_class: str = "gevent",
    ) -> None:
        self.web_workers = web_workers
        self.web_class = web_class
        self.worker_concurrency = worker_concurrency
        self.log = log
        self.run_dir = Path(tempfile.mkdtemp(prefix="alarmhub-bench-"))
        self.keep_logs = False
        self.postgres: PostgresServer | None = None
        self.redis: RedisServer | None = None
        self.web: WebServer | None = None
        self.worker: CeleryWorker | None = None
        self.env: dict[str, str] = {}
        self.callback_path = ""
        self.api_token = ""
        self.username = BENCH_USER
        self.password = BENCH_PASSWORD

    # --- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.keep_logs = True
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None and not issubclass(exc_type, KeyboardInterrupt):
            self.keep_logs = True
        self.close()

    @contextlib.contextmanager
    def _step(self, what: str) -> Iterator[None]:
        started = time.monotonic()
        yield
        self.log(f"  {what:<52} {time.monotonic() - started:5.1f} s")

    def start(self) -> None:
        # Durable, like production: the callback's 200 means "committed to disk".
        self.postgres = PostgresServer(fast=False)
        self.redis = RedisServer(log_dir=self.run_dir / "redis")
        static_root = self.run_dir / "static"
        self.env = service_env(
            database_url=self.postgres.url,
            broker_url=self.redis.url,
            debug=False,
            extra={
                "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
                "ALARMHUB_BENCH_STATIC_ROOT": str(static_root),
                # Production's gunicorn config (deploy/gunicorn.conf.py) with this worker class:
                # gevent (its default, with a psycopg pool per worker) or sync.
                "ALARMHUB_WORKER_CLASS": self.web_class,
            },
        )
        with ThreadPoolExecutor(max_workers=4) as pool:
            with self._step("PostgreSQL + Redis + collectstatic (in parallel)"):
                jobs: list[Future[Any]] = [
                    pool.submit(self.postgres.start),
                    pool.submit(self.redis.start),
                    pool.submit(manage, self.env, "collectstatic", "--noinput", timeout=180),
                ]
                for job in jobs:
                    job.result()
            with self._step("migrate"):
                manage(self.env, "migrate", "--noinput", timeout=300)
            with self._step("superuser, API token, callback endpoint (manage.py)"):
                user_job = pool.submit(self._create_user_and_token)
                endpoint_job = pool.submit(
                    manage, self.env, "create_callback_endpoint", ENDPOINT_NAME
                )
                user_job.result()
                self.callback_path = endpoint_job.result().stdout.strip().splitlines()[-1]
            self.web = WebServer(
                self.env,
                workers=self.web_workers,
                log_dir=self.run_dir / "web",
                extra_args=["-c", str(GUNICORN_CONF)],
            )
            self.worker = CeleryWorker(
                self.env,
                name="bench",
                concurrency=self.worker_concurrency,
                log_dir=self.run_dir / "worker",
            )
            with self._step(
                f"gunicorn ({self.web_workers} {self.web_class} workers) + "
                f"Celery ({self.worker_concurrency} processes)"
            ):
                jobs = [pool.submit(self.web.start), pool.submit(self.worker.start)]
                for job in jobs:
                    job.result()

    def _create_user_and_token(self) -> None:
        env = {**self.env, "DJANGO_SUPERUSER_PASSWORD": self.password}
        manage(
            env,
            "createsuperuser",
            "--noinput",
            "--username",
            self.username,
            "--email",
            "bench@example.invalid",
        )
        output = manage(self.env, "drf_create_token", self.username).stdout
        match = re.search(r"token (\w+)", output)
        if match is None:
            raise ServiceError(f"could not read the token from drf_create_token: {output!r}")
        self.api_token = match.group(1)

    def close(self) -> None:
        """Stop every service (web and workers before the databases they use)."""
        for service in (self.web, self.worker, self.redis, self.postgres):
            if service is not None:
                with contextlib.suppress(Exception):
                    service.close()
        if self.keep_logs:
            self.log(f"Logs kept in {self.run_dir}")
        else:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    # --- conveniences --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self.web is not None
        return self.web.base_url

    @property
    def database_url(self) -> str:
        assert self.postgres is not None
        return self.postgres.url

    def memory(self) -> dict[str, list[ProcessMemory]]:
        """Every running web and worker process with its peak RSS (VmHWM) and current RSS."""
        services: dict[str, list[ProcessMemory]] = {}
        if self.web is not None and self.web.running and self.web.pid:
            services["web"] = tree_memory(self.web.pid, ("master", "worker"))
        if self.worker is not None and self.worker.running and self.worker.pid:
            services["worker"] = tree_memory(self.worker.pid, ("main", "pool"))
        return services

    def reset_peaks(self) -> bool:
        """Reset VmHWM of every running web/worker process; False if the kernel refused."""
        pids = [p.pid for processes in self.memory().values() for p in processes]
        try:
            for pid in pids:
                fd = os.open(f"/proc/{pid}/clear_refs", os.O_WRONLY)
                try:
                    os.write(fd, RESET_PEAK.encode())
                finally:
                    os.close(fd)
        except OSError:
            return False
        return bool(pids)

    def django(self, module: str, *args: str, timeout: float = 600.0, **env: Any) -> str:
        """Run ``python -m MODULE ARGS`` with the stack's Django settings; return its stdout."""
        result = subprocess.run(
            [sys.executable, "-m", module, *args],
            cwd=PROJECT_ROOT,
            env={**self.env, **{k: str(v) for k, v in env.items()}},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise ServiceError(
                f"`python -m {module}` exited {result.returncode}:\n{result.stderr[-4000:]}"
            )
        return result.stdout
