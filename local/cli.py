"""`inboxfleet-local` (also `python -m local`): the local cloud's commands, like `sam local` with
no Docker and no AWS account.

    inboxfleet-local up                      the whole local cloud, kept running (Ctrl-C stops it)
    inboxfleet-local start-api [--port N]    the HTTP API of template.yaml on localhost
    inboxfleet-local invoke InventoryFunction -e events/InventoryFunction/describe_inbox.json
    inboxfleet-local fire <ScheduleName>     run a schedule of template.yaml now
    inboxfleet-local token --tenant <id>     a tenant token from a running `up`
    inboxfleet-local demo                    what `make demo` runs

Every command but `token` starts its own local cloud (a few seconds) and stops it completely.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from local.account import ISSUER_VARIABLE
from local.demo.options import DEFAULT_TIME_SCALE
from local.demo.steps import FAILABLE

if TYPE_CHECKING:
    from local.cloud import InvokeResult, LocalCloud

TOKEN_TIMEOUT_S = 5.0


def _print(line: str = "") -> None:
    print(line, flush=True)


@contextmanager
def _quiet_cloud(args: argparse.Namespace, *, event_sources: bool = True) -> Iterator[LocalCloud]:
    """A local cloud with the samples' webhook secret (so `--resign`ed event files verify) and
    the sample tenant the files in events/ name."""
    from local.cloud import LocalCloud, LocalSecrets
    from local.samples import seed_sample
    from local.stripe_samples import LOCAL_WEBHOOK_SECRET

    # CloudWatch is not there: metrics would only be printed to stdout.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    with LocalCloud(
        time_scale=args.time_scale,
        local_secrets=LocalSecrets(webhook_secrets=(LOCAL_WEBHOOK_SECRET,)),
        event_sources=event_sources,
        api_port=getattr(args, "port", 0),
        log_level=args.log_level,
    ) as cloud:
        seed_sample()
        yield cloud


def cmd_up(args: argparse.Namespace) -> int:
    from local.sample_customer import mailbox_name, ready_tenant
    from local.up import serve_until_stopped

    started = time.perf_counter()
    with _quiet_cloud(args) as cloud:
        tenant_id, domain = ready_tenant(cloud)
        _print(f"inboxfleet local cloud is up in {time.perf_counter() - started:.1f}s")
        serve_until_stopped(cloud, tenant_id, f"{mailbox_name(0)}@{domain}", _print)
    _print("stopped: nothing left running.")
    return 0


def cmd_start_api(args: argparse.Namespace) -> int:
    from local.up import stop_on_signal

    with _quiet_cloud(args) as cloud:
        stop = stop_on_signal()
        for route in cloud.routes:
            auth = "no auth" if route.authorizer is None else f"auth: {route.authorizer}"
            _print(
                f"Mounted {route.function} at {cloud.api_url}{route.path} [{route.method}] ({auth})"
            )
        _print(f"API at {cloud.api_url}; Ctrl-C stops it.")
        stop.wait()
    return 0


def _run_once(args: argparse.Namespace, call: Callable[[LocalCloud], InvokeResult]) -> int:
    """Start a cloud, make one call, print its answer as JSON on stdout. The functions' logs go
    to stderr meanwhile (as `sam local invoke` does), so stdout is the answer alone."""
    with contextlib.redirect_stdout(sys.stderr):
        try:
            with _quiet_cloud(args, event_sources=False) as cloud:
                result = call(cloud)
        except LookupError as exc:  # an unknown function or schedule: nothing was invoked
            print(f"inboxfleet-local: {exc.args[0] if exc.args else exc}", file=sys.stderr)
            return 2
    _print(json.dumps(result.payload, indent=2, default=str))
    return 0 if result.ok else 1


def cmd_invoke(args: argparse.Namespace) -> int:
    event: Any = json.loads(Path(args.event).read_text()) if args.event else {}
    if args.resign:
        from local.stripe_samples import resign

        event = resign(event)
    return _run_once(args, lambda cloud: cloud.invoke(args.function, event))


def cmd_fire(args: argparse.Namespace) -> int:
    return _run_once(args, lambda cloud: cloud.fire(args.schedule))


def cmd_token(args: argparse.Namespace) -> int:
    issuer = args.issuer or os.environ.get(ISSUER_VARIABLE)
    if not issuer:
        message = f"no issuer: start `inboxfleet-local up`, then --issuer or {ISSUER_VARIABLE}"
        print(message, file=sys.stderr)
        return 2
    query = urllib.parse.urlencode({"tenant": args.tenant, "expires_in": args.expires_in})
    url = f"{issuer.rstrip('/')}/local/token?{query}"
    try:
        with urllib.request.urlopen(url, timeout=TOKEN_TIMEOUT_S) as answer:  # noqa: S310 - loopback issuer
            _print(answer.read().decode().strip())
    except OSError as exc:
        message = f"no answer from the issuer at {issuer} ({exc}): is `up` running?"
        print(message, file=sys.stderr)
        return 1
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from local.demo.main import DEMO_FAILURES, run
    from local.demo.options import DemoOptions

    try:
        options = DemoOptions(
            inboxes=args.inboxes,
            domains=args.domains,
            fail_at=args.fail_at,
            time_scale=args.time_scale,
            keep_running=args.keep_running,
        )
    except ValueError as exc:
        print(f"inboxfleet-local demo: {exc}", file=sys.stderr)
        return 2
    try:
        return run(options)
    except KeyboardInterrupt:
        _print("interrupted: the local cloud has stopped, nothing of it is left running")
        return 130
    except DEMO_FAILURES as exc:
        # What went wrong in the customer's terms, not a traceback; the cloud has stopped.
        print(f"inboxfleet-local demo: {exc}", file=sys.stderr)
        _print("the demo failed: the local cloud has stopped, nothing of it is left running")
        return 1


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="inboxfleet-local", description=__doc__.split("\n\n")[0])
    sub = top.add_subparsers(dest="command", required=True)

    def command(name: str, help: str, cloud: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        if cloud:
            p.add_argument(
                "--time-scale",
                type=float,
                default=1.0,
                help="multiply ASL Wait/Retry pauses and simulated delays by this (0 < x <= 1)",
            )
            p.add_argument(
                "--log-level",
                default="WARNING",
                choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                help="the functions' Powertools log level (template parameter PowertoolsLogLevel)",
            )
        return p

    up = command("up", "run the whole local cloud until Ctrl-C")
    up.add_argument("--port", type=int, default=0, help="API port (default: any free port)")
    up.set_defaults(run=cmd_up)

    api = command("start-api", "serve template.yaml's HttpApi routes until Ctrl-C")
    api.add_argument("--port", type=int, default=3000, help="API port (default 3000, like SAM)")
    api.set_defaults(run=cmd_start_api)

    invoke = command("invoke", "invoke one function once, like `sam local invoke`")
    invoke.add_argument("function", help="logical id in template.yaml, e.g. InventoryFunction")
    invoke.add_argument("-e", "--event", help="event file, e.g. events/InventoryFunction/x.json")
    invoke.add_argument(
        "--resign",
        action="store_true",
        help="sign a Stripe webhook request afresh (Stripe refuses signatures older than 300 s)",
    )
    invoke.set_defaults(run=cmd_invoke)

    fire = command("fire", "fire one of template.yaml's schedules now")
    fire.add_argument("schedule", help="the schedule's name (its event key or Name)")
    fire.set_defaults(run=cmd_fire)

    token = command("token", "mint a tenant token from a running `up`", cloud=False)
    token.add_argument("--tenant", required=True, help="the tenant id the token names")
    token.add_argument("--issuer", help=f"the issuer URL `up` printed (or ${ISSUER_VARIABLE})")
    token.add_argument("--expires-in", type=int, default=3600, help="seconds (default 3600)")
    token.set_defaults(run=cmd_token)

    demo = command("demo", "what `make demo` runs: a customer gets working inboxes", cloud=False)
    demo.add_argument("--inboxes", type=int, default=2, help="inboxes to ask for (default 2)")
    demo.add_argument("--domains", type=int, default=1, help="domains they go on (default 1)")
    demo.add_argument(
        "--fail-at",
        metavar="STEP",
        help=f"make this step fail once and watch compensation (one of: {', '.join(FAILABLE)})",
    )
    demo.add_argument(
        "--time-scale",
        type=float,
        default=DEFAULT_TIME_SCALE,
        help=f"multiply Waits, Retry pauses and simulated delays by this (default "
        f"{DEFAULT_TIME_SCALE}; 1 is real time)",
    )
    demo.add_argument(
        "--keep-running",
        action="store_true",
        help="afterwards keep the local cloud running, as `up` does, until Ctrl-C",
    )
    demo.set_defaults(run=cmd_demo)
    return top


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # The first Ctrl-C (or SIGTERM) stops everything; another one while it does would break
    # the cleanup off half-way and leave what it had not stopped yet (every wait in it is
    # bounded; SIGKILL remains for the impatient).
    for each in (signal.SIGINT, signal.SIGTERM):
        signal.signal(each, _already_stopping)
    raise KeyboardInterrupt


def _already_stopping(signum: int, frame: FrameType | None) -> None:
    print("stopping everything: one moment", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    # SIGTERM unwinds like Ctrl-C (the default would skip every cleanup).
    for each in (signal.SIGINT, signal.SIGTERM):
        signal.signal(each, _interrupt)
    top = parser()
    args = top.parse_args(argv)
    if not 0 < getattr(args, "time_scale", 1.0) <= 1:  # NaN fails it too
        top.error("--time-scale must be in (0, 1]")
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
