"""The local cloud: how fast `inboxfleet-local up` is ready, what its start and stop are made
of, and what each request path through it costs.

What it measures
    1. `up` readiness. `python -m local up` run as a newcomer runs it: a fresh interpreter in
       its own process group (as a terminal gives it), DATABASE_* removed from its environment
       so it starts its own embedded PostgreSQL. Per run: the wall time from spawn to the
       "Ctrl-C stops everything." line (what a user waits: interpreter start-up and imports
       included), the "up in X.Xs" figure `up` prints itself (from the start of the command,
       after the interpreter and the CLI are loaded), and the time from SIGINT (sent to the
       group, as Ctrl-C does) to the process's exit. Between the two, one untimed request
       checks that the API it printed answers, and the SIGINT follows --settle-s after the
       ready line (default 0: `up` handles SIGINT from before it prints that line). The issue asks
       for `up` ready in <= 10 s on this machine: the spawn-to-ready figure is printed against
       that target.
    2. LocalCloud start and close in this process (with template.yaml, its own PostgreSQL, as
       `up` runs it), broken into its steps without touching local/cloud.py: a subclass marks
       the time as each of LocalCloud's own steps begins (`_start_simulators`, `_deploy`, ...),
       and registers a callback just before each, which at close runs once that step (and all
       later ones) has stopped. Run 1 pays this interpreter's first imports (moto, boto3, the
       handlers), later runs do not. PostgreSQL start, scratch database, migrations and their
       teardown are one step inside LocalCloud; they are also timed apart (once, before the
       clouds), to show how that step divides.
    3. Request paths on one running cloud, in this process: template.yaml plus an echo function
       on a JWT route GET /v1/echo/{id} and a one-state machine calling it (local.echo_stack:
       the same resources the integration tests add), the sample tenant seeded. Each path runs
       a warm-up, then K timed iterations one after another:
         (a) the echo handler called directly with a LocalContext (the floor);
         (b) cloud.invoke("EchoFunction"): boto3 Lambda Invoke -> moto -> the dispatcher;
         (c) GET /v1/echo/x through the local HTTP API with a valid token (httpx keep-alive):
             JWT check, the 2.0 event, (b), the response mapping;
         (d) the same with a token the authorizer refuses (signed by the issuer, another
             audience): 401 before any function runs;
         (e) a Step Functions execution of the echo machine, start_execution until
             describe_execution says SUCCEEDED (polled every --poll-ms);
         (f) events/InventoryFunction/describe_inbox.json through cloud.invoke (a real
             PostgreSQL round trip: tenant session, the sample inbox read).

How to read the tables
    Times are wall clock on a shared, noisy machine (its load average is in the header): read
    them as ratios within one run, not against another run. Table 1: min / median / max over
    the runs. Table 2: one column per run; the step rows add up to the total. Table 3: ms per
    request; "handler ms" is the median time inside the handler as the dispatcher recorded it
    (Dispatcher.invocations; for (a) the direct call itself, for (d) the number of functions
    invoked, which must be 0); "x (a)" is the path's median over (a)'s median. The background
    SQS pollers of the cloud (an empty queue polled every 0.25 s) run throughout, as under `up`.
    Nothing here asserts a time: the exit status is 1 only when something answered wrongly.

Run: .venv/bin/python -m bench.bench_local_cloud [--up-runs N] [--settle-s S]
     [--start-runs N] [--iterations K] [--executions N] [--warm-up N] [--poll-ms MS]
     (about a minute with the defaults: 3, 0.5, 2, 200, 30, 10, 5)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import queue
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Self

from local.aws_stack import AwsStack
from local.cloud import AUDIENCE, LocalCloud
from local.echo_stack import with_echo, write
from local.template import REPO_ROOT

READY_LINE = "Ctrl-C stops everything."
STOPPED_LINE = "stopped: nothing left running."
UP_FIGURE = re.compile(r"local cloud is up in (\d+(?:\.\d+)?)s")
READY_TARGET_S = 10.0
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0
EXECUTION_TIMEOUT_S = 30.0
WIDTH = 100

ECHO_EVENT = {"n": 1}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class BenchFailure(Exception):
    """Something answered wrongly: the figures would not mean what they say."""


# ---- 1. `up` as a subprocess ---------------------------------------------------------------


@dataclass
class UpRun:
    ready_s: float  # spawn -> the READY_LINE
    printed_s: float  # what `up` printed ("up in X.Xs")
    stop_s: float  # SIGINT -> exit
    code: int
    last_line: str
    group_gone: bool  # no process of its group left after the exit


def _pump(stream: IO[str]) -> queue.Queue[tuple[float, str] | None]:
    """Each line with the time it was read (None at the end of the stream)."""
    lines: queue.Queue[tuple[float, str] | None] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put((time.perf_counter(), line.rstrip("\n")))
        lines.put(None)

    threading.Thread(target=pump, name="up-stdout", daemon=True).start()
    return lines


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_up(settle_s: float) -> UpRun:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    spawned = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "local", "up"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives it
    )
    seen: list[str] = []
    clean = False
    try:
        assert process.stdout is not None
        lines = _pump(process.stdout)
        deadline = spawned + READY_TIMEOUT_S
        ready_at = None
        while ready_at is None:
            try:
                item = lines.get(timeout=max(0.0, deadline - time.perf_counter()))
            except queue.Empty:
                raise BenchFailure(f"`up` not ready in {READY_TIMEOUT_S:.0f} s: {seen}") from None
            if item is None:
                raise BenchFailure(f"`up` ended before it was ready: {seen[-10:]}")
            at, line = item
            seen.append(line)
            if line == READY_LINE:
                ready_at = at
        figure = next((m for line in seen if (m := UP_FIGURE.search(line))), None)
        if figure is None:
            raise BenchFailure(f"`up` printed no 'up in X.Xs': {seen}")
        api = next((line.split()[-1] for line in seen if line.startswith("  API ")), None)
        _check_api(api)
        # `up` installs its SIGINT handler just after printing the ready line: a SIGINT sent
        # the instant the line arrives can beat it (exit 130, no "stopped" line). A person
        # never presses Ctrl-C that fast; wait as one would, then stop it.
        time.sleep(max(0.0, ready_at + settle_s - time.perf_counter()))
        interrupted = time.perf_counter()
        os.killpg(process.pid, signal.SIGINT)
        code = process.wait(STOP_TIMEOUT_S)
        stop_s = time.perf_counter() - interrupted
        while (item := lines.get(timeout=STOP_TIMEOUT_S)) is not None:
            seen.append(item[1])
        group_gone = not _group_alive(process.pid)
        clean = code == 0 and group_gone
        return UpRun(
            ready_s=ready_at - spawned,
            printed_s=float(figure.group(1)),
            stop_s=stop_s,
            code=code,
            last_line=seen[-1],
            group_gone=group_gone,
        )
    finally:
        if not clean:  # whatever is left of its group goes
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(STOP_TIMEOUT_S)


def _check_api(api: str | None) -> None:
    """The API `up` printed answers (API Gateway's 404 for an unknown path): ready means
    serving. Not timed."""
    import httpx

    if api is None:
        raise BenchFailure("`up` printed no API URL")
    answer = httpx.get(f"{api}/nothing/here", timeout=10.0)
    if answer.status_code != 404 or answer.json() != {"message": "Not Found"}:
        raise BenchFailure(f"`up`'s API at {api}: {answer.status_code} {answer.text}")


def up_table(runs: list[UpRun], settle_s: float) -> list[str]:
    def row(what: str, values: list[float]) -> str:
        return f"{what:<58}{min(values):>9.2f}{statistics.median(values):>9.2f}{max(values):>9.2f}"

    ready = [r.ready_s for r in runs]
    met = sum(1 for r in ready if r <= READY_TARGET_S)
    verdict = "met" if met == len(runs) else "NOT MET"
    return [
        f"1. `python -m local up` as a subprocess, {len(runs)} run{'s' * (len(runs) != 1)} "
        "(own PostgreSQL each)",
        f"{'seconds':<58}{'min':>9}{'median':>9}{'max':>9}",
        "-" * WIDTH,
        row("ready: spawn -> 'Ctrl-C stops everything.' (wall)", ready),
        row("  the 'up in X.Xs' figure `up` prints itself", [r.printed_s for r in runs]),
        row(
            "  difference: interpreter start-up, CLI import",
            [r.ready_s - r.printed_s for r in runs],
        ),
        row(f"shutdown: SIGINT ({settle_s:g} s after ready) -> exit", [r.stop_s for r in runs]),
        "-" * WIDTH,
        f"READINESS: median {statistics.median(ready):.2f} s, worst {max(ready):.2f} s from "
        f"spawn to ready; target <= {READY_TARGET_S:.0f} s: {verdict} ({met}/{len(runs)} runs)",
        "exit codes "
        + ", ".join(str(r.code) for r in runs)
        + "; last line "
        + (
            "'stopped: nothing left running.'"
            if all(r.last_line == STOPPED_LINE for r in runs)
            else repr([r.last_line for r in runs])
        )
        + "; process group empty after exit: "
        + ("yes" if all(r.group_gone for r in runs) else "NO"),
    ]


# ---- 2. LocalCloud's start and close, step by step ------------------------------------------

# Each of LocalCloud's steps, by the method that begins it (the first one by start() itself).
START_STEPS = {
    "begin": "PostgreSQL start, scratch database, migrations, moto on",
    "_start_simulators": "simulators: Stripe, Hostwinds, VPS fleet, DNS, JWT issuer",
    "_deploy": "template deployed into moto, functions' environment",
    "_install_database": "functions' database installed",
    "_start_lambda": "handlers imported, Step Functions dispatcher",
    "_start_event_sources": "SQS event-source pollers",
    "_start_api": "HTTP API",
}
# At close, the callback registered just before a step runs once that step has stopped.
CLOSE_STEPS = {
    "_start_api": "HTTP API stopped",
    "_start_event_sources": "SQS pollers stopped",
    "_start_lambda": "dispatcher left (asynchronous invocations joined)",
    "_install_database": "functions' database closed",
    "_start_simulators": "simulators stopped",
    "end": "moto off, scratch database dropped, PostgreSQL stopped",
}


@dataclass
class Timeline:
    marks: list[tuple[str, float]] = field(default_factory=list)

    def mark(self, name: str) -> None:
        self.marks.append((name, time.perf_counter()))

    def steps(self) -> dict[str, float]:
        """Each step's time by the mark that begins it (the start's steps)."""
        return {
            name: later - earlier
            for (name, earlier), (_, later) in zip(self.marks, self.marks[1:], strict=False)
        }

    def ending_steps(self) -> dict[str, float]:
        """Each step's time by the mark that ends it (the close's steps)."""
        return {
            name: later - earlier
            for (_, earlier), (name, later) in zip(self.marks, self.marks[1:], strict=False)
        }

    @property
    def total(self) -> float:
        return self.marks[-1][1] - self.marks[0][1]


class PhasedCloud(LocalCloud):
    """LocalCloud with the time marked at the seams of its start and close. Its own steps are
    untouched: each override marks, then calls LocalCloud's. Should a step method be renamed,
    its override is simply never called: its row goes, the totals stay right."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.started = Timeline()
        self.closed = Timeline()

    def start(self) -> Self:
        self.started.mark("begin")
        super().start()
        self.started.mark("ready")
        return self

    def close(self) -> None:
        self.closed.mark("begin")
        super().close()
        self.closed.mark("end")

    def _seam(self, stack: ExitStack, step: str) -> None:
        self.started.mark(step)
        stack.callback(self.closed.mark, step)

    def _start_simulators(self, stack: ExitStack) -> None:
        self._seam(stack, "_start_simulators")
        super()._start_simulators(stack)

    def _deploy(self) -> AwsStack:
        self.started.mark("_deploy")
        return super()._deploy()

    def _install_database(self, stack: ExitStack) -> None:
        self._seam(stack, "_install_database")
        super()._install_database(stack)

    def _start_lambda(self, stack: ExitStack) -> None:
        self._seam(stack, "_start_lambda")
        super()._start_lambda(stack)

    def _start_event_sources(self, stack: ExitStack) -> None:
        self._seam(stack, "_start_event_sources")
        super()._start_event_sources(stack)

    def _start_api(self, stack: ExitStack) -> None:
        self._seam(stack, "_start_api")
        super()._start_api(stack)


def database_steps() -> dict[str, float]:
    """PostgreSQL's part of a start and close, timed on its own."""
    from inboxfleet.db.connection import resolve_flavor
    from inboxfleet.db.migrator import migrate
    from local.embedded_db import postgres_server, scratch_database

    times: dict[str, float] = {}
    at = time.perf_counter()

    def lap(what: str) -> None:
        nonlocal at
        now = time.perf_counter()
        times[what] = now - at
        at = now

    with postgres_server() as server:
        lap("PostgreSQL start")
        with scratch_database(server, "bench") as url:
            lap("scratch database created")
            migrate(url, resolve_flavor("auto", url))
            lap("migrations applied")
        lap("scratch database dropped")
    lap("PostgreSQL stopped")
    return times


def start_runs(runs: int) -> list[PhasedCloud]:
    clouds = []
    for _ in range(runs):
        cloud = PhasedCloud(log_level="WARNING")
        with cloud:
            pass
        clouds.append(cloud)
    return clouds


def start_table(clouds: list[PhasedCloud], apart: dict[str, float]) -> list[str]:
    runs = "".join(f"{f'run {i}':>9}" for i in range(1, len(clouds) + 1))

    def row(what: str, values: list[float]) -> str:
        return f"{what:<64}" + "".join(f"{v:>9.2f}" for v in values)

    lines = [
        "2. LocalCloud in this process: template.yaml, own PostgreSQL; run 1 pays the first "
        "imports",
        f"{'seconds':<64}{runs}",
        "-" * WIDTH,
        row("start, total", [c.started.total for c in clouds]),
    ]
    for step, label in START_STEPS.items():
        values = [c.started.steps().get(step) for c in clouds]
        if all(v is not None for v in values):
            lines.append(row(f"  {label}", [v for v in values if v is not None]))
    lines.append(row("close, total", [c.closed.total for c in clouds]))
    for step, label in CLOSE_STEPS.items():
        values = [c.closed.ending_steps().get(step) for c in clouds]
        if all(v is not None for v in values):
            lines.append(row(f"  {label}", [v for v in values if v is not None]))
    lines.append("-" * WIDTH)
    lines.append(
        "PostgreSQL's part timed apart (once, in this process, before the clouds), seconds:"
    )
    parts = [f"{what} {seconds:.2f}" for what, seconds in apart.items()]
    lines.append("  " + ", ".join(parts[:3]) + ",")
    lines.append("  " + ", ".join(parts[3:]))
    return lines


# ---- 3. request paths on one running cloud --------------------------------------------------


def bench_template(folder: Path) -> Path:
    """template.yaml plus the echo function on a JWT route and the one-state machine."""
    return write(with_echo(), folder)


@dataclass
class PathResult:
    label: str
    times: list[float]
    handler_ms: float | None = None  # median inside the handler (dispatcher's record)
    invoked: int | None = None  # functions invoked during the timed iterations


def timed(call: Callable[[], None], iterations: int, warm_up: int) -> list[float]:
    for _ in range(warm_up):
        call()
    times = []
    for _ in range(iterations):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


class Paths:
    """One call of each request path, checking its answer (a wrong answer stops the bench)."""

    def __init__(self, cloud: LocalCloud, client: Any, poll_s: float) -> None:
        import boto3

        from local.account import REGION
        from local.samples import SAMPLE_TENANT_ID
        from local.template import functions, load_handler

        self.cloud = cloud
        self.client = client  # an httpx.Client on the API, keep-alive
        self.poll_s = poll_s
        self.echo = cloud.function("EchoFunction").name
        self.inventory = cloud.function("InventoryFunction").name
        spec = next(
            s for s in functions(cloud.template, cloud.root) if s.logical_id == "EchoFunction"
        )
        self.handler = load_handler(spec)  # the very callable the dispatcher runs
        self.token = cloud.token(SAMPLE_TENANT_ID)
        claims = {str(cloud.aws.stack.parameter("TenantClaim")): str(SAMPLE_TENANT_ID)}
        # Signed by the cloud's issuer, for someone else: refused on its audience, after the
        # signature is checked.
        self.refused = cloud.issuer.mint(claims, audience=f"not-{AUDIENCE}")
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.machine = cloud.aws.state_machines["EchoMachine"]
        self.describe = json.loads(
            (REPO_ROOT / "events/InventoryFunction/describe_inbox.json").read_text()
        )

    def direct(self) -> None:
        from local.invoke import LocalContext

        answer = self.handler(ECHO_EVENT, LocalContext(function_name=self.echo))
        if answer != {"echoed": ECHO_EVENT}:
            raise BenchFailure(f"(a) echo answered {answer!r}")

    def invoke(self) -> None:
        answer = self.cloud.invoke("EchoFunction", ECHO_EVENT)
        if not answer.ok or answer.payload != {"echoed": ECHO_EVENT}:
            raise BenchFailure(f"(b) EchoFunction answered {answer!r}")

    def http_ok(self) -> None:
        answer = self.client.get("/v1/echo/x", headers={"authorization": f"Bearer {self.token}"})
        if answer.status_code != 200:
            raise BenchFailure(f"(c) GET /v1/echo/x: {answer.status_code} {answer.text}")

    def http_refused(self) -> None:
        answer = self.client.get("/v1/echo/x", headers={"authorization": f"Bearer {self.refused}"})
        if answer.status_code != 401:
            raise BenchFailure(f"(d) GET /v1/echo/x: {answer.status_code} {answer.text}")

    def execution(self) -> None:
        arn = self.sfn.start_execution(
            stateMachineArn=self.machine,
            name=f"bench-{uuid.uuid4().hex}",
            input=json.dumps(ECHO_EVENT),
        )["executionArn"]
        deadline = time.monotonic() + EXECUTION_TIMEOUT_S
        while (done := self.sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            if time.monotonic() > deadline:
                raise BenchFailure(f"(e) execution still running after {EXECUTION_TIMEOUT_S} s")
            time.sleep(self.poll_s)
        if done["status"] != "SUCCEEDED" or json.loads(done["output"]) != {"echoed": ECHO_EVENT}:
            raise BenchFailure(f"(e) execution ended {done['status']}: {done.get('output')}")

    def inventory_call(self) -> None:
        from local.samples import SAMPLE_INBOX_ID

        answer = self.cloud.invoke("InventoryFunction", self.describe)
        if not answer.ok or answer.payload["inbox"]["id"] != str(SAMPLE_INBOX_ID):
            raise BenchFailure(f"(f) InventoryFunction answered {answer!r}")


def request_paths(
    cloud: LocalCloud, iterations: int, executions: int, warm_up: int, poll_s: float
) -> list[PathResult]:
    import httpx

    from local.samples import seed_sample

    seed_sample()
    results: list[PathResult] = []

    def measure(
        label: str, call: Callable[[], None], function: str | None, n: int = iterations
    ) -> None:
        timed(call, warm_up, 0)
        before = len(cloud.lambdas.invocations)
        times = timed(call, n, 0)
        ran = cloud.lambdas.invocations[before:]
        mine = [i.duration_s * 1000 for i in ran if i.function_name == function]
        results.append(
            PathResult(
                label,
                times,
                handler_ms=statistics.median(mine) if mine else None,
                invoked=len(ran) if function is None else None,
            )
        )

    with httpx.Client(base_url=cloud.api_url, timeout=30.0) as client:
        paths = Paths(cloud, client, poll_s)
        # (a) has no dispatcher record: its handler figure is the call itself.
        times = timed(paths.direct, iterations, warm_up)
        results.append(
            PathResult("(a) echo handler, direct call", times, statistics.median(times) * 1000)
        )
        measure("(b) cloud.invoke: Invoke -> moto -> dispatcher", paths.invoke, paths.echo)
        measure("(c) HTTP API, valid JWT: 200", paths.http_ok, paths.echo)
        measure("(d) HTTP API, refused JWT: 401", paths.http_refused, None)
        measure(
            "(e) Step Functions: start -> SUCCEEDED",
            paths.execution,
            paths.echo,
            n=executions,
        )
        measure(
            "(f) InventoryFunction describe_inbox (DB)",
            paths.inventory_call,
            paths.inventory,
        )
    return results


def paths_table(
    results: list[PathResult], start_s: float, close_s: float, poll_ms: float, warm_up: int
) -> list[str]:
    floor = statistics.median(results[0].times)
    lines = [
        "3. Request paths on one running cloud (template.yaml + echo function and machine), "
        "one request at a time",
        f"{'path':<47}{'n':>5}{'min':>8}{'median':>8}{'p95':>8}{'max':>8}{'handler':>9}"
        f"{'x (a)':>7}",
        f"{'':<47}{'':>5}{'ms':>8}{'ms':>8}{'ms':>8}{'ms':>8}{'ms':>9}",
        "-" * WIDTH,
    ]
    for r in results:
        ms = sorted(t * 1000 for t in r.times)
        if r.handler_ms is not None:
            handler = f"{r.handler_ms:>9.3f}"
        elif r.invoked is not None:
            handler = f"{f'{r.invoked} ran':>9}"
        else:
            handler = f"{'-':>9}"
        median = statistics.median(ms)
        lines.append(
            f"{r.label:<47}{len(ms):>5}{ms[0]:>8.3f}{median:>8.3f}{percentile(ms, 0.95):>8.3f}"
            f"{ms[-1]:>8.3f}{handler}{median / (floor * 1000):>7,.0f}"
        )
    lines.append("-" * WIDTH)
    lines.append(
        f"this cloud: start {start_s:.2f} s, close {close_s:.2f} s (imports warm after table 2); "
        f"{warm_up} warm-up iterations\nper path; (e) polled every {poll_ms:g} ms; SQS pollers "
        "running (an empty queue polled every 0.25 s)"
    )
    return lines


# ---- main -------------------------------------------------------------------------------------


def header(args: argparse.Namespace) -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    database = f"PG_BINDIR={os.environ['PG_BINDIR']}" if os.environ.get("PG_BINDIR") else "embedded"
    return (
        f"Local cloud: Python {platform.python_version()} on {platform.system()} "
        f"{platform.machine()}, os.cpu_count()={os.cpu_count()}, load average {load} at the "
        "start\n"
        f"(a shared, noisy machine: compare within this run); PostgreSQL {database}; "
        f"up runs {args.up_runs}, start runs {args.start_runs}, K={args.iterations}, "
        f"executions {args.executions}"
    )


@contextlib.contextmanager
def in_process_settings() -> Iterator[None]:
    """This process's settings while its clouds run, restored afterwards: the functions as
    `inboxfleet-local` runs them (no CloudWatch, so no metrics on stdout)."""
    from local.cloud import environment

    with environment({"POWERTOOLS_METRICS_DISABLED": "true"}):
        yield


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_local_cloud", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--up-runs", type=int, default=3, help="`up` subprocess runs (0: skip)")
    parser.add_argument(
        "--settle-s", type=float, default=0.0, help="pause between `up` ready and its SIGINT"
    )
    parser.add_argument("--start-runs", type=int, default=2, help="in-process start/close runs")
    parser.add_argument("--iterations", type=int, default=200, help="K per request path")
    parser.add_argument("--executions", type=int, default=30, help="Step Functions executions")
    parser.add_argument("--warm-up", type=int, default=10, help="untimed iterations per path")
    parser.add_argument("--poll-ms", type=float, default=5.0, help="describe_execution interval")
    args = parser.parse_args(argv)
    if args.iterations < 1 or args.executions < 1 or args.start_runs < 0 or args.up_runs < 0:
        parser.error("--iterations and --executions must be >= 1, runs >= 0")

    # As for `up`: this process starts its own PostgreSQL too.
    for name in [k for k in os.environ if k.startswith("DATABASE_")]:
        del os.environ[name]
    print(header(args), flush=True)
    try:
        if args.up_runs:
            runs = [run_up(args.settle_s) for _ in range(args.up_runs)]
            print("\n" + "\n".join(up_table(runs, args.settle_s)), flush=True)
            if any(r.code != 0 or not r.group_gone or r.last_line != STOPPED_LINE for r in runs):
                raise BenchFailure("`up` did not stop cleanly")
        with in_process_settings():
            if args.start_runs:
                apart = database_steps()
                clouds = start_runs(args.start_runs)
                print("\n" + "\n".join(start_table(clouds, apart)), flush=True)
            with tempfile.TemporaryDirectory(prefix="inboxfleet-bench-") as folder:
                cloud = PhasedCloud(template_path=bench_template(Path(folder)), log_level="WARNING")
                with cloud:
                    results = request_paths(
                        cloud,
                        args.iterations,
                        args.executions,
                        args.warm_up,
                        args.poll_ms / 1000,
                    )
            print(
                "\n"
                + "\n".join(
                    paths_table(
                        results, cloud.started.total, cloud.closed.total, args.poll_ms, args.warm_up
                    )
                ),
                flush=True,
            )
    except BenchFailure as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
