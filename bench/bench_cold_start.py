"""Cold-start import cost of every Lambda handler, against the libraries it truly needs.

What it measures
    For each folder functions/<name>/app.py, the time to `import app` and fetch `lambda_handler`
    in a brand-new interpreter (the work a Lambda cold start does before the first invocation),
    and, in the same way, the time to import only the third-party libraries that handler
    declares it needs (DECLARED_NEEDS below). Each figure is timed inside the child process
    with time.perf_counter(), so interpreter start-up is not included; it is measured once on
    its own ("python -c pass", wall clock) and shown above the table for scale.

How it runs
    Every run is a fresh `python -X frozen_modules=on -c ...` with a Lambda-like environment:
    LAMBDA_TASK_ROOT and AWS_LAMBDA_FUNCTION_NAME set (so Powertools Tracer is *enabled* and its
    real cost is paid), POWERTOOLS_SERVICE_NAME=inboxfleet, region us-east-1, dummy credentials,
    instance metadata disabled: nothing reaches the network or a database. Handler and needs
    runs alternate (handler, needs, handler, needs, ...) so drifting machine noise hits both
    alike; one discarded warm-up of each comes first so byte-code caches and the OS page cache
    are warm and run 1 is not an outlier. Bytecode is never written (PYTHONDONTWRITEBYTECODE),
    as in Lambda's read-only /var/task: our modules are compiled from source each run, while
    installed libraries use the .pyc files pip wrote. Note: an enabled X-Ray SDK touches
    /tmp/.aws-xray/initialized, exactly as it does in Lambda.

How to read the table
    handler ms      min / median / max of importing the handler module.
    needs ms        median of importing the declared third-party needs alone.
    overhead ms     handler median minus needs median: what our own code adds on top of the
                    libraries (our modules, pydantic schema building, Logger/Tracer set-up and
                    anything those drag in that the handler does not need).
    unexpected      watch-list libraries in sys.modules after importing the handler but not
                    after importing its needs: heavy imports on the cold path that the handler
                    never asked for. Empty is the goal.

Run: .venv/bin/python bench/bench_cold_start.py [--runs N]   (exit 1 if any import fails)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = ROOT / "functions"
sys.path.insert(0, str(ROOT))  # run as a plain file: make the repo's `local` package importable

from local.template import load_template  # noqa: E402

WATCH_LIST: tuple[str, ...] = (
    "boto3",
    "botocore",
    "stripe",
    "paramiko",
    "dns",
    "httpx",
    "cryptography",
    "aws_xray_sdk",
    "psycopg",
    "pydantic",
)

# What each handler truly needs at import time, as the code reads today. An entry is either
# "package.module" (-> `import package.module`) or "package:Name,Other" (-> `from package import
# Name, Other`); the second form matters for packages with lazy roots such as pydantic, whose bare
# `import pydantic` loads almost nothing until a name like BaseModel is touched.
# What every handler needs: the Powertools wrapping (inboxfleet.observability: the handler is
# wrapped by logger.inject_lambda_context and tracer.capture_lambda_handler; the package root
# also loads Metrics and botocore, its user-agent hook: unavoidable), LambdaContext (app.py
# annotates the handler at run time), the X-Ray recorder (an enabled Tracer binds it when it is
# constructed) and pydantic (commands, rows, settings).
EVERY_HANDLER = [
    "aws_lambda_powertools:Logger,Metrics,Tracer",
    "aws_lambda_powertools.utilities.typing:LambdaContext",
    "aws_xray_sdk.core:xray_recorder",
    "pydantic:BaseModel,ConfigDict,Field,SecretStr,TypeAdapter,ValidationError",
]
# inboxfleet.db: connections (conninfo), sessions (sql literals, class_row), Jsonb columns.
DATABASE = [
    "psycopg",
    "psycopg.conninfo",
    "psycopg.rows",
    "psycopg.sql",
    "psycopg.types.json",
]
DECLARED_NEEDS: dict[str, list[str]] = {
    # Every action runs SQL in a tenant session.
    "inventory": [*EVERY_HANDLER, *DATABASE],
    # The Hostwinds API client: one httpx.Client per container. boto3 (the API key from
    # Secrets Manager) is imported on first use only, inside the first invocation.
    "hostwinds": [*EVERY_HANDLER, "httpx"],
    # Every verification and delegation check speaks DNS (dnspython's async query path).
    # boto3 (Route 53), psycopg (storing the report) and idna load on first use.
    "dns": [*EVERY_HANDLER, "dns.asyncquery", "dns.message", "dns.reversename"],
    # Every action opens one SSH connection (paramiko, which brings cryptography); the DKIM
    # check loads the key with cryptography. boto3 (platform key, KMS) and httpx (local
    # address book only) load on first use.
    "mailu_installer": [
        *EVERY_HANDLER,
        "paramiko",
        "cryptography.hazmat.primitives.serialization:load_der_public_key",
        "http.client",
    ],
    # Every verified delivery is checked against and recorded in stripe_events. The signature
    # is plain hmac (no stripe SDK); boto3 (secrets, SQS) loads on first use.
    "stripe_webhook": [*EVERY_HANDLER, *DATABASE],
    # The FIFO partial-batch processor and the SQS record it hands over; every event is applied
    # in a tenant session. stripe (re-fetches, customer lookups) and boto3 (SES, secrets) load
    # on first use: most events need neither.
    "billing_events": [
        *EVERY_HANDLER,
        "aws_lambda_powertools.utilities.batch:SqsFifoPartialProcessor,process_partial_response",
        "aws_lambda_powertools.utilities.data_classes.sqs_event:SQSRecord",
        *DATABASE,
    ],
}

RESULT_PREFIX = "BENCH_RESULT "
CHILD_TIMEOUT_S = 120
STDERR_TAIL_LINES = 15
TABLE_WIDTH = 100
_NEED = re.compile(r"^[A-Za-z_][\w.]*(:[A-Za-z_]\w*(,[A-Za-z_]\w*)*)?$")

# Interpreter options that distort import timings if inherited from the caller's shell.
_DISTORTING_ENV = (
    "PYTHONPROFILEIMPORTTIME",
    "PYTHONDEVMODE",
    "PYTHONTRACEMALLOC",
    "PYTHONVERBOSE",
    # Either would switch the Tracer off and hide its real cost.
    "POWERTOOLS_TRACE_DISABLED",
    "AWS_SAM_LOCAL",
    "AWS_CHALICE_CLI_MODE",
    # A named profile could send botocore to a real config; dummy keys below must win.
    "AWS_PROFILE",
)


class BenchError(Exception):
    """A child interpreter failed; the message carries the tail of its stderr."""


@dataclass
class Samples:
    seconds: list[float] = field(default_factory=list)
    loaded: set[str] = field(default_factory=set)
    error: str | None = None

    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000


@dataclass
class FunctionResult:
    name: str
    needs: list[str] | None
    handler: Samples = field(default_factory=Samples)
    needs_samples: Samples = field(default_factory=Samples)

    @property
    def failed(self) -> bool:
        return self.handler.error is not None or self.needs_samples.error is not None


def discover_functions() -> list[str]:
    return sorted(p.parent.name for p in FUNCTIONS_DIR.glob("*/app.py"))


def template_globals_env() -> dict[str, str]:
    """The literal environment template.yaml gives every function (references resolve only in
    AWS and are left out): the bench measures what Lambda runs, settings included."""
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    return {k: v for k, v in variables.items() if isinstance(v, str)}


def lambda_env(name: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DISTORTING_ENV}
    env.update(template_globals_env())
    env.update(
        {
            # Powertools and the X-Ray SDK decide "am I in Lambda?" from LAMBDA_TASK_ROOT.
            "LAMBDA_TASK_ROOT": str(FUNCTIONS_DIR / name),
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "POWERTOOLS_SERVICE_NAME": "inboxfleet",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            # /var/task is read-only in Lambda, so our own modules compile on every cold start;
            # pinning this also keeps the bench from writing __pycache__ into the repo.
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def need_statement(need: str) -> str:
    if not _NEED.match(need):
        raise ValueError(f"malformed DECLARED_NEEDS entry {need!r}")
    module, _, names = need.partition(":")
    return f"from {module} import {', '.join(names.split(','))}" if names else f"import {module}"


def child_code(function_dir: Path, imports: Sequence[str]) -> str:
    """The child's program: only `imports` sit between the two clock readings. json is loaded
    after the second one so it cannot pre-pay for anything the measured imports use."""
    body = "\n".join(imports) or "pass"
    return (
        "import sys, time\n"
        f"sys.path.insert(0, {str(function_dir)!r})\n"
        "t = time.perf_counter()\n"
        f"{body}\n"
        "elapsed = time.perf_counter() - t\n"
        "import json\n"
        f"loaded = [m for m in {WATCH_LIST!r} if m in sys.modules]\n"
        f"print({RESULT_PREFIX!r} + json.dumps({{'seconds': elapsed, 'loaded': loaded}}))\n"
    )


def handler_code(name: str) -> str:
    return child_code(FUNCTIONS_DIR / name, ["import app", "app.lambda_handler"])


def needs_code(name: str, needs: Sequence[str]) -> str:
    return child_code(FUNCTIONS_DIR / name, [need_statement(n) for n in needs])


def stderr_tail(stderr: str) -> str:
    return "\n".join(stderr.strip().splitlines()[-STDERR_TAIL_LINES:])


def run_child(code: str, name: str) -> tuple[float, set[str]]:
    try:
        proc = subprocess.run(
            [sys.executable, "-X", "frozen_modules=on", "-c", code],
            capture_output=True,
            text=True,
            env=lambda_env(name),
            # Lambda runs with the function's code folder as working directory.
            cwd=FUNCTIONS_DIR / name,
            timeout=CHILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"timed out after {CHILD_TIMEOUT_S} s") from None
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        raise BenchError(f"exit code {proc.returncode}\n{stderr_tail(proc.stderr)}")
    payload = json.loads(lines[-1].removeprefix(RESULT_PREFIX))
    return float(payload["seconds"]), {str(m) for m in payload["loaded"]}


def sample(samples: Samples, code: str, name: str, *, keep: bool = True) -> None:
    if samples.error is not None:
        return  # one failure is enough: repeating it only repeats the traceback
    try:
        seconds, loaded = run_child(code, name)
    except BenchError as exc:
        samples.error = str(exc)
        return
    if keep:
        samples.seconds.append(seconds)
        samples.loaded |= loaded


def measure(names: Sequence[str], runs: int) -> list[FunctionResult]:
    results = [FunctionResult(n, DECLARED_NEEDS.get(n)) for n in names]
    for round_no in range(runs + 1):
        warm_up = round_no == 0
        for r in results:
            sample(r.handler, handler_code(r.name), r.name, keep=not warm_up)
            if r.needs is not None:
                sample(r.needs_samples, needs_code(r.name, r.needs), r.name, keep=not warm_up)
    return results


def interpreter_start_ms(runs: int) -> float:
    walls: list[float] = []
    for _ in range(runs + 1):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-X", "frozen_modules=on", "-c", "pass"], check=True)
        walls.append(time.perf_counter() - t)
    return statistics.median(walls[1:]) * 1000  # the first one only warms the caches


COLUMNS = (
    ("function", 16, "<"),
    ("handler ms min/med/max", 22, ">"),
    ("needs ms med", 12, ">"),
    ("overhead ms", 11, ">"),
)
GAP = "  "


def row(cells: Sequence[str], unexpected: str) -> list[str]:
    fixed = GAP.join(
        f"{c:{align}{width}}" for c, (_, width, align) in zip(cells, COLUMNS, strict=True)
    )
    room = TABLE_WIDTH - len(fixed) - len(GAP)
    wrapped = textwrap.wrap(unexpected, room) or [""]
    indent = " " * (len(fixed) + len(GAP))
    return [f"{fixed}{GAP}{wrapped[0]}".rstrip()] + [indent + w for w in wrapped[1:]]


def result_rows(r: FunctionResult) -> list[str]:
    if r.handler.error is not None:
        return row([r.name, "IMPORT FAILED", "-", "-"], "see stderr")
    ms = [s * 1000 for s in r.handler.seconds]
    timing = f"{min(ms):.1f}/{statistics.median(ms):.1f}/{max(ms):.1f}"
    if r.needs is None:
        return row([r.name, timing, "-", "-"], "no DECLARED_NEEDS entry")
    if r.needs_samples.error is not None:
        return row([r.name, timing, "FAILED", "-"], "declared needs failed to import")
    needs_ms = r.needs_samples.median_ms()
    overhead = r.handler.median_ms() - needs_ms
    extra = [m for m in WATCH_LIST if m in r.handler.loaded - r.needs_samples.loaded]
    return row([r.name, timing, f"{needs_ms:.1f}", f"{overhead:+.1f}"], ", ".join(extra) or "-")


def render(results: Sequence[FunctionResult], start_ms: float, runs: int) -> str:
    header = row([title for title, _, _ in COLUMNS], "unexpected heavy modules")
    lines = [
        f"Cold-start import cost per Lambda handler (fresh interpreter per run, N={runs})",
        f"interpreter start alone (python -c pass, wall clock, median): {start_ms:.1f} ms",
        "",
        *header,
        "-" * TABLE_WIDTH,
    ]
    for r in results:
        lines.extend(result_rows(r))
    lines += [
        "-" * TABLE_WIDTH,
        "overhead = handler median - needs median (our code); unexpected = watch-list modules",
        "loaded by the handler but not by its declared needs.",
        f"Python {platform.python_version()} ({platform.python_implementation()}, "
        f"{platform.machine()}), os.cpu_count()={os.cpu_count()}, runs={runs} (+1 warm-up)",
    ]
    return "\n".join(lines)


def report_failures(results: Sequence[FunctionResult]) -> None:
    for r in results:
        for what, s in (("handler", r.handler), ("declared needs", r.needs_samples)):
            if s.error is not None:
                print(f"\n{r.name}: {what} failed to import: {s.error}", file=sys.stderr)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7, help="runs per measurement (>= 5)")
    args = parser.parse_args(argv)
    if args.runs < 5:
        parser.error("--runs must be at least 5: a median of fewer is mostly noise")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    runs: int = parse_args(argv).runs
    names = discover_functions()
    if not names:
        print(f"no functions found under {FUNCTIONS_DIR}/*/app.py", file=sys.stderr)
        return 1
    start_ms = interpreter_start_ms(runs)
    results = measure(names, runs)
    print(render(results, start_ms, runs))
    report_failures(results)
    return 1 if any(r.failed for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
