"""Everything a simulated host remembers besides its files: installed packages, apt indexes,
the firewall, the sshd policy in force, transient systemd units and the containers.

One re-entrant lock guards it all: commands run on the host's event loop thread while tests
look in from theirs. Time is the host's clock; background work is lazy - `tick()` (called
before every command and every check) finishes the systemd units whose time has come.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from local.vps_sim import apt, sshd_config
from local.vps_sim.compose import Container, Stack
from local.vps_sim.faults import HostFaults
from local.vps_sim.ufw import Firewall

Clock = Callable[[], float]

# Container port of Mailu's admin (gunicorn), where WEB_API is served.
ADMIN_API_TARGET_PORT = 8080
# The mail ports clients use, and the container behind the front (nginx) for each. The admin
# container checks every login, so it must be healthy too.
MAIL_PORT_BACKENDS = {587: "smtp", 993: "imap"}
# Host addresses a client on the internet reaches (a loopback-only publication is not one).
_PUBLIC_BINDS = ("", "0.0.0.0", "::")  # noqa: S104


@dataclass
class Unit:
    """A transient unit started by systemd-run; `finish(end)` is its work, returning a status."""

    name: str
    ends_at: float
    collect: bool
    finish: Callable[[float], int]
    state: str = "active"  # active -> inactive (exit 0) or failed


class Machine:
    def __init__(
        self,
        root: Path,
        *,
        clock: Clock,
        healthy_after_s: float,
        pull_s: float,
        faults: HostFaults,
        docker_installed: bool,
    ) -> None:
        self.lock = threading.RLock()
        self.root = root
        self.clock = clock
        self.healthy_after_s = healthy_after_s
        self.pull_s = pull_s
        self.faults = faults
        self.packages: set[str] = set(apt.PREINSTALLED)
        self.repositories: frozenset[str] = frozenset({"debian"})
        if docker_installed:
            self.packages |= apt.DOCKER_PACKAGES
            self.repositories |= {"docker"}
        self.firewall = Firewall()
        # The policy sshd started with at boot; file edits count only after a reload.
        self.sshd = sshd_config.load(root).policy or sshd_config.SshdPolicy()
        self.units: dict[str, Unit] = {}
        self.stack = Stack()
        self.journal: list[str] = []

    def tick(self) -> None:
        """Finish the units whose background work has ended by now (lazy, no threads)."""
        with self.lock:
            now = self.clock()
            for unit in list(self.units.values()):
                if unit.state == "active" and now >= unit.ends_at:
                    status = unit.finish(unit.ends_at)
                    unit.state = "inactive" if status == 0 else "failed"
                    self.log(
                        f"{unit.name}: Deactivated successfully."
                        if status == 0
                        else f"{unit.name}: Main process exited, status={status}/FAILURE"
                    )
                    if unit.collect or status == 0:
                        del self.units[unit.name]

    def log(self, line: str) -> None:
        with self.lock:
            self.journal.append(line)

    # ---- what the SSH server asks ---------------------------------------------------------

    def admin_api_open(self, host: str, port: int) -> bool:
        """Whether 127.0.0.1:<port> reaches Mailu's API now: the admin container runs, is
        healthy and publishes its port 8080 there (loopback or all addresses)."""
        if host != "127.0.0.1":
            return False
        with self.lock:
            self.tick()
            admin = self._service_container("admin")
            if admin is None or not self._healthy(admin):
                return False
            return any(
                p.target == ADMIN_API_TARGET_PORT
                and p.host_port == port
                and p.protocol == "tcp"
                and p.host_ip in ("", "127.0.0.1", "0.0.0.0")  # noqa: S104
                for p in admin.service.ports
            )

    def mail_port_open(self, port: int) -> bool:
        """Whether a mail client reaching the server's public `port` (587 or 993) is served
        now: the front publishes it on a public address, and front, the container behind it
        and admin run healthy. The firewall is not consulted: Docker publishes ports through
        its own iptables chains, ahead of ufw's, as on a real server."""
        backend = MAIL_PORT_BACKENDS.get(port)
        if backend is None:
            return False
        with self.lock:
            self.tick()
            front = self._service_container("front")
            if front is None or not any(
                p.target == port
                and p.host_port == port
                and p.protocol == "tcp"
                and p.host_ip in _PUBLIC_BINDS
                for p in front.service.ports
            ):
                return False
            containers = [front, self._service_container(backend), self._service_container("admin")]
            return all(c is not None and self._healthy(c) for c in containers)

    def _healthy(self, container: Container) -> bool:
        never = self.faults.never_healthy(container.service.name)
        return container.health(self.clock(), self.healthy_after_s, never) in ("healthy", "")

    def _service_container(self, service: str) -> Container | None:
        for container in self.stack.containers.values():
            if container.service.name == service:
                return container
        return None
