"""Fault injection for a simulated host: one dataclass per fault, a thread-safe book of them.

Tests inject from their own thread while the host's event loop reads the book, so every access
takes the lock. Two faults act at once on the host itself (see `SimulatedHost.inject`):
`Unreachable` (a state, until `restore()` or `clear_faults()`) and `HostKeyChanged` (a one-off
rotation). The others are consulted as commands run: `Slow` and `FailingCommand` are used up
after `times` commands, `NeverHealthy` holds until cleared.
"""

from __future__ import annotations

import signal as signal_module
import threading
from dataclasses import dataclass

from local.fault_book import FaultBook


@dataclass(frozen=True, kw_only=True)
class Unreachable:
    """The host goes dark: the listener closes (connect refused) and open SSH connections drop,
    as when a server is powered off. `host.restore()` or `host.clear_faults()` brings the
    listener back on the same port."""


@dataclass(frozen=True, kw_only=True)
class Slow:
    """Wait `delay_s` (real seconds) before running each exec command and answering it.

    Only exec requests are delayed: the SSH handshake, SFTP and forwarded channels answer at
    normal speed. `times=None` slows every command until cleared; otherwise the next `times`.
    A command whose client gave up still runs when the delay ends (like a slow real host);
    closing the host ends pending delays without running them."""

    delay_s: float
    times: int | None = None

    def __post_init__(self) -> None:
        if self.delay_s < 0:
            raise ValueError("delay_s must not be negative")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1 (or None for every command)")


@dataclass(frozen=True, kw_only=True)
class HostKeyChanged:
    """A new ed25519 host key at once, like a reinstalled server: connections made after the
    injection see the new key and fingerprint (`host.host_key_fingerprint` follows)."""


@dataclass(frozen=True, kw_only=True)
class NeverHealthy:
    """That service's container never passes its health check: `starting` until the host's
    `healthy_after_s` has passed, then `unhealthy`, until the fault is cleared."""

    service: str = "admin"


@dataclass(frozen=True, kw_only=True)
class FailingCommand:
    """The next `times` commands whose program is `program` fail with this status and stderr,
    without any effect. The program is a segment's argv[0] (basename), or the program `env`
    or `command` runs; in `a && b` only the matching segment fails (and stops the chain)."""

    program: str = "ufw"
    exit_status: int = 1
    stderr: str = (
        "ERROR: problem running iptables: Another app is currently holding the xtables lock.\n"
    )
    times: int = 1
    # Killed by this signal instead ("KILL", as the OOM killer does): the last command of a
    # line (or a lone one), which bash execs, is reported as exit-signal with no exit status;
    # an earlier one in a chain as exit status 128 + the signal's number.
    signal: str | None = None

    def __post_init__(self) -> None:
        if not self.program:
            raise ValueError("program must not be empty")
        if not 1 <= self.exit_status <= 255:
            raise ValueError("exit_status must be 1-255")
        if self.times < 1:
            raise ValueError("times must be at least 1")
        if self.signal is not None and not hasattr(signal_module.Signals, f"SIG{self.signal}"):
            raise ValueError(f"no signal SIG{self.signal}")


HostFault = Unreachable | Slow | HostKeyChanged | NeverHealthy | FailingCommand


class HostFaults:
    """The consumable faults of one host (Unreachable and HostKeyChanged live on the host)."""

    def __init__(self) -> None:
        self._slow: FaultBook[Slow] = FaultBook()
        self._failing: FaultBook[FailingCommand] = FaultBook()
        self._lock = threading.Lock()
        self._never_healthy: set[str] = set()

    def add(self, fault: Slow | NeverHealthy | FailingCommand) -> None:
        match fault:
            case Slow():
                self._slow.add(fault, fault.times)
            case FailingCommand():
                self._failing.add(fault, fault.times)
            case NeverHealthy(service=service):
                with self._lock:
                    self._never_healthy.add(service)

    def take_delay(self) -> float:
        """The delay for the next command (0.0 when no Slow fault applies); uses one up."""
        slow = self._slow.take(lambda _: True)
        return 0.0 if slow is None else slow.delay_s

    def take_failure(self, program: str) -> FailingCommand | None:
        return self._failing.take(lambda fault: fault.program == program)

    def never_healthy(self, service: str) -> bool:
        with self._lock:
            return service in self._never_healthy

    def pending(self) -> int:
        with self._lock:
            healthy_faults = len(self._never_healthy)
        return self._slow.pending() + self._failing.pending() + healthy_faults

    def clear(self) -> None:
        self._slow.clear()
        self._failing.clear()
        with self._lock:
            self._never_healthy.clear()
