"""Simulated VPS hosts reachable over real SSH (issue 4, item 4).

`SimulatedHost` is a Debian 12 server as the installer meets it at Hostwinds: an SSH server on
loopback (asyncssh) with key and password logins, SFTP into a sandbox folder that plays `/`, a
command table answering the commands of tests/contracts/vps/README.md like the real tools, a
Docker Compose stack whose containers get healthy on the host's clock, and `direct-tcpip`
forwarding to its own simulated Mailu API (local.mailu_sim), and - while the installed stack
runs healthy - Mailu's mail ports for clients (local.mail_sim: SMTP submission and IMAPS, TLS
from the local CA). It never executes what it receives.
`HostFleet` gives every instance the Hostwinds simulator activates such a host of its own.
"""

from __future__ import annotations

from local.vps_sim.commands import TABLE, Result, Tool, run_line
from local.vps_sim.faults import (
    FailingCommand,
    HostFault,
    HostKeyChanged,
    NeverHealthy,
    Slow,
    Unreachable,
)
from local.vps_sim.fleet import HostFleet, InstanceSource
from local.vps_sim.server import MAILU_ENV, AddressBook, SimulatedHost

__all__ = [
    "MAILU_ENV",
    "TABLE",
    "AddressBook",
    "FailingCommand",
    "HostFault",
    "HostFleet",
    "HostKeyChanged",
    "InstanceSource",
    "NeverHealthy",
    "Result",
    "SimulatedHost",
    "Slow",
    "Tool",
    "Unreachable",
    "run_line",
]
