"""Load generation for the ingestion benchmark: wrk when installed, else a threaded client.

Both return a ``LoadResult`` (requests completed, errors, throughput, latency percentiles) for a
bounded run: a fixed duration, a fixed number of connections, per-request timeouts. Either runs
as fast as the server answers, or paced at a fixed rate on a schedule (an open model: a slow
answer does not slow the schedule unless every connection is busy; how late sends were is kept).
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from alarms.sources.tencent import EXAMPLES_DIR
from tests.support.services import psql, wait_until

HERE = Path(__file__).resolve().parent
FIXTURE = EXAMPLES_DIR / "metric_cvm_disk_usage_trigger_repeat_real.json"
LUA_SCRIPT = HERE / "callback.lua"
PLACEHOLDERS = ("@SESSION@", "@INSTANCE@", "@VALUE@", "@DURATION@")


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int  # non-2xx answers, socket errors and timeouts
    seconds: float
    p50_ms: float
    p99_ms: float
    tool: str
    late_sends: int = 0  # paced runs: requests sent more than 1 ms after their slot
    late_max_ms: float = 0.0  # paced runs: the latest of them

    @property
    def per_second(self) -> float:
        return (self.requests - self.errors) / self.seconds if self.seconds else 0.0


def combine(slices: list[LoadResult]) -> LoadResult:
    """Several short runs as one: summed counts, the median of their percentiles."""
    return LoadResult(
        requests=sum(r.requests for r in slices),
        errors=sum(r.errors for r in slices),
        seconds=sum(r.seconds for r in slices),
        p50_ms=statistics.median(r.p50_ms for r in slices),
        p99_ms=statistics.median(r.p99_ms for r in slices),
        tool=slices[0].tool,
        late_sends=sum(r.late_sends for r in slices),
        late_max_ms=max(r.late_max_ms for r in slices),
    )


def body_template(first_occur_local: str, salt: str) -> str:
    """The real disk-usage callback with placeholders where each request's values go.

    ``salt`` (new per run) prefixes every sessionId, so no body repeats one of an earlier run.
    """
    payload = json.loads(FIXTURE.read_text())
    payload["sessionId"] = f"{salt}-@SESSION@"
    payload["alarmStatus"] = "1"
    payload["alarmObjInfo"]["dimensions"]["unInstanceId"] = "@INSTANCE@"
    payload["alarmObjInfo"]["dimensions"]["objId"] = "obj-@INSTANCE@"
    payload["alarmPolicyInfo"]["policyId"] = "policy-storm"
    payload["alarmPolicyInfo"]["conditions"]["currentValue"] = "@VALUE@"
    payload["firstOccurTime"] = first_occur_local
    payload["durationTime"] = "@DURATION@"
    payload["recoverTime"] = "0"
    text = json.dumps(payload, ensure_ascii=False, indent=2)
    return text.replace('"@DURATION@"', "@DURATION@")  # a JSON number, as Tencent sends it


def fill(template: str, slice_id: str, thread: int, counter: int, pool: int) -> bytes:
    """The Python twin of callback.lua's ``request()``."""
    values = (
        f"{slice_id}-{thread}-{counter}",
        f"ins-storm{(counter + thread * 131) % pool:04d}",
        f"{90 + counter % 10}.{counter % 1000:03d}",
        str(60 * counter),
    )
    for placeholder, value in zip(PLACEHOLDERS, values, strict=True):
        template = template.replace(placeholder, value)
    return template.encode()


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


# --- wrk -------------------------------------------------------------------------------------

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def run_wrk(
    url: str,
    *,
    seconds: float,
    connections: int,
    threads: int,
    script_args: list[str] | None = None,
    rate: float | None = None,
) -> LoadResult:
    """One bounded wrk run; with ``script_args`` it POSTs callback bodies via callback.lua.

    ``rate`` (requests/s over all threads, callbacks only) paces the run: each wrk thread
    sends on its own schedule of ``threads / rate`` seconds per request.
    """
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
    cmd += ["--latency", "--timeout", "10s"]
    if script_args is not None:
        pacing = [f"{1000 * threads / rate:.3f}"] if rate else []
        cmd += ["-s", str(LUA_SCRIPT), url, "--", *script_args, *pacing]
    else:
        cmd.append(url)
    result = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    out = result.stdout
    if result.returncode != 0 or "requests in" not in out:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{out}\n{result.stderr}")
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    assert total is not None
    percentiles = dict(re.findall(r"^\s+(50|99)(?:\.000)?%\s+(\S+)", out, re.M))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket:
        errors += sum(int(socket.group(i)) for i in (1, 3, 4))  # read errors = closed sockets
    paced = re.search(r"pacing: slots \d+, late (\d+), late_max_ms ([\d.]+)", out)
    return LoadResult(
        requests=int(total.group(1)),
        errors=errors,
        seconds=_ms(total.group(2) + total.group(3)) / 1000,
        p50_ms=_ms(percentiles["50"]),
        p99_ms=_ms(percentiles["99"]),
        tool="wrk",
        late_sends=int(paced.group(1)) if paced else 0,
        late_max_ms=float(paced.group(2)) if paced else 0.0,
    )


# --- fallback: a threaded requests client ----------------------------------------------------


def run_threaded(
    url: str,
    *,
    seconds: float,
    connections: int,
    template: str | None,
    pool: int,
    slice_id: str = "0",
    rate: float | None = None,
) -> LoadResult:
    """``connections`` threads, each looping until the deadline (GET, or POST of ``template``).

    With ``rate`` the threads share one schedule: request n is due at start + n / ``rate``.
    """
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    late = [0.0] * connections  # per thread: the latest send, in seconds after its slot
    late_sends = [0] * connections
    began = time.monotonic()
    deadline = began + seconds
    slots = iter(range(10**9))
    slot_lock = threading.Lock()

    def worker(index: int) -> None:
        session = requests.Session()
        counter = 0
        while time.monotonic() < deadline:
            if rate:
                with slot_lock:
                    due = began + next(slots) / rate
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                elif -wait > 0.001:
                    late_sends[index] += 1
                    late[index] = max(late[index], -wait)
                if time.monotonic() >= deadline:
                    break
            counter += 1
            started = time.perf_counter()
            try:
                if template is None:
                    response = session.get(url, timeout=10)
                else:
                    body = fill(template, slice_id, index, counter, pool)
                    response = session.post(
                        url, data=body, headers={"Content-Type": "application/json"}, timeout=10
                    )
                ok = response.status_code < 300
            except requests.RequestException:
                ok = False
            latencies[index].append(time.perf_counter() - started)
            errors[index] += 0 if ok else 1

    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(seconds + 30)
    elapsed = time.monotonic() - began
    samples = sorted(s for per_thread in latencies for s in per_thread)
    cuts = statistics.quantiles(samples, n=100) if len(samples) > 1 else samples * 99
    return LoadResult(
        requests=len(samples),
        errors=sum(errors),
        seconds=elapsed,
        p50_ms=cuts[49] * 1000,
        p99_ms=cuts[98] * 1000,
        tool="python threads",
        late_sends=sum(late_sends),
        late_max_ms=max(late) * 1000,
    )


# --- the worker side -------------------------------------------------------------------------


def delivery_counts(database_url: str, endpoint_name: str) -> dict[str, int]:
    rows = psql(
        database_url,
        "SELECT d.status, count(*) FROM alarms_delivery d "
        "JOIN alarms_callbackendpoint e ON e.id = d.endpoint_id "
        "WHERE e.name = %s GROUP BY d.status",
        endpoint_name,
    )
    return {status: int(count) for status, count in rows}


def unsettled(counts: dict[str, int]) -> int:
    return counts.get("pending", 0) + counts.get("processing", 0)


def wait_settled(
    read_counts: Callable[[], dict[str, int]], timeout: float, interval: float, message: str
) -> tuple[bool, dict[str, int]]:
    """Poll delivery counts by status until none is pending or processing, within ``timeout``;
    returns whether they settled and the last counts read."""
    counts: dict[str, int] = {}

    def settled() -> bool:
        counts.clear()
        counts.update(read_counts())
        return unsettled(counts) == 0

    try:
        wait_until(settled, timeout, interval, message=message)
    except TimeoutError:
        return False, counts
    return True, counts
