"""A command of the local cloud run as a child process, as a person runs it: the commands it
prints pasted into bash, the TCP ports its processes listen on while it runs, and whether any
of them, or its PostgreSQL server, outlives it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterable
from typing import Any

import psutil
import pytest

from local.polling import poll


def listening_ports(pids: Iterable[int]) -> set[int]:
    """The TCP ports these processes listen on now (a process already gone counts none)."""
    ports = set()
    for pid in pids:
        try:
            connections = psutil.Process(pid).net_connections(kind="tcp")
        except psutil.Error:
            continue
        ports |= {c.laddr.port for c in connections if c.status == psutil.CONN_LISTEN}
    return ports


def servers_in(folder: str) -> list[int]:
    """Processes whose command line names `folder` (PostgreSQL's, started by pg_ctl, belong to
    no process tree of ours: they are found by their data folder)."""
    return [
        p.info["pid"]
        for p in psutil.process_iter(attrs=["pid", "cmdline"])
        if folder in " ".join(p.info["cmdline"] or [])
    ]


def answering(ports: Iterable[int]) -> list[int]:
    """Those of `ports` on 127.0.0.1 that still accept a connection."""
    found = []
    for port in ports:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            continue
        found.append(port)
    return found


def paste(printed: list[str], deadline_s: float) -> dict[str, Any]:
    """Run the curl commands `up` printed as a person pastes them into bash: export the
    variables, ask for the inbox, watch it until it settles, read its credentials (answered).
    Skipped where curl is not installed."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed: the printed commands cannot be pasted")
    (exports,) = [line for line in printed if line.startswith("export API=")]
    (ask,) = [line for line in printed if line.startswith("INBOX=$(curl ")]
    (watch,) = [line for line in printed if line.startswith('curl -s "$API/v1/inboxes/$INBOX" ')]
    (login,) = [line for line in printed if "/credentials" in line and line.startswith("curl ")]

    def bash(script: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            ["bash", "-c", script],
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout

    variables = bash(f'{exports}\n{ask}\necho "$API $TOKEN $INBOX"').split()
    assert len(variables) == 3, f"the pasted commands set {variables}"
    env = dict(zip(("API", "TOKEN", "INBOX"), variables, strict=True))

    def settled() -> dict[str, Any] | None:
        inbox: dict[str, Any] = json.loads(bash(watch, env))
        return inbox if inbox["status"] in ("active", "failed") else None

    inbox = poll(settled, "the pasted inbox to settle", deadline_s)
    assert inbox["status"] == "active", inbox
    answer: dict[str, Any] = json.loads(bash(login, env))
    return answer
