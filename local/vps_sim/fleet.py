"""A simulated host for every instance the Hostwinds simulator activates, gone when it goes.

Without it a test starts a SimulatedHost by hand for an IP it has to guess. `HostFleet` listens
to the simulator: when an instance ordered over the API turns ACTIVE it starts a host with that
IP (and the instance's root password) and publishes it in the address book before the answer
showing ACTIVE leaves, so a client can SSH at once; when the instance is terminated it stops the
host. Seeded instances (benchmarks make thousands) get no host.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, Self

from local.hostwinds_sim.cloud import (
    FollowUp,
    InstanceActivated,
    InstanceListener,
    InstanceTerminated,
)
from local.loopback import StartStop
from local.vps_sim.server import SimulatedHost

log = logging.getLogger("local.vps_sim")
# A terminated instance's host is closed by the request that terminated it; close() waits this
# long for such closes still under way (a host's own close is bounded well below it).
RETIRE_WAIT_S = 30.0


class InstanceSource(Protocol):
    """What the fleet needs from the Hostwinds simulator."""

    def add_instance_listener(self, listener: InstanceListener) -> None: ...

    def remove_instance_listener(self, listener: InstanceListener) -> None: ...

    def register_host(
        self, ip: str, host: str, port: int, services: Mapping[int, int] | None = None
    ) -> None: ...

    def unregister_host(self, ip: str) -> None: ...


class HostFleet(StartStop):
    """Simulated hosts for the simulator's instances. Use as a context manager (or
    start()/close()); start it before the instances it should serve turn ACTIVE."""

    def __init__(
        self,
        hostwinds_sim: InstanceSource,
        *,
        authorized_keys: Sequence[str],
        clock: Callable[[], float] = time.monotonic,
        healthy_after_s: float = 0.0,
        pull_s: float = 0.0,
        docker_installed: bool = False,
    ) -> None:
        # Checked here: SimulatedHost would only object inside a request, where it is logged.
        if healthy_after_s < 0 or pull_s < 0:
            raise ValueError("healthy_after_s and pull_s must not be negative")
        self._sim = hostwinds_sim
        self._authorized_keys = tuple(authorized_keys)
        self._clock = clock
        self._healthy_after_s = healthy_after_s
        self._pull_s = pull_s
        self._docker_installed = docker_installed
        self._lock = threading.Lock()
        self._retired = threading.Condition(self._lock)
        self._running = False
        self._hosts: dict[str, SimulatedHost] = {}
        self._retiring: set[SimulatedHost] = set()

    # ---- lifecycle -----------------------------------------------------------------------

    def start(self) -> Self:
        with self._lock:
            if self._running:
                raise RuntimeError("the host fleet is already running")
            self._running = True
        self._sim.add_instance_listener(self)
        return self

    def close(self) -> None:
        """Stop listening, unpublish and close every host (threads joined, sandboxes removed),
        and wait for hosts of terminated instances still closing. Idempotent."""
        with self._lock:
            self._running = False
        # Takes the simulator's lock: an activation being handled now finishes first, and no
        # later one reaches us, so the snapshot below misses no host.
        self._sim.remove_instance_listener(self)
        with self._lock:
            hosts, self._hosts = self._hosts, {}
        with contextlib.ExitStack() as closing:
            for ip, host in hosts.items():
                closing.callback(host.close)
                # Unpublished before any host closes: nobody is sent to a dead port.
                self._sim.unregister_host(ip)
        with self._lock:
            if not self._retired.wait_for(lambda: not self._retiring, RETIRE_WAIT_S):
                log.warning("host fleet: %d host(s) still closing", len(self._retiring))

    # ---- what the fleet holds ------------------------------------------------------------

    @property
    def hosts(self) -> Mapping[str, SimulatedHost]:
        """IP -> running host, a snapshot."""
        with self._lock:
            return dict(self._hosts)

    def host(self, ip: str) -> SimulatedHost:
        """The running host for `ip`; KeyError if there is none."""
        with self._lock:
            try:
                return self._hosts[ip]
            except KeyError:
                raise KeyError(f"no simulated host for {ip}") from None

    # ---- InstanceListener: called by the simulator under its lock ------------------------

    def instance_activated(self, event: InstanceActivated) -> FollowUp | None:
        with self._lock:
            if not self._running or event.ip in self._hosts:
                return None
        # Started and published here, not in a follow-up: the client must find the host the
        # moment it reads ACTIVE, and the simulator's lock keeps a termination from
        # overtaking it. A start costs a few milliseconds.
        host = SimulatedHost(
            ip=event.ip,
            authorized_keys=self._authorized_keys,
            root_password=event.root_password,
            docker_installed=self._docker_installed,
            clock=self._clock,
            healthy_after_s=self._healthy_after_s,
            pull_s=self._pull_s,
        ).start()
        kept = False
        try:
            host.register(self._sim)
            with self._lock:
                kept = self._running  # close() may have begun: it would never see this host
                if kept:
                    self._hosts[event.ip] = host
        finally:
            if not kept:
                self._sim.unregister_host(event.ip)
                host.close()
        return None

    def instance_terminated(self, event: InstanceTerminated) -> FollowUp | None:
        with self._lock:
            host = self._hosts.pop(event.ip, None)
            if host is None:
                return None
            self._retiring.add(host)
        # The simulator has dropped the entry already; the fleet does not rely on it.
        self._sim.unregister_host(event.ip)
        # Closing may take a while with sessions open: done after the simulator lets go of its
        # lock, still before the terminate answer is sent.
        return lambda: self._retire(host)

    def _retire(self, host: SimulatedHost) -> None:
        try:
            host.close()
        finally:
            with self._lock:
                self._retiring.discard(host)
                self._retired.notify_all()
