"""A command of the local cloud run as a child process, as a person runs it: the commands it
prints pasted into bash, the TCP ports its processes listen on while it runs, and whether any
of them, or its PostgreSQL server, outlives it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psutil

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


def paste(printed: list[str], deadline_s: float, *, standin: bool = False) -> dict[str, Any]:
    """Run the curl commands `up` printed as a person pastes them into bash: export the
    variables, ask for the inbox, watch it until it settles, read its credentials (answered).
    Where curl is not installed (or with `standin`), tests/curl_standin.py plays it, so the
    lines run verbatim either way."""
    with tempfile.TemporaryDirectory(prefix="inboxfleet-curl-") as folder:
        path = os.environ.get("PATH", "")
        if standin or shutil.which("curl") is None:
            script = Path(folder) / "curl"
            standin_py = Path(__file__).with_name("curl_standin.py")
            script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{standin_py}" "$@"\n')
            script.chmod(0o700)
            path = f"{folder}{os.pathsep}{path}"
        return _paste(printed, deadline_s, path)


def _paste(printed: list[str], deadline_s: float, path: str) -> dict[str, Any]:
    (exports,) = [line for line in printed if line.startswith("export API=")]
    (ask,) = [line for line in printed if line.startswith("INBOX=$(curl ")]
    (watch,) = [line for line in printed if line.startswith('curl -s "$API/v1/inboxes/$INBOX" ')]
    (login,) = [line for line in printed if "/credentials" in line and line.startswith("curl ")]

    def bash(script: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            ["bash", "-c", script],
            env={**os.environ, "PATH": path, **(env or {})},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout

    assert bash("command -v curl").strip()  # the real one, or the stand-in put first
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
