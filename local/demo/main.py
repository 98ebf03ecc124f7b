"""`inboxfleet-local demo` (what `make demo` runs): start the local cloud, play the story, print
what it made, stop everything. Ctrl-C (or SIGTERM) at any moment stops everything the same way:
executions stopped, servers closed, the database folder removed."""

from __future__ import annotations

import logging
import os
import sys
import time

import httpx
from botocore.exceptions import ClientError

from local.customer_api import ApiRefused
from local.demo.options import DemoOptions
from local.demo.report import DemoFailed
from local.demo.view import View, choose_view
from local.mail_client import MailClientError

# Failures the demo reports in one line (the cloud stopped first): the API refusing, Stripe's
# delivery refused, a wait running out, the mail server refusing.
DEMO_FAILURES = (
    ApiRefused,
    DemoFailed,
    TimeoutError,
    MailClientError,
    httpx.HTTPError,
    ClientError,
    OSError,
)


def run(options: DemoOptions, view: View | None = None) -> int:
    from inboxfleet.observability import logger
    from local.cloud import LocalCloud, LocalSecrets
    from local.demo.story import play
    from local.stripe_samples import LOCAL_WEBHOOK_SECRET

    view = view or choose_view()
    started = time.monotonic()
    view.heading("inboxfleet demo: a customer buys inboxes, on this machine, with no account")
    view.say("everything below really runs: PostgreSQL, moto (Step Functions, SQS, Route 53...),")
    view.say("Hostwinds, VPS hosts over SSH, DNS over UDP/TCP and Stripe, simulated on loopback")
    # The functions' JSON logs and EMF metrics are for CloudWatch: here they would bury the story.
    logger.setLevel("ERROR")
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    with LocalCloud(
        time_scale=options.time_scale,
        local_secrets=LocalSecrets(webhook_secrets=(LOCAL_WEBHOOK_SECRET,)),
        log_level="ERROR",
    ) as cloud:
        view.say(
            f"local cloud up in {time.monotonic() - started:.1f}s: {len(cloud.functions)} "
            f"functions and {len(cloud.aws.state_machines)} state machines of template.yaml, "
            f"time scale {options.time_scale:g}"
        )
        view.say(f"tenant API     {cloud.api_url}")
        view.say(f"PostgreSQL     {_database_place(cloud.database_url)}")
        try:
            story, outcome = play(cloud, options, view)
        except KeyboardInterrupt:
            # Every task of an execution stopped under it fails, and moto logs each one with
            # its whole state: the history says so, the person who pressed Ctrl-C needs not.
            logging.getLogger("moto").setLevel(logging.CRITICAL)
            raise
        view.heading(
            f"{len(outcome.active)} inbox(es) active, {len(outcome.failed)} failed, in "
            f"{time.monotonic() - started:.1f}s of wall time"
        )
        if options.keep_running:
            from local.up import serve_until_stopped

            assert story.tenant_id is not None
            serve_until_stopped(cloud, story.tenant_id, story.next_address(), _line)
    view.say("the local cloud has stopped: no process, port or folder of it is left")
    for problem in outcome.problems():
        print(f"inboxfleet-local demo: {problem}", file=sys.stderr, flush=True)
    return 0 if outcome.ok else 1


def _line(text: str) -> None:
    print(text, flush=True)


def _database_place(url: str) -> str:
    """Where the server listens: its socket folder (embedded) or host, never the password."""
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(url)
    return f"{parts.get('host', 'localhost')} (database {parts.get('dbname', '?')})"
