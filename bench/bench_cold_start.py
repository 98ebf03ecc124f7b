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
    instance metadata disabled: nothing reaches the network or a database. As in Lambda, the
    working directory and sys.path[0] are the function's folder and the layer (layers/common)
    is on PYTHONPATH. Handler and needs runs alternate (handler, needs, handler, needs, ...) so
    drifting machine noise hits both alike; one discarded warm-up of each comes first so
    byte-code caches and the OS page cache are warm and run 1 is not an outlier. Bytecode is
    never written (PYTHONDONTWRITEBYTECODE), as in Lambda's read-only /var/task: our modules are
    compiled from source each run, while installed libraries use the .pyc files pip wrote.
    Note: an enabled X-Ray SDK touches /tmp/.aws-xray/initialized, exactly as it does in Lambda.

Against an earlier revision (--against REV)
    A noisy machine makes two separate runs hard to compare, so both trees are measured in the
    same run. REV's functions/, layers/common/ and template.yaml are extracted (git archive)
    into a temporary directory, removed afterwards. Its children run exactly like ours but
    from its folders: cwd and sys.path[0] its functions/<name>, PYTHONPATH its layers/common
    (ahead of the editable install's path, so its `inboxfleet` shadows ours: checked before
    measuring, the run stops if either tree imports the other's package), the Globals
    environment of its template.yaml. Third-party libraries are the venv's for both. Per round
    and function the two handlers run back to back, the tree going first swapping every round
    (new, old, old, new, ...), then the needs. A function only one tree has shows "-" for the
    other.

How to read the table
    handler ms      min / median / max of importing the handler module.
    needs ms        median of importing the declared third-party needs alone.
    overhead ms     handler median minus needs median: what our own code adds on top of the
                    libraries (our modules, pydantic schema building, Logger/Tracer set-up and
                    anything those drag in that the handler does not need).
    unexpected      watch-list libraries in sys.modules after importing the handler but not
                    after importing its needs: heavy imports on the cold path that the handler
                    never asked for. Empty is the goal.
    With --against REV, also:
    REV ms          min / median / max of importing REV's handler.
    new/old         handler median / REV median.
    verdict         "slower" when new/old > NOISE_MARGIN (1.10) and the medians are each outside
                    the other tree's min-max range; "faster" the mirror image; else "same".

Run: .venv/bin/python -m bench.bench_cold_start [--runs N] [--against REV]
     (exit 1 if any import fails or, with --against, any handler is slower)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from local.template import REPO_ROOT, load_template

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
    # The resolver with validation (its OpenAPI models) is built on the first request; every
    # tenant route reads in a tenant session.
    "tenant_api": [
        *EVERY_HANDLER,
        "aws_lambda_powertools.event_handler:APIGatewayHttpResolver,Response",
        "aws_lambda_powertools.event_handler.openapi.exceptions:RequestValidationError",
        *DATABASE,
    ],
}


RESULT_PREFIX = "BENCH_RESULT "
CHILD_TIMEOUT_S = 120
STDERR_TAIL_LINES = 15
_NEED = re.compile(r"^[A-Za-z_][\w.]*(:[A-Za-z_]\w*(,[A-Za-z_]\w*)*)?$")

# What a cold start reads from a revision: --against extracts only these.
BASELINE_PATHS = ("functions", "layers/common", "template.yaml")
# --against: how much slower a handler's median must be before it counts as slower. 10% of a
# ~300 ms import is 30 ms, a cost worth a look. The ratio alone is no verdict on a shared
# machine: f739963 measured against itself (N=7, 2 CPUs busy with other work) gave median ratios
# from 0.76 to 1.20 with overlapping min-max ranges, so "slower" also needs each median outside
# the other tree's range. A "same" on such a machine means "not distinguishable": raise --runs.
NOISE_MARGIN = 1.10

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


@dataclass(frozen=True)
class Tree:
    """A source tree whose handlers are measured: this checkout, or a revision extracted."""

    label: str
    root: Path
    commit: str | None = None  # None: the working tree as it is

    @property
    def functions_dir(self) -> Path:
        return self.root / "functions"

    @property
    def layer_dir(self) -> Path:
        return self.root / "layers" / "common"

    def functions(self) -> list[str]:
        return sorted(p.parent.name for p in self.functions_dir.glob("*/app.py"))

    def has(self, name: str) -> bool:
        return (self.functions_dir / name / "app.py").is_file()


CURRENT = Tree("new", REPO_ROOT)


@dataclass
class Samples:
    seconds: list[float] = field(default_factory=list)
    loaded: set[str] = field(default_factory=set)
    error: str | None = None

    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    def min_ms(self) -> float:
        return min(self.seconds) * 1000

    def max_ms(self) -> float:
        return max(self.seconds) * 1000

    def timing(self) -> str:
        return f"{self.min_ms():.1f}/{self.median_ms():.1f}/{self.max_ms():.1f}"


@dataclass
class FunctionResult:
    name: str
    needs: list[str] | None
    handler: Samples | None  # None: only the --against revision has this function
    needs_samples: Samples = field(default_factory=Samples)
    baseline: Samples | None = None  # the --against revision's handler, if it has one

    @property
    def failed(self) -> bool:
        return any(
            s is not None and s.error is not None
            for s in (self.handler, self.needs_samples, self.baseline)
        )

    def verdict(self) -> str | None:
        """new vs old: "slower", "faster" or "same"; None when either is missing or failed."""
        new, old = self.handler, self.baseline
        if new is None or old is None or new.error is not None or old.error is not None:
            return None
        new_med, old_med = new.median_ms(), old.median_ms()
        ratio = new_med / old_med
        if ratio > NOISE_MARGIN and new_med > old.max_ms() and old_med < new.min_ms():
            return "slower"
        if ratio < 1 / NOISE_MARGIN and new_med < old.min_ms() and old_med > new.max_ms():
            return "faster"
        return "same"


@cache
def template_globals_env(template: Path) -> dict[str, str]:
    """The literal environment a template.yaml gives every function (references resolve only
    in AWS and are left out): the bench measures what Lambda runs, settings included."""
    variables = load_template(template)["Globals"]["Function"]["Environment"]["Variables"]
    return {k: v for k, v in variables.items() if isinstance(v, str)}


def lambda_env(tree: Tree, name: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DISTORTING_ENV}
    env.update(template_globals_env(tree.root / "template.yaml"))
    env.update(
        {
            # Powertools and the X-Ray SDK decide "am I in Lambda?" from LAMBDA_TASK_ROOT.
            "LAMBDA_TASK_ROOT": str(tree.functions_dir / name),
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
            # Lambda puts the layer on PYTHONPATH. This tree's layer is also on sys.path through
            # the editable install's .pth entry, which comes later: an extracted revision's
            # `inboxfleet` shadows it (verify_origins checks).
            "PYTHONPATH": str(tree.layer_dir),
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


def handler_code(tree: Tree, name: str) -> str:
    return child_code(tree.functions_dir / name, ["import app", "app.lambda_handler"])


def needs_code(name: str, needs: Sequence[str]) -> str:
    return child_code(CURRENT.functions_dir / name, [need_statement(n) for n in needs])


def origin_code(function_dir: Path) -> str:
    """Where a child finds `inboxfleet` and `app` (nothing timed)."""
    return (
        "import importlib.util, json, sys\n"
        f"sys.path.insert(0, {str(function_dir)!r})\n"
        "import inboxfleet\n"
        "app = importlib.util.find_spec('app')\n"
        "origins = {'inboxfleet': inboxfleet.__file__, 'app': app.origin if app else None}\n"
        f"print({RESULT_PREFIX!r} + json.dumps(origins))\n"
    )


def stderr_tail(stderr: str) -> str:
    return "\n".join(stderr.strip().splitlines()[-STDERR_TAIL_LINES:])


def run_child(code: str, tree: Tree, name: str) -> dict[str, Any]:
    try:
        proc = subprocess.run(
            [sys.executable, "-X", "frozen_modules=on", "-c", code],
            capture_output=True,
            text=True,
            env=lambda_env(tree, name),
            # Lambda runs with the function's code folder as working directory.
            cwd=tree.functions_dir / name,
            timeout=CHILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"timed out after {CHILD_TIMEOUT_S} s") from None
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        raise BenchError(f"exit code {proc.returncode}\n{stderr_tail(proc.stderr)}")
    payload: dict[str, Any] = json.loads(lines[-1].removeprefix(RESULT_PREFIX))
    return payload


def sample(samples: Samples, code: str, tree: Tree, name: str, *, keep: bool = True) -> None:
    if samples.error is not None:
        return  # one failure is enough: repeating it only repeats the traceback
    try:
        payload = run_child(code, tree, name)
    except BenchError as exc:
        samples.error = str(exc)
        return
    if keep:
        samples.seconds.append(float(payload["seconds"]))
        samples.loaded |= {str(m) for m in payload["loaded"]}


def measure(names: Sequence[str], runs: int, old: Tree | None = None) -> list[FunctionResult]:
    results = [
        FunctionResult(
            n,
            DECLARED_NEEDS.get(n) if CURRENT.has(n) else None,
            Samples() if CURRENT.has(n) else None,
            baseline=Samples() if old is not None and old.has(n) else None,
        )
        for n in names
    ]
    for round_no in range(runs + 1):
        warm_up = round_no == 0
        for r in results:
            handlers = [(r.handler, CURRENT), (r.baseline, old)]
            if round_no % 2:
                handlers.reverse()  # neither tree always goes first
            for samples, tree in handlers:
                if samples is not None and tree is not None:
                    sample(samples, handler_code(tree, r.name), tree, r.name, keep=not warm_up)
            if r.needs is not None:
                code = needs_code(r.name, r.needs)
                sample(r.needs_samples, code, CURRENT, r.name, keep=not warm_up)
    return results


def interpreter_start_ms(runs: int) -> float:
    walls: list[float] = []
    for _ in range(runs + 1):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-X", "frozen_modules=on", "-c", "pass"], check=True)
        walls.append(time.perf_counter() - t)
    return statistics.median(walls[1:]) * 1000  # the first one only warms the caches


def git(*args: str) -> bytes:
    proc = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, check=False)
    if proc.returncode != 0:
        raise BenchError(f"git {' '.join(args)}: {proc.stderr.decode().strip()}")
    return proc.stdout


@contextmanager
def extracted(rev: str) -> Iterator[Tree]:
    """REV's BASELINE_PATHS in a temporary directory, removed when the block ends."""
    if rev.startswith("-"):
        raise BenchError("a revision, not an option, please")
    try:
        commit = git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").decode().strip()
    except BenchError:
        raise BenchError("not a commit in this repository") from None
    archive = git("archive", "--format=tar", commit, "--", *BASELINE_PATHS)
    with tempfile.TemporaryDirectory(prefix=f"bench-cold-start-{commit[:12]}-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        yield Tree("old", Path(tmp), commit)


def verify_origins(trees: Sequence[Tree]) -> list[str]:
    """Check, in one child per tree with the children's own environment, that each tree's
    handlers import that tree's `app` and `inboxfleet`; the lines say where they came from."""
    lines = []
    for tree in trees:
        name = tree.functions()[0]
        origins = run_child(origin_code(tree.functions_dir / name), tree, name)
        package, app = Path(origins["inboxfleet"]), Path(origins["app"] or "?")
        if not package.resolve().is_relative_to(tree.layer_dir.resolve()):
            raise BenchError(f"{tree.label} tree's children import inboxfleet from {package}")
        if app.resolve() != (tree.functions_dir / name / "app.py").resolve():
            raise BenchError(f"{tree.label} tree's {name} children import app from {app}")
        lines.append(f"{tree.label}: inboxfleet from {package}")
    return lines


Column = tuple[str, int, str]
COLUMNS: tuple[Column, ...] = (
    ("function", 16, "<"),
    ("handler ms min/med/max", 22, ">"),
    ("needs ms med", 12, ">"),
    ("overhead ms", 11, ">"),
)
AGAINST_COLUMNS: tuple[Column, ...] = (
    ("old ms min/med/max", 22, ">"),
    ("new/old", 7, ">"),
    ("verdict", 7, "<"),
)
GAP = "  "
UNEXPECTED_WIDTH = 31  # the last column, wrapped


def table_width(columns: Sequence[Column]) -> int:
    return sum(width for _, width, _ in columns) + len(GAP) * len(columns) + UNEXPECTED_WIDTH


def row(cells: Sequence[str], unexpected: str, columns: Sequence[Column]) -> list[str]:
    fixed = GAP.join(
        f"{c:{align}{width}}" for c, (_, width, align) in zip(cells, columns, strict=True)
    )
    room = table_width(columns) - len(fixed) - len(GAP)
    wrapped = textwrap.wrap(unexpected, room) or [""]
    indent = " " * (len(fixed) + len(GAP))
    return [f"{fixed}{GAP}{wrapped[0]}".rstrip()] + [indent + w for w in wrapped[1:]]


def new_cells(r: FunctionResult) -> tuple[list[str], str]:
    """The columns of today's table, and the unexpected modules."""
    if r.handler is None:
        return [r.name, "-", "-", "-"], "only in the old tree"
    if r.handler.error is not None:
        return [r.name, "IMPORT FAILED", "-", "-"], "see stderr"
    timing = r.handler.timing()
    if r.needs is None:
        return [r.name, timing, "-", "-"], "no DECLARED_NEEDS entry"
    if r.needs_samples.error is not None:
        return [r.name, timing, "FAILED", "-"], "declared needs failed to import"
    needs_ms = r.needs_samples.median_ms()
    overhead = r.handler.median_ms() - needs_ms
    extra = [m for m in WATCH_LIST if m in r.handler.loaded - r.needs_samples.loaded]
    return [r.name, timing, f"{needs_ms:.1f}", f"{overhead:+.1f}"], ", ".join(extra) or "-"


def old_cells(r: FunctionResult) -> list[str]:
    old = r.baseline
    if old is None:
        return ["-", "-", "-"]
    if old.error is not None:
        return ["IMPORT FAILED", "-", "-"]
    verdict = r.verdict()
    if verdict is None or r.handler is None:
        return [old.timing(), "-", "-"]
    return [old.timing(), f"{r.handler.median_ms() / old.median_ms():.2f}", verdict]


def render(
    results: Sequence[FunctionResult],
    start_ms: float,
    runs: int,
    old: Tree | None = None,
    origins: Sequence[str] = (),
) -> str:
    columns = COLUMNS if old is None else COLUMNS + AGAINST_COLUMNS
    width = table_width(columns)
    titles = [title for title, _, _ in columns]
    lines = [
        f"Cold-start import cost per Lambda handler (fresh interpreter per run, N={runs})",
        f"interpreter start alone (python -c pass, wall clock, median): {start_ms:.1f} ms",
    ]
    if old is not None:
        lines.append(f"new = this working tree, old = {old.commit} (extracted, same venv)")
    lines += ["", *row(titles, "unexpected heavy modules", columns), "-" * width]
    for r in results:
        cells, unexpected = new_cells(r)
        if old is not None:
            cells += old_cells(r)
        lines.extend(row(cells, unexpected, columns))
    lines += [
        "-" * width,
        "overhead = handler median - needs median (our code); unexpected = watch-list modules",
        "loaded by the handler but not by its declared needs.",
    ]
    if old is not None:
        lines += [
            f"new/old = handler medians; slower/faster: beyond x{NOISE_MARGIN:.2f} and each median",
            "outside the other tree's min-max, else same (within noise).",
            *origins,
        ]
    lines.append(
        f"Python {platform.python_version()} ({platform.python_implementation()}, "
        f"{platform.machine()}), os.cpu_count()={os.cpu_count()}, runs={runs} (+1 warm-up)"
    )
    return "\n".join(lines)


def report_failures(results: Sequence[FunctionResult]) -> None:
    for r in results:
        for what, s in (
            ("handler", r.handler),
            ("declared needs", r.needs_samples),
            ("old tree's handler", r.baseline),
        ):
            if s is not None and s.error is not None:
                print(f"\n{r.name}: {what} failed to import: {s.error}", file=sys.stderr)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7, help="runs per measurement (>= 5)")
    parser.add_argument(
        "--against",
        metavar="REV",
        help="also measure the handlers of git revision REV, alternating with this tree's",
    )
    args = parser.parse_args(argv)
    if args.runs < 5:
        parser.error("--runs must be at least 5: a median of fewer is mostly noise")
    return args


def run(runs: int, old: Tree | None) -> int:
    names = CURRENT.functions()
    if not names:
        print(f"no functions found under {CURRENT.functions_dir}/*/app.py", file=sys.stderr)
        return 1
    origins: list[str] = []
    if old is not None:
        names = sorted({*names, *old.functions()})
        origins = verify_origins([CURRENT, old])
    start_ms = interpreter_start_ms(runs)
    results = measure(names, runs, old)
    print(render(results, start_ms, runs, old, origins))
    report_failures(results)
    slower = any(r.verdict() == "slower" for r in results)
    return 1 if slower or any(r.failed for r in results) else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.against is None:
        return run(args.runs, None)
    try:
        with extracted(args.against) as old:
            return run(args.runs, old)
    except BenchError as exc:
        print(f"--against {args.against}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
