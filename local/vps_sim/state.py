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
            if admin is None:
                return False
            now = self.clock()
            never = self.faults.never_healthy("admin")
            if admin.health(now, self.healthy_after_s, never) not in ("healthy", ""):
                return False
            return any(
                p.target == ADMIN_API_TARGET_PORT
                and p.host_port == port
                and p.protocol == "tcp"
                and p.host_ip in ("", "127.0.0.1", "0.0.0.0")  # noqa: S104
                for p in admin.service.ports
            )

    def _service_container(self, service: str) -> Container | None:
        for container in self.stack.containers.values():
            if container.service.name == service:
                return container
        return None
