"""`inboxfleet-local` end to end, as a newcomer runs it: a fresh interpreter started from another
folder, the whole local cloud behind it, nothing left running or on disk afterwards."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import IO

import dns.message
import dns.query
import httpx
import jwt
import psutil
import pytest

from local.mail_client import LoginRefused, MailAccount, MailRoute, send, smtp_connection
from local.samples import SAMPLE_ADDRESS
from local.template import REPO_ROOT
from tests.process_support import answering, listening_ports, paste, servers_in

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 60.0
TEMP_PREFIXES = ("inboxfleet-pg-",)


def _env() -> dict[str, str]:
    # The CLI starts its own server, as on a fresh machine.
    return {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}


def _temp_entries() -> set[str]:
    return {p.name for p in Path("/tmp").iterdir() if p.name.startswith(TEMP_PREFIXES)}


def _lines(stream: IO[str]) -> queue.Queue[str | None]:
    found: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in stream:
            found.put(line.rstrip("\n"))
        found.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return found


def _spawn_up(cwd: Path, *flags: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "local", "up", *flags],
        cwd=cwd,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=(cwd / "up.stderr").open("w"),  # the functions' logs, for failure messages
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives it
    )


def _stop(process: subprocess.Popen[str]) -> None:
    """Ctrl-C first (PostgreSQL runs in a session of its own: only `up` can stop it), then,
    if it hangs, kill the group."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def running_up(
    cwd: Path, *flags: str
) -> Iterator[tuple[subprocess.Popen[str], dict[str, str], list[str]]]:
    process = _spawn_up(cwd, *flags)
    assert process.stdout is not None
    lines = _lines(process.stdout)
    seen: list[str] = []
    printed: dict[str, str] = {}
    deadline = time.monotonic() + READY_TIMEOUT_S
    try:
        while "Ctrl-C stops everything." not in seen:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"`up` was not ready in {READY_TIMEOUT_S} s: {seen}")
            if line is None:
                errors = (cwd / "up.stderr").read_text()[-2000:]
                pytest.fail(f"`up` ended before it was ready: {seen} {errors}")
            seen.append(line)
            if match := re.match(r"^  (\w[\w ]*?)\s{2,}(\S+)", line):
                printed[match.group(1)] = match.group(2)
        yield process, printed, seen
    finally:
        _stop(process)
        while (line := lines.get(timeout=STOP_TIMEOUT_S)) is not None:
            seen.append(line)


def _use_the_ready_tenant(printed: dict[str, str], seen: list[str]) -> None:
    """What a person does with `up`'s output: paste the curl commands (ask for an inbox, watch
    it, read its login), then log in with that login from a mail client."""
    login = paste(seen, READY_TIMEOUT_S * 2)
    assert login["username"] == f"sales@{printed['domain']}"
    ca = httpx.get(printed["mail TLS CA"], timeout=5).content
    resolver_host, resolver_port = printed["DNS resolver"].rsplit(":", 1)
    route = MailRoute((resolver_host, int(resolver_port)), printed["VPS hosts"], ca_pem=ca)
    host = login["smtp"]["host"]
    with smtp_connection(route, host, port=login["smtp"]["port"]) as smtp:
        smtp.starttls(context=route.tls())  # the certificate is checked for the mail host
        assert smtp.login(login["username"], login["password"])[0] == 235
    with pytest.raises(LoginRefused):
        send(route, MailAccount(host, login["username"], "not-it"), EmailMessage())


def test_up_serves_a_ready_tenant_and_sigint_leaves_nothing(tmp_path: Path) -> None:
    with running_up(tmp_path, "--time-scale", "0.01") as (process, printed, seen):
        api, issuer = printed["API"], printed["issuer"]
        assert re.search(r"local cloud is up in \d+\.\ds", seen[0]), seen

        # The API answers on its printed URL, with the template's routes and API Gateway's 404.
        webhook = httpx.post(f"{api}/webhooks/stripe", content=b"{}")
        assert webhook.status_code == 400
        assert "Stripe-Signature" in webhook.json()["error"]
        assert httpx.get(f"{api}/nothing/here").json() == {"message": "Not Found"}

        # The printed token is the ready tenant's, signed by the printed issuer's key.
        keys = httpx.get(f"{issuer}/.well-known/jwks.json").json()
        key = jwt.PyJWK(keys["keys"][0])
        claims = jwt.decode(
            printed["token"], key.key, algorithms=["RS256"], audience="inboxfleet-local"
        )
        assert claims["custom:tenant_id"] == printed["tenant"]
        assert claims["iss"] == issuer
        _use_the_ready_tenant(printed, seen)

        # `token` mints from the running issuer.
        minted = subprocess.run(
            [sys.executable, "-m", "local", "token", "--tenant", "t-1", "--issuer", issuer],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
        assert (
            jwt.decode(minted, key.key, algorithms=["RS256"], audience="inboxfleet-local")[
                "custom:tenant_id"
            ]
            == "t-1"
        )

        # The DNS resolver answers over UDP at its printed address.
        host, port = printed["DNS resolver"].rsplit(":", 1)
        query = dns.message.make_query("example.", "SOA")
        answer = dns.query.udp(query, host, port=int(port), timeout=5)
        assert answer.answer, answer

        group = [process.pid, *(c.pid for c in psutil.Process(process.pid).children(True))]
        ports = listening_ports([process.pid])
        assert len(ports) >= 5  # API, issuer, Stripe, Hostwinds, DNS servers...
        data_dir = re.search(r"host=(\S+)", " ".join(seen))
        assert data_dir, seen

        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(STOP_TIMEOUT_S) == 0
    assert seen[-1] == "stopped: nothing left running.", seen[-5:]
    assert [pid for pid in group if psutil.pid_exists(pid)] == []
    assert answering(ports) == []
    # Its own folder (the server's; nothing else is made until a VPS is ordered), not a diff
    # of /tmp: another run on the machine may be making folders of its own.
    assert servers_in(str(Path(data_dir.group(1)).parent)) == []  # pg_ctl's: no child of ours
    assert not Path(data_dir.group(1)).parent.exists()


def test_invoke_runs_an_event_file_with_the_whole_local_cloud_behind_it(tmp_path: Path) -> None:
    def invoke(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "local", "invoke", *args],
            cwd=tmp_path,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    event = REPO_ROOT / "events/InventoryFunction/describe_inbox.json"
    done = invoke("InventoryFunction", "-e", str(event))
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["inbox"]["address"] == SAMPLE_ADDRESS

    failed = invoke("InventoryFunction")  # no event: {} is not a command
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["errorType"] == "InvalidCommand"


@pytest.mark.parametrize(
    "moment",
    [
        pytest.param("", id="folder-made"),
        pytest.param("data/PG_VERSION", id="initdb-done"),
        pytest.param("data/postmaster.pid", id="server-starting"),
    ],
)
def test_ctrl_c_while_up_is_starting_leaves_nothing(tmp_path: Path, moment: str) -> None:
    """Ctrl-C reaches every process of the group (pg_ctl too) in the middle of start-up: the
    server being started is stopped and every folder removed all the same."""
    before = _temp_entries()
    process = _spawn_up(tmp_path)
    assert process.stdout is not None
    lines = _lines(process.stdout)

    def reached() -> str | None:
        for name in _temp_entries() - before:
            if name.startswith("inboxfleet-pg-") and (Path("/tmp") / name / moment).exists():
                return name
        return None

    deadline = time.monotonic() + READY_TIMEOUT_S
    while (folder := reached()) is None:
        assert process.poll() is None, "`up` ended before the moment came"
        assert time.monotonic() < deadline, f"{moment or 'the folder'} never appeared"
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGINT)
    try:
        code = process.wait(STOP_TIMEOUT_S)
    finally:
        _stop(process)
    output = []
    while (line := lines.get(timeout=STOP_TIMEOUT_S)) is not None:
        output.append(line)
    assert code in (0, 130), output
    servers = [
        p.info["pid"]
        for p in psutil.process_iter(attrs=["pid", "cmdline"])
        if folder in " ".join(p.info["cmdline"] or [])
    ]
    assert servers == []
    assert not (Path("/tmp") / folder).exists()
