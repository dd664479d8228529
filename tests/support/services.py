"""Real PostgreSQL, Redis, Celery and gunicorn processes for integration, benchmark and fault tests.

Plain classes with no pytest dependency: ``python -c "from tests.support.services import ..."``
works from the project root. Every process runs in its own process group (so a kill takes its
children with it), every start has a timeout whose error carries the tail of the service log, and
anything still running when the interpreter exits is stopped by an ``atexit`` hook.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Self, TypeVar

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PG_USER = "alarmhub-test"  # the OS account that owns the cluster when we run as root
DB_SUPERUSER = "alarmhub"  # the database role created by initdb
DB_NAME = "alarmhub"
TEST_SECRET_KEY = "integration-tests-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz"

T = TypeVar("T")

__all__ = [
    "CeleryBeat",
    "CeleryWorker",
    "PostgresServer",
    "RedisServer",
    "ServiceError",
    "WebServer",
    "free_port",
    "http_get",
    "manage",
    "psql",
    "service_env",
    "wait_until",
]


class ServiceError(RuntimeError):
    """A service could not be found, started or stopped; the message says what to do."""


# --- small helpers ----------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    predicate: Callable[[], T | None],
    timeout: float = 30.0,
    interval: float = 0.2,
    *,
    message: str = "condition",
    ignore_exceptions: tuple[type[BaseException], ...] = (),
) -> T:
    """Call ``predicate`` until it returns something truthy and return that value.

    Exceptions listed in ``ignore_exceptions`` count as "not yet" (e.g. a table the worker has not
    created yet); the last one is quoted if the wait times out.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = predicate()
        except ignore_exceptions as exc:
            last_error = exc
        else:
            if result:
                return result
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise TimeoutError(f"Timed out after {timeout:.0f}s waiting for {message}{detail}")
        time.sleep(interval)


def psql(url: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Run one statement on PostgreSQL in autocommit mode; return its rows ([] when it has none).

    Integration tests read results this way rather than through the in-process ORM, whose
    settings point at the unit tests' SQLite database.
    """
    import psycopg  # imported lazily so the module loads where psycopg is absent

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        cur = conn.execute(sql, params or None)
        return list(cur.fetchall()) if cur.description else []


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """GET ``url`` and return (status, body) — HTTP error statuses are returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def service_env(
    *,
    database_url: str,
    broker_url: str | None = None,
    debug: bool = True,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Environment for a subprocess (manage.py, worker, gunicorn) pointed at the given services.

    Inherited DJANGO_*/CELERY_*/ALARMHUB_* variables are dropped so that a developer's shell
    cannot silently change what the tests run against. ``broker_url=None`` means eager tasks.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CELERY_", "ALARMHUB_")) and key != "DATABASE_URL"
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "alarmhub.settings",
            "DJANGO_DEBUG": "True" if debug else "False",
            "DJANGO_SECRET_KEY": TEST_SECRET_KEY,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Plain HTTP on loopback: no HTTPS redirect, no secure-only cookies.
            "DJANGO_SECURE_SSL_REDIRECT": "False",
            "DJANGO_SECURE_COOKIES": "False",
            "DATABASE_URL": database_url,
            "PYTHONUNBUFFERED": "1",  # log lines reach the log file as they happen
        }
    )
    if broker_url:
        env["CELERY_BROKER_URL"] = broker_url
    env.update(extra or {})
    return env


def manage(
    env: Mapping[str, str],
    *args: str,
    timeout: float = 120.0,
    python: str | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``python manage.py ARGS`` in a subprocess; on failure raise with its output."""
    cmd = [python or sys.executable, "manage.py", *args]
    try:
        result = subprocess.run(
            cmd,
            cwd=PROJECT_ROOT,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise ServiceError(
            f"`manage.py {' '.join(args)}` did not finish in {timeout:.0f}s"
        ) from exc
    if check and result.returncode != 0:
        raise ServiceError(
            f"`manage.py {' '.join(args)}` exited {result.returncode}:\n"
            f"{_last_lines(result.stdout + result.stderr)}"
        )
    return result


def _last_lines(text: str, lines: int = 40) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _tail(path: Path | None, lines: int = 40) -> str:
    if path is None or not path.exists():
        return "(no log)"
    text = path.read_text(errors="replace")
    return _last_lines(text, lines) or "(log is empty)"


def _require_binary(name: str, install_hint: str, candidates: Iterable[str] = ()) -> str:
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    if found is None:
        raise ServiceError(f"`{name}` was not found on PATH: {install_hint}")
    return found


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.05)
    return False


# --- lifecycle bookkeeping --------------------------------------------------------------------

_LIVE: list[_Service] = []


@atexit.register
def _stop_everything() -> None:
    # Newest first: the web server and workers go before the databases they use.
    for service in reversed(list(_LIVE)):
        with contextlib.suppress(Exception):
            service.close()


class _Service:
    """Shared bits: a log file, context-manager use, registration for the atexit clean-up."""

    name = "service"

    def __init__(self, log_dir: str | os.PathLike[str] | None) -> None:
        self._own_log_dir = log_dir is None
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix=f"alarmhub-{self.name}-logs-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._log_path: Path | None = None

    @property
    def log_path(self) -> Path:
        """The file this service writes its output to (kept after it stops)."""
        assert self._log_path is not None
        return self._log_path

    def log_text(self, since_start: bool = False) -> str:
        """The whole log, or only what was written since the latest start."""
        if self._log_path is None or not self._log_path.exists():
            return ""
        with self._log_path.open("rb") as handle:
            if since_start:
                handle.seek(getattr(self, "_log_offset", 0))
            return handle.read().decode(errors="replace")

    def tail(self, lines: int = 40) -> str:
        return _tail(self._log_path, lines)

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Stop for good and forget the service (a log directory we made ourselves goes too)."""
        try:
            self.stop()
        finally:
            if self in _LIVE:
                _LIVE.remove(self)
            if self._own_log_dir:
                shutil.rmtree(self.log_dir, ignore_errors=True)

    def _register(self) -> None:
        if self not in _LIVE:
            _LIVE.append(self)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _ProcessService(_Service):
    """A service that is one foreground process (plus its children) in its own process group."""

    startup_timeout: float  # set by each subclass's __init__

    def __init__(self, log_dir: str | os.PathLike[str] | None) -> None:
        super().__init__(log_dir)
        self.process: subprocess.Popen[bytes] | None = None
        self._log_handle: IO[bytes] | None = None
        self._log_offset = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _spawn(self, cmd: Sequence[str], env: Mapping[str, str] | None, cwd: Path) -> None:
        if self.running:
            raise ServiceError(f"{self.name} is already running (pid {self.pid})")
        self._log_path = self.log_dir / f"{self.name}.log"
        # Append across restarts; wait_for_log() only looks past this offset.
        self._log_offset = self._log_path.stat().st_size if self._log_path.exists() else 0
        self._log_handle = self._log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                list(cmd),
                cwd=cwd,
                env=dict(env) if env is not None else None,
                stdin=subprocess.DEVNULL,
                stdout=self._log_handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: kill() reaches every child
            )
        except OSError as exc:
            raise ServiceError(f"Could not start {self.name} ({cmd[0]}): {exc}") from exc
        self._register()

    def _fail(self, what: str) -> ServiceError:
        return ServiceError(f"{self.name} {what}. Last lines of {self._log_path}:\n{self.tail()}")

    def _signal_group(self, sig: int) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)

    def _terminate(self, timeout: float) -> None:
        """SIGTERM the main process (graceful shutdown), SIGKILL the group if it lingers."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait(timeout=10)
        # Children that outlived their parent (e.g. orphaned pool processes) go too.
        self._signal_group(signal.SIGKILL)
        self._close_log()

    def kill(self) -> None:
        """SIGKILL the whole process group at once: a crash, not a shutdown."""
        if self.process is None:
            return
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        self._close_log()

    def _close_log(self) -> None:
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    def wait_for_log(
        self, pattern: str, timeout: float = 30.0, *, since_start: bool = True
    ) -> re.Match[str]:
        """Wait until ``pattern`` (a regex) appears in the log; raise with the log tail if not."""
        regex = re.compile(pattern)
        try:
            return wait_until(
                lambda: regex.search(self.log_text(since_start=since_start)),
                timeout,
                0.1,
                message=f"/{pattern}/ in the {self.name} log",
            )
        except TimeoutError as exc:
            raise self._fail(f"log never matched /{pattern}/ within {timeout:.0f}s") from exc

    def _await_startup_line(
        self, pattern: str, timeout: float | None, done: str, not_done: str
    ) -> None:
        """Block until the log shows ``pattern``; fail fast if the process exits first."""
        timeout = self.startup_timeout if timeout is None else timeout
        line = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while not line.search(self.log_text(since_start=True)):
            if not self.running:
                code = self.process.returncode if self.process else "?"
                raise self._fail(f"exited with code {code} before it {done}")
            if time.monotonic() > deadline:
                self.kill()
                raise self._fail(f"{not_done} within {timeout:.0f}s")
            time.sleep(0.1)


# --- PostgreSQL -------------------------------------------------------------------------------


def postgres_bindir() -> Path:
    """The directory holding initdb/pg_ctl/postgres: pg_config's, else the newest Debian one."""
    candidates: list[Path] = []
    if shutil.which("pg_config"):
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            out = subprocess.run(
                ["pg_config", "--bindir"], capture_output=True, text=True, timeout=10, check=True
            )
            candidates.append(Path(out.stdout.strip()))
    if shutil.which("initdb"):
        candidates.append(Path(shutil.which("initdb") or "").parent)

    def version(path: str) -> int:
        match = re.search(r"/postgresql/(\d+)/", path)
        return int(match.group(1)) if match else 0

    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    candidates += [Path(path) for path in debian]
    for candidate in candidates:
        if all((candidate / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return candidate
    raise ServiceError(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found: install them "
        "with `apt-get install postgresql` (Debian/Ubuntu) or put their bin directory on PATH."
    )


def _ensure_os_user(name: str) -> pwd.struct_passwd:
    """The non-root account that runs PostgreSQL (which refuses to run as root), made if missing."""
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(name)
    if shutil.which("useradd"):
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            capture_output=True,
            check=False,
            timeout=30,
        )
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    with contextlib.suppress(KeyError):
        return pwd.getpwnam("nobody")
    raise ServiceError(
        f"Running as root, PostgreSQL needs a non-root OS user: create one with "
        f"`useradd --system {name}` or set ALARMHUB_TEST_PG_USER to an existing account."
    )


class PostgresServer(_Service):
    """A throw-away PostgreSQL cluster: trust auth, 127.0.0.1 only, durability off for speed.

    ``start()`` runs initdb (first time only), starts the server on a free port that it keeps
    across ``stop()``/``start()``/``restart()``, and creates the ``alarmhub`` database.
    ``close()`` stops it and deletes the cluster.
    """

    name = "postgres"

    def __init__(
        self,
        *,
        port: int | None = None,
        dbname: str = DB_NAME,
        os_user: str | None = None,
        fast: bool = True,
        max_connections: int = 200,
        startup_timeout: float = 60.0,
    ) -> None:
        self.bindir = postgres_bindir()
        # PostgreSQL refuses root, so the cluster lives in a plain /tmp dir (pytest's tmp dirs are
        # 0700 root) that the non-root account owns; the log lives there too.
        self.base_dir = Path(tempfile.mkdtemp(prefix="alarmhub-pg-"))
        super().__init__(self.base_dir)
        self.data_dir = self.base_dir / "data"
        self._log_path = self.base_dir / "postgres.log"
        self.port = port or free_port()
        self.dbname = dbname
        self.fast = fast
        self.max_connections = max_connections
        self.startup_timeout = startup_timeout
        self._initialised = False
        self._run_as: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            self._run_as = _ensure_os_user(
                os_user or os.environ.get("ALARMHUB_TEST_PG_USER") or DEFAULT_PG_USER
            )
            os.chown(self.base_dir, self._run_as.pw_uid, self._run_as.pw_gid)

    @property
    def url(self) -> str:
        return f"postgres://{DB_SUPERUSER}@127.0.0.1:{self.port}/{self.dbname}"

    @property
    def admin_url(self) -> str:
        """A URL for the always-present ``postgres`` database (to create or drop databases)."""
        return f"postgres://{DB_SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        ids: dict[str, Any] = {}
        if self._run_as is not None:
            ids = {"user": self._run_as.pw_uid, "group": self._run_as.pw_gid, "extra_groups": []}
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update({"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"})
        try:
            return subprocess.run(
                [str(self.bindir / tool), *args],
                cwd=self.base_dir,  # the non-root user may not be able to enter our cwd
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # the postmaster pg_ctl forks inherits this new group
                **ids,
            )
        except subprocess.TimeoutExpired as exc:
            raise ServiceError(
                f"{tool} did not finish in {timeout:.0f}s. Last lines of {self._log_path}:\n"
                f"{self.tail()}"
            ) from exc

    def _initdb(self) -> None:
        result = self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            DB_SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
            timeout=120,
        )
        if result.returncode != 0:
            raise ServiceError(f"initdb failed:\n{_last_lines(result.stdout + result.stderr)}")
        settings = [
            "listen_addresses = '127.0.0.1'",
            f"port = {self.port}",
            f"unix_socket_directories = '{self.base_dir}'",
            f"max_connections = {self.max_connections}",
            "log_min_messages = warning",
        ]
        if self.fast:
            # A test cluster never needs to survive an OS crash; a postgres crash is still safe.
            settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# alarmhub integration tests\n" + "\n".join(settings) + "\n")
        self._initialised = True

    @property
    def running(self) -> bool:
        if not self.data_dir.exists():
            return False
        return self._run("pg_ctl", "-D", str(self.data_dir), "status", timeout=30).returncode == 0

    def start(self) -> None:
        if not self._initialised:
            self._initdb()
        self._register()
        result = self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self._log_path),
            "-w",
            "-t",
            str(int(self.startup_timeout)),
            "start",
            timeout=self.startup_timeout + 10,
        )
        if result.returncode != 0:
            raise ServiceError(
                f"PostgreSQL did not start on 127.0.0.1:{self.port} within "
                f"{self.startup_timeout:.0f}s:\n{_last_lines(result.stdout + result.stderr)}\n"
                f"Last lines of {self._log_path}:\n{self.tail()}"
            )
        self._create_database()

    def _create_database(self) -> None:
        exists = psql(self.admin_url, "SELECT 1 FROM pg_database WHERE datname = %s", self.dbname)
        if not exists:
            result = self._run(
                "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", DB_SUPERUSER,
                self.dbname, timeout=60,
            )  # fmt: skip
            if result.returncode != 0:
                raise ServiceError(f"createdb failed:\n{_last_lines(result.stderr)}")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; ``mode`` is pg_ctl's: smart, fast or immediate (a crash-like stop)."""
        if not self.data_dir.exists() or not (self.data_dir / "postmaster.pid").exists():
            return
        result = self._run(
            "pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "30", "stop", timeout=45
        )
        if result.returncode != 0 and (self.data_dir / "postmaster.pid").exists():
            self.kill()

    def kill(self) -> None:
        """SIGKILL the postmaster and every backend at once (a crash); the next start recovers."""
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return
        # Backends call setsid(), so a process-group kill would miss them: kill by parentage.
        victims = [pid, *_children(pid)]
        for victim in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        wait_until(
            lambda: not any(_pid_alive(victim) for victim in victims),
            10,
            0.05,
            message="the killed PostgreSQL processes to exit",
        )
        # Orphans are reaped late here, and a zombie's pid in a lock file blocks the next start.
        pid_file.unlink(missing_ok=True)
        for lock in self.base_dir.glob(".s.PGSQL.*.lock"):
            lock.unlink(missing_ok=True)

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        try:
            super().close()
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)


def _children(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (read from /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # Fields after ") ": state, ppid, ...; the command name may itself contain spaces.
            if int(stat.read_text().rsplit(") ", 1)[1].split()[1]) == pid:
                children.append(int(stat.parent.name))
    return children


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as gone.
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1] != "Z"
    return True


# --- Redis ------------------------------------------------------------------------------------


class RedisServer(_ProcessService):
    """redis-server on 127.0.0.1 with persistence off; ``start()`` after ``stop()`` reuses the port,
    so a broker restart (queued messages lost, clients reconnecting) can be simulated."""

    name = "redis"

    def __init__(
        self,
        *,
        port: int | None = None,
        log_dir: str | os.PathLike[str] | None = None,
        startup_timeout: float = 20.0,
    ) -> None:
        super().__init__(log_dir)
        self.binary = _require_binary(
            "redis-server",
            "install it with `apt-get install redis-server`",
            ["/usr/bin/redis-server", "/usr/local/bin/redis-server"],
        )
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.data_dir = Path(tempfile.mkdtemp(prefix="alarmhub-redis-"))

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        """True when the server answers PING (raw RESP, no client library needed)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def _server_pid(self) -> int | None:
        """The process id of whatever Redis answers on our port."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"INFO server\r\n")
                reply = b""
                while b"process_id:" not in reply or not reply.endswith(b"\r\n"):
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
        except OSError:
            return None
        match = re.search(rb"process_id:(\d+)", reply)
        return int(match.group(1)) if match else None

    def start(self) -> None:
        # Another test run on this machine may hold the port: never adopt its server.
        if self.ping():
            raise self._fail(f"127.0.0.1:{self.port} is already served by another Redis")
        cmd = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.data_dir),
            "--daemonize", "no",
            "--loglevel", "notice",
        ]  # fmt: skip
        self._spawn(cmd, None, self.data_dir)
        deadline = time.monotonic() + self.startup_timeout
        while not (self.ping() and self.process and self._server_pid() == self.process.pid):
            if not self.running:
                code = self.process.returncode if self.process else "?"
                raise self._fail(f"exited with code {code}")
            if time.monotonic() > deadline:
                self.kill()
                raise self._fail(
                    f"did not answer PING on 127.0.0.1:{self.port} within "
                    f"{self.startup_timeout:.0f}s"
                )
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        self._terminate(timeout)

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        try:
            super().close()
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)


# --- Celery worker ----------------------------------------------------------------------------


class CeleryWorker(_ProcessService):
    """``celery -A alarmhub worker`` (prefork) as a separate process against the given env."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        name: str = "worker",
        concurrency: int = 2,
        log_dir: str | os.PathLike[str] | None = None,
        extra_args: Sequence[str] = (),
        python: str | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self.name = name
        super().__init__(log_dir)
        if not env.get("CELERY_BROKER_URL", "").startswith("redis"):
            raise ServiceError("CeleryWorker needs CELERY_BROKER_URL=redis://... in its env")
        self.env = dict(env)
        self.concurrency = concurrency
        self.extra_args = list(extra_args)
        self.python = python or sys.executable
        self.startup_timeout = startup_timeout

    @property
    def command(self) -> list[str]:
        return [
            self.python, "-m", "celery", "-A", "alarmhub", "worker",
            "--loglevel=INFO", f"--concurrency={self.concurrency}", "--pool=prefork",
            "-n", f"{self.name}@%h", *self.extra_args,
        ]  # fmt: skip

    def start(self, *, wait: bool = True) -> None:
        self._spawn(self.command, self.env, PROJECT_ROOT)
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until the worker logs ``NAME@host ready.``, i.e. it consumes from the broker."""
        pattern = rf"{re.escape(self.name)}@\S+ ready\."
        self._await_startup_line(pattern, timeout, "was ready", "was not ready")

    def inspect_ping(self, timeout: float = 10.0) -> bool:
        """Ask the worker through the broker (``celery inspect ping``) whether it answers."""
        result = subprocess.run(
            [self.python, "-m", "celery", "-A", "alarmhub", "inspect", "ping",
             "-d", f"{self.name}@{socket.gethostname()}", "--timeout", str(timeout)],
            cwd=PROJECT_ROOT, env=self.env, capture_output=True, text=True,
            timeout=timeout + 30, check=False,
        )  # fmt: skip
        return result.returncode == 0 and "pong" in result.stdout

    def stop(self, timeout: float = 30.0) -> None:
        """Warm shutdown (SIGTERM to the main process lets running tasks finish)."""
        self._terminate(timeout)


class CeleryBeat(_ProcessService):
    """``celery -A alarmhub beat`` with its schedule file in a private temp dir.

    The sweep period comes from ``ALARMHUB_SWEEP_INTERVAL_SECONDS`` in ``env``; a fresh schedule
    file per instance means no state (last-run times) leaks between tests.
    """

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        name: str = "beat",
        log_dir: str | os.PathLike[str] | None = None,
        python: str | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self.name = name
        super().__init__(log_dir)
        if not env.get("CELERY_BROKER_URL", "").startswith("redis"):
            raise ServiceError("CeleryBeat needs CELERY_BROKER_URL=redis://... in its env")
        self.env = dict(env)
        self.python = python or sys.executable
        self.startup_timeout = startup_timeout
        self.state_dir = Path(tempfile.mkdtemp(prefix="alarmhub-beat-"))

    @property
    def command(self) -> list[str]:
        return [
            self.python, "-m", "celery", "-A", "alarmhub", "beat", "--loglevel=INFO",
            "--schedule", str(self.state_dir / "celerybeat-schedule"),
            "--pidfile", str(self.state_dir / "celerybeat.pid"),
        ]  # fmt: skip

    def start(self, *, wait: bool = True) -> None:
        # A SIGKILLed beat leaves its pid file behind, and beat refuses to start over one.
        (self.state_dir / "celerybeat.pid").unlink(missing_ok=True)
        self._spawn(self.command, self.env, PROJECT_ROOT)
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until beat logs that it started (it sends its first due tasks soon after)."""
        pattern = re.escape("beat: Starting...")
        self._await_startup_line(pattern, timeout, "started", "did not start")

    def stop(self, timeout: float = 15.0) -> None:
        self._terminate(timeout)

    def close(self) -> None:
        try:
            super().close()
        finally:
            shutil.rmtree(self.state_dir, ignore_errors=True)


# --- gunicorn ---------------------------------------------------------------------------------


class WebServer(_ProcessService):
    """gunicorn serving ``alarmhub.wsgi`` on 127.0.0.1; ready once ``/healthz`` answers 200."""

    name = "web"

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        workers: int = 2,
        port: int | None = None,
        log_dir: str | os.PathLike[str] | None = None,
        extra_args: Sequence[str] = (),
        python: str | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        super().__init__(log_dir)
        self.env = dict(env)
        self.workers = workers
        self.port = port or free_port()
        self.extra_args = list(extra_args)
        self.python = python or sys.executable
        self.startup_timeout = startup_timeout

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def command(self) -> list[str]:
        return [
            self.python, "-m", "gunicorn", "alarmhub.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
            "--access-logfile", "-", "--error-logfile", "-",
            "--timeout", "60", "--graceful-timeout", "10", *self.extra_args,
        ]  # fmt: skip

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
        return http_get(self.base_url + path, timeout)

    def start(self) -> None:
        # Another test run on this machine may hold the port: never test against its server.
        if _port_in_use(self.port):
            raise self._fail(f"127.0.0.1:{self.port} is already in use")
        self._spawn(self.command, self.env, PROJECT_ROOT)
        deadline = time.monotonic() + self.startup_timeout
        last = "no answer"
        while True:
            if not self.running:
                code = self.process.returncode if self.process else "?"
                hint = " (install it: `make venv`)" if "No module named" in self.tail() else ""
                raise self._fail(f"exited with code {code}{hint}")
            if _wait_port(self.port, 0.2):
                try:
                    status, _ = self.get("/healthz", timeout=5)
                except OSError as exc:
                    last = repr(exc)
                else:
                    if status == 200:
                        return
                    last = f"HTTP {status}"
            if time.monotonic() > deadline:
                self.kill()
                raise self._fail(
                    f"/healthz on {self.base_url} did not answer 200 within "
                    f"{self.startup_timeout:.0f}s (last: {last})"
                )
            time.sleep(0.1)

    def stop(self, timeout: float = 20.0) -> None:
        self._terminate(timeout)

    def restart(self) -> None:
        self.stop()
        self.start()
