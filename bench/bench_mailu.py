"""The mail-server installer against simulated VPS hosts over real SSH/SFTP on loopback.

For N fresh hosts: pin -> secure -> install -> (stack healthy) -> configure, each step one SSH
connection through the real installer (paramiko). Reports, per step, the SSH round trips
(connect, each command, each SFTP operation, each forwarded API channel) and wall time, for a
first run and for a repeat on the same host (which must change nothing).

Run: .venv/bin/python -m bench.bench_mailu
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from inboxfleet.mailu.commands import (
    ConfigureMailbox,
    InstallMailu,
    MailuCommand,
    PinHostKey,
    SecureServer,
)
from inboxfleet.mailu.service import MailuDeps, handle
from inboxfleet.mailu.ssh import load_private_key
from local.fake_clock import FakeClock
from local.platform_key import platform_key
from local.vps_sim import SimulatedHost

HOSTS = 5
IP = "198.51.100.7"
HEALTHY_AFTER_S = 30.0


Row = tuple[float, int, int]


def timed(fn: Callable[[], dict[str, Any]]) -> tuple[Row, dict[str, Any]]:
    started = time.perf_counter()
    result = fn()
    row = (time.perf_counter() - started, int(result["ssh_round_trips"]), len(result["changed"]))
    return row, result


def one_host() -> dict[str, list[Row]]:
    clock = FakeClock()
    rows: dict[str, list[Row]] = {}
    with SimulatedHost(
        ip=IP,
        authorized_keys=[platform_key().public_openssh],
        root_password="bench-root-password",  # noqa: S106 - a simulated host's
        clock=clock,
        healthy_after_s=HEALTHY_AFTER_S,
    ) as host:
        key = load_private_key(platform_key().private_openssh)
        deps = MailuDeps(
            private_key=lambda: key,
            resolver=lambda ip: ("127.0.0.1", host.port),
            decrypt=lambda ciphertext, context: "Bench-Mailbox-Pw-1",
        )

        def step(command: MailuCommand) -> dict[str, Any]:
            return handle(command, deps).model_dump(mode="json")

        pinned_at, first = timed(lambda: step(PinHostKey(action="pin", server_ip=IP)))
        fingerprint = first["host_key_fingerprint"]
        secure = SecureServer(action="secure", server_ip=IP, host_key_fingerprint=fingerprint)
        install = InstallMailu(
            action="install",
            server_ip=IP,
            host_key_fingerprint=fingerprint,
            domain="acme-outreach.example",
        )
        configure = ConfigureMailbox.model_validate(
            {
                "action": "configure",
                "server_ip": IP,
                "host_key_fingerprint": fingerprint,
                "address": "sales@acme-outreach.example",
                "tenant_id": "7d0c5a52-3c1e-4f7a-9a53-2f4b1c0de001",
                "inbox_id": "7d0c5a52-3c1e-4f7a-9a53-2f4b1c0de101",
                "password_ciphertext": "x" * 32,
            }
        )
        rows["pin (first contact)"] = [pinned_at]
        rows["secure"] = [timed(lambda: step(secure))[0]]
        rows["install"] = [timed(lambda: step(install))[0]]
        clock.advance(HEALTHY_AFTER_S)
        rows["configure (domain, DKIM, mailbox)"] = [timed(lambda: step(configure))[0]]
        rows["repeat: secure"] = [timed(lambda: step(secure))[0]]
        rows["repeat: install"] = [timed(lambda: step(install))[0]]
        rows["repeat: configure"] = [timed(lambda: step(configure))[0]]
    return rows


def main() -> int:
    totals: dict[str, list[Row]] = {}
    walls: list[float] = []
    for _ in range(HOSTS):
        started = time.perf_counter()
        for name, values in one_host().items():
            totals.setdefault(name, []).extend(values)
        walls.append(time.perf_counter() - started)
    print(f"Mail server over SSH: real installer vs simulated hosts, {HOSTS} fresh hosts")
    print(f"{'step':<36}{'round trips':>12}{'changes':>9}{'median ms':>11}{'max ms':>9}")
    print("-" * 77)
    for name, values in totals.items():
        trips = statistics.median(v[1] for v in values)
        changes = statistics.median(v[2] for v in values)
        wall = [v[0] * 1000 for v in values]
        print(
            f"{name:<36}{trips:>12.0f}{changes:>9.0f}"
            f"{statistics.median(wall):>11.0f}{max(wall):>9.0f}"
        )
    print("-" * 77)
    print("round trips: SSH connect + each command + each SFTP operation + each API request")
    print(
        f"secure -> install -> configure -> all three again, per host: median "
        f"{statistics.median(walls) * 1000:.0f} ms (includes host start-up and DKIM keygen)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
