"""`make demo` end to end, as a newcomer runs it: a fresh interpreter with its stdout on a pipe
(so plain lines, not the live display), a PostgreSQL server it starts itself, the real workflow,
and nothing of it running, listening or on disk afterwards."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from local.template import REPO_ROOT as REPO
from tests.process_support import answering, listening_ports, paste, servers_in

DEMO_TIMEOUT_S = 300
SAMPLE_AT = ("The provisioning workflow runs", "The tenant reads its logins")
STEP_LINE = re.compile(r"^\s+\d+\.\ds  (\S+@\S+)\s+(\w+)\s")


@dataclass(frozen=True)
class DemoRun:
    code: int
    out: str
    err: str
    ports: set[int]  # every TCP port the demo's processes listened on while the runs went on
    pids: set[int]  # the demo and every process it started
    login: dict[str, Any] | None = None  # what `first` answered

    def steps(self, address: str) -> list[str]:
        return [
            m.group(2)
            for line in self.out.splitlines()
            if (m := STEP_LINE.match(line)) and m.group(1) == address
        ]


def run_demo(
    *flags: str,
    interrupt_at: str | None = None,
    first: Callable[[list[str]], dict[str, Any]] | None = None,
) -> DemoRun:
    """The demo with `flags`, its listening ports and processes sampled while the workflow
    runs (every simulator is up by then); with `interrupt_at`, Ctrl-C (SIGINT to its process
    group, as a terminal sends it) once a line holding that text is printed, after `first`
    (given the lines so far) has done what a person would do then."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "local", "demo", *flags],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives it
    )
    assert process.stdout is not None
    assert process.stderr is not None
    lines: list[str] = []
    ports: set[int] = set()
    pids = {process.pid}
    login = None
    deadline = time.monotonic() + DEMO_TIMEOUT_S
    try:
        for line in process.stdout:
            lines.append(line)
            # Sampled at every step (a server's SSH and mail ports exist from its ReadHostKey on,
            # and may be gone again by the end of a failed run) and before the interrupt.
            sample = STEP_LINE.match(line) or any(mark in line for mark in SAMPLE_AT)
            if sample or (interrupt_at and interrupt_at in line):
                pids |= {c.pid for c in psutil.Process(process.pid).children(recursive=True)}
                ports |= listening_ports(pids)
            if interrupt_at is not None and interrupt_at in line:
                if first is not None:
                    login = first([line.rstrip("\n") for line in lines])
                os.killpg(process.pid, signal.SIGINT)
                interrupt_at = None
            assert time.monotonic() < deadline, "the demo took too long"
        code = process.wait(60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return DemoRun(code, "".join(lines), process.stderr.read(), ports, pids, login)


def assert_nothing_left(run: DemoRun, stopped_line: str = "the local cloud has stopped") -> None:
    assert run.ports, "no listening port was seen while the demo ran"
    assert [pid for pid in run.pids if psutil.pid_exists(pid)] == []
    assert answering(run.ports) == []
    socket_dir = re.search(r"PostgreSQL\s+(/tmp/inboxfleet-pg-[^/\s]+)", run.out)
    assert socket_dir, run.out
    assert servers_in(socket_dir.group(1)) == []  # pg_ctl's server is no child of the demo
    assert not Path(socket_dir.group(1)).exists()
    assert stopped_line in run.out


def test_make_demo_makes_working_inboxes_and_leaves_nothing_running() -> None:
    run = run_demo()
    assert run.code == 0, run.out[-3000:] + run.err[-3000:]
    out = run.out
    sales, hello = "sales@northwind-outreach.example", "hello@northwind-outreach.example"

    # The customer's way in: checkout, the signed webhook, the billing worker, the domain.
    assert "POST /v1/billing/checkout growth_monthly -> 201" in out
    assert "/webhooks/stripe -> 200 queued" in out
    assert "entitles the tenant: growth_monthly, 25 inboxes on 10 domains" in out
    assert "POST /v1/domains northwind-outreach.example -> 201 pending_delegation" in out
    assert "the parent zone delegates northwind-outreach.example" in out
    assert f"POST /v1/inboxes {sales}, {hello} -> 202 queued" in out

    # One plain line per step: one inbox builds the server, the other waits for it.
    builder, waiter = (sales, hello) if "CreateServer" in run.steps(sales) else (hello, sales)
    built = run.steps(builder)
    for state in ("Reserve", "CreateServer", "InstallMailu", "VerifyDomain", "Activate"):
        assert state in built, built
    assert built.index("CreateServer") < built.index("InstallMailu") < built.index("Activate")
    waited = run.steps(waiter)
    assert "WaitForServer" in waited, waited
    assert "CreateServer" not in waited, waited
    assert "ConfigureMailbox" in waited
    assert len(re.findall(r"run done \(SUCCEEDED\)", out)) == 2
    assert "2 inbox(es) active, 0 failed" in out

    # The inbox works: the API's login over SMTP and IMAP; a wrong password is refused.
    assert re.search(r"SMTP .*STARTTLS.*AUTH.*sales@northwind-outreach\.example", out), out
    assert re.search(r"IMAP .*found.*Hello from inboxfleet", out), out
    assert re.search(r"wrong password -> refused \(535", out), out

    # The resolvers answer for every record, PTR included.
    for what, pattern in (
        ("MX", r"10 mail\.northwind-outreach\.example\."),
        ("SPF", r"v=spf1 "),
        ("DKIM", r"v=DKIM1; k=rsa; p=\S+"),
        ("DMARC", r"v=DMARC1; p="),
        ("MTA-STS", r"v=STSv1; id="),
        ("PTR", r"mail\.northwind-outreach\.example\."),
    ):
        assert re.search(rf"^  {re.escape(what)}\s+\w+\s+\S+: .*{pattern}", out, re.M), what

    # The summary: each inbox with its address, time, transitions, Lambda calls and cost.
    rows = re.findall(
        r"^  (\S+@\S+)\s+active\s+(203\.0\.113\.\d+|198\.51\.100\.\d+)\s+(\w+)\s+([\d.]+)s\s+"
        r"(\d+)\s+(\d+)\s+(0\.\d{6})\s+(\d+\.\d\d)$",
        out,
        re.M,
    )
    assert {r[0] for r in rows} == {sales, hello}, out
    assert len({r[1] for r in rows}) == 1  # one server for the domain
    assert all(int(r[4]) > 0 and int(r[5]) > 0 and float(r[6]) > 0 for r in rows)
    assert re.search(
        r"^  MX\s+northwind-outreach\.example\s+10 mail\.\S+\s+ours\s+ok\s+ok", out, re.M
    )
    assert_nothing_left(run)


def test_a_fault_at_the_install_is_compensated_and_nothing_bought_is_left() -> None:
    run = run_demo("--fail-at", "install")
    assert run.code == 0, run.out[-3000:] + run.err[-3000:]
    out = run.out
    assert "the first InstallMailu (MailuInstallerFunction) will fail" in out
    builder = next(
        a
        for a in ("sales@northwind-outreach.example", "hello@northwind-outreach.example")
        if "InstallMailu" in run.steps(a)
    )
    undo = run.steps(builder)[run.steps(builder).index("InstallMailu") :]
    assert undo[:4] == ["InstallMailu", "Compensate", "DeleteRecords", "TerminateServer"], undo
    assert "0 inbox(es) active, 2 failed" in out
    assert "injected by --fail-at InstallMailu" in out
    assert re.search(r"^  VPS ifl-local-\S+ .* given back\s+none left at Hostwinds$", out, re.M)
    assert "STILL AT HOSTWINDS" not in out
    assert re.search(
        r"^  DNS records in northwind-outreach\.example .* none left \(the zone stays\)\s+0 left$",
        out,
        re.M,
    ), out
    assert re.search(r"records deleted, VPS terminated\s+undo succeeded; inbox failed$", out, re.M)
    assert_nothing_left(run)


def test_a_fault_at_activation_keeps_what_the_other_inboxes_use() -> None:
    """Three inboxes on two domains: the first activation fails; its mailbox goes, and its
    server only if no active inbox is left on it - either way nothing unused stays."""
    run = run_demo("--inboxes", "3", "--domains", "2", "--fail-at", "Activate")
    assert run.code == 0, run.out[-3000:] + run.err[-3000:]
    assert "2 inbox(es) active, 1 failed" in run.out
    # Its mailbox, or (the last inbox on its server) the records and the VPS.
    undone = r"(mailbox removed|records deleted, VPS terminated)\s+undo succeeded; inbox failed$"
    assert re.search(undone, run.out, re.M)
    assert "STILL AT HOSTWINDS" not in run.out
    assert re.search(
        r"^  VPS ifl-local-\S+ .* kept: its domain's active inboxes use it", run.out, re.M
    )
    assert re.search(r"IMAP .*found \"Hello from inboxfleet\"", run.out)
    assert_nothing_left(run)


def test_a_create_whose_answer_is_lost_is_found_by_name_and_given_back() -> None:
    run = run_demo("--inboxes", "1", "--fail-at", "CreateServer")
    assert run.code == 0, run.out[-3000:] + run.err[-3000:]
    assert "will fail after doing its work (its answer lost)" in run.out
    steps = run.steps("sales@northwind-outreach.example")
    assert steps.index("CreateServer") < steps.index("Compensate") < steps.index("TerminateByName")
    assert re.search(r"^  VPS ifl-local-\S+ .* given back\s+none left at Hostwinds$", run.out, re.M)
    assert re.search(r"VPS terminated\s+undo succeeded; inbox failed$", run.out, re.M)
    assert_nothing_left(run)


def test_ctrl_c_while_the_workflow_runs_stops_everything() -> None:
    run = run_demo("--inboxes", "3", interrupt_at="InstallMailu")
    assert run.code == 130, run.out[-3000:] + run.err[-3000:]
    assert "interrupted: the local cloud has stopped" in run.out
    assert run.err == ""  # no traceback, no log flood from the executions stopped under it
    assert "Summary" not in run.out
    assert_nothing_left(run, stopped_line="interrupted: the local cloud has stopped")


def test_keep_running_serves_like_up_until_ctrl_c() -> None:
    run = run_demo(
        "--inboxes",
        "1",
        "--keep-running",
        interrupt_at="Ctrl-C stops everything.",
        # The stand-in plays curl here (`up`'s test pastes into the real one where installed).
        first=lambda printed: paste(printed, DEMO_TIMEOUT_S, standin=True),
    )
    assert run.code == 0, run.out[-3000:] + run.err[-3000:]
    assert "1 inbox(es) active, 0 failed" in run.out
    assert re.search(r"^  token\s+\S+\.\S+\.\S+$", run.out, re.M)
    assert re.search(r"^export API=http://127\.0\.0\.1:\d+ TOKEN=", run.out, re.M)
    assert 'curl -s "$API/v1/inboxes/$INBOX/credentials"' in run.out
    assert_nothing_left(run)


def test_bad_flags_are_a_usage_error_before_anything_starts() -> None:
    for flags, message in (
        (("--fail-at", "nowhere"), "no step 'nowhere' to fail"),
        (("--inboxes", "0"), "--inboxes must be 1-25"),
        (("--inboxes", "2", "--domains", "3"), "--domains must be 1-10"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "local", "demo", *flags],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2, (flags, done.stdout, done.stderr)
        assert message in done.stderr
        assert done.stdout == ""
