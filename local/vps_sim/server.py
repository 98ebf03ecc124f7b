"""A simulated VPS: a real SSH server (asyncssh) on 127.0.0.1 that plays a fresh Debian 12 server.

It runs its own asyncio loop in a background thread. Exec requests go to the command table
(commands.py), the `sftp` subsystem serves the sandbox folder that plays `/`, and `direct-tcpip`
channels reach the host's simulated Mailu admin API while the stack publishes it. Nothing
received is ever executed on the real machine.

Beside SSH the host serves Mailu's mail ports for clients, SMTP submission ("587") and IMAPS
("993"), on loopback ports of their own (local.mail_sim): they serve while the installed stack
runs healthy, with a certificate from the local CA for the installed HOSTNAMES, and deliver
into the host's in-memory mail store. `register` publishes all three ports.

Logins follow sshd's policy in force: root may log in with a key from /root/.ssh/authorized_keys
(read at each attempt) and, while the effective configuration says `PasswordAuthentication yes`
and `PermitRootLogin yes`, with the root password (keyboard-interactive likewise follows
KbdInteractiveAuthentication, which Debian turns off). Edits to sshd_config.d take effect at
`systemctl reload ssh`, as on a real server.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import shutil
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, Self, TypeVar

import asyncssh

from local.loopback import StartStop
from local.mail_sim.host import Certificates
from local.mail_sim.mailboxes import MailStore
from local.mail_sim.ports import IDLE_S, MailPorts
from local.mailu_sim import MailuApiSimulator
from local.vps_sim import commands
from local.vps_sim.faults import (
    FailingCommand,
    HostFault,
    HostFaults,
    HostKeyChanged,
    NeverHealthy,
    Slow,
    Unreachable,
)
from local.vps_sim.sandbox import AUTHORIZED_KEYS, parse_env_file, read_text, seed
from local.vps_sim.sftp import SandboxSFTPServer
from local.vps_sim.state import Machine

log = logging.getLogger("local.vps_sim")
T = TypeVar("T")
MAILU_ENV = "/mailu/mailu.env"
CALL_TIMEOUT_S = 10.0
SSH_PORT = 22


class AddressBook(Protocol):
    """What `register` needs from the Hostwinds simulator."""

    def register_host(
        self, ip: str, host: str, port: int, services: Mapping[int, int] | None = None
    ) -> None: ...


def _new_host_key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519")


class _Connection(asyncssh.SSHServer):
    """One client connection: authentication and port-forwarding decisions."""

    def __init__(self, host: SimulatedHost) -> None:
        self._host = host
        self._conn: asyncssh.SSHServerConnection | None = None
        self._username = ""

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._host._connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._host._connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        self._username = username
        return True

    def _allows(self, method: str) -> bool:
        return self._username == "root" and self._host._machine_now().sshd.allows(method, "root")

    def public_key_auth_supported(self) -> bool:
        return self._allows("publickey")

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return self._allows("publickey") and key.public_data in self._host._authorized_keys()

    def password_auth_supported(self) -> bool:
        return self._allows("password")

    def validate_password(self, username: str, password: str) -> bool:
        return self._allows("password") and self._host._password_ok(password)

    def kbdint_auth_supported(self) -> bool:
        return self._allows("keyboard-interactive")

    def get_kbdint_challenge(
        self, username: str, lang: str, submethods: str
    ) -> tuple[str, str, str, tuple[tuple[str, bool], ...]]:
        return "", "", "", (("Password: ", False),)

    def validate_kbdint_response(self, username: str, responses: Sequence[str]) -> bool:
        return (
            self._allows("keyboard-interactive")
            and len(responses) == 1
            and self._host._password_ok(responses[0])
        )

    def connection_requested(
        self, dest_host: str, dest_port: int, orig_host: str, orig_port: int
    ) -> Any:
        conn = self._conn
        if conn is not None and self._host._machine_now().admin_api_open(dest_host, dest_port):
            return conn.forward_connection("127.0.0.1", self._host.mailu.port)
        raise asyncssh.ChannelOpenError(asyncssh.OPEN_CONNECT_FAILED, "Connection refused")

    def server_requested(self, listen_host: str, listen_port: int) -> bool:
        return False  # no remote (-R) forwarding


class SimulatedHost(StartStop):
    """One simulated VPS. Use as a context manager (or start()/close())."""

    def __init__(
        self,
        *,
        ip: str,
        authorized_keys: Sequence[str] = (),
        root_password: str = "",
        docker_installed: bool = False,
        clock: Callable[[], float] = time.monotonic,
        healthy_after_s: float = 0.0,
        pull_s: float = 0.0,
        sandbox: Path | None = None,
        mail_idle_s: float = IDLE_S,
    ) -> None:
        if healthy_after_s < 0 or pull_s < 0:
            raise ValueError("healthy_after_s and pull_s must not be negative")
        if mail_idle_s <= 0:
            raise ValueError("mail_idle_s must be positive")
        self.ip = ip
        self._initial_keys = tuple(authorized_keys)
        self._root_password = root_password
        self._docker_installed = docker_installed
        self._clock = clock
        self._healthy_after_s = healthy_after_s
        self._pull_s = pull_s
        self._given_sandbox = sandbox
        self._root: Path | None = None
        self._faults = HostFaults()
        self._host_key = _new_host_key()
        self._machine: Machine | None = None
        self._mailu: MailuApiSimulator | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._connections: set[asyncssh.SSHServerConnection] = set()
        self._port = 0
        self._mail_store = MailStore()
        self._certificates = Certificates(self._hostnames)
        self._mail_ports = MailPorts(_MailBackend(self), idle_s=mail_idle_s)
        self._unreachable = False
        self._record_lock = threading.Lock()
        self._commands: list[str] = []
        self._sftp_ops: list[tuple[str, str]] = []

    # ---- lifecycle -----------------------------------------------------------------------

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError("the simulated host is already running")
        root = self._given_sandbox or Path(tempfile.mkdtemp(prefix="vps-sim-", dir="/tmp"))
        root.mkdir(parents=True, exist_ok=True)
        self._root = root
        try:
            seed(root, self._initial_keys)
            self._machine = Machine(
                root,
                clock=self._clock,
                healthy_after_s=self._healthy_after_s,
                pull_s=self._pull_s,
                faults=self._faults,
                docker_installed=self._docker_installed,
            )
            self._mailu = MailuApiSimulator(self._mailu_env).start()
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(
                target=self._loop.run_forever, name=f"vps-sim-{self.ip}", daemon=True
            )
            self._thread.start()
            self._call(self._listen(0))
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Close every connection, stop the loop, join its thread, remove the sandbox (unless
        the caller supplied it). Idempotent."""
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None:
            with contextlib.suppress(Exception):
                self._call(self._shutdown())
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
        if loop is not None:
            loop.close()
        self._loop = self._thread = None
        self._acceptor = None
        if self._mailu is not None:
            self._mailu.close()
            self._mailu = None
        if self._root is not None and self._given_sandbox is None:
            shutil.rmtree(self._root, ignore_errors=True)
        self._root = None

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("the simulated host is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(CALL_TIMEOUT_S)

    async def _listen(self, port: int) -> None:
        root = self._sandbox_root()
        self._acceptor = await asyncssh.listen(
            "127.0.0.1",
            port,
            server_factory=lambda: _Connection(self),
            server_host_keys=[self._host_key],
            process_factory=self._handle_process,
            sftp_factory=lambda chan: SandboxSFTPServer(
                chan, root=str(root), record=self._record_sftp
            ),
            allow_scp=False,
            agent_forwarding=False,
            x11_forwarding=False,
            reuse_address=True,
        )
        self._port = self._acceptor.get_port()
        await self._mail_ports.listen()

    async def _go_dark(self) -> None:
        acceptor, self._acceptor = self._acceptor, None
        await self._mail_ports.close()
        if acceptor is not None:
            acceptor.close()
        for conn in list(self._connections):
            conn.abort()
        self._connections.clear()
        if acceptor is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(acceptor.wait_closed(), 2.0)

    async def _shutdown(self) -> None:
        await self._go_dark()
        current = asyncio.current_task()
        pending = [task for task in asyncio.all_tasks() if task is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await asyncio.get_running_loop().shutdown_default_executor()

    # ---- what the host is ----------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._thread is None:
            raise RuntimeError("the simulated host is not running")
        return self._port

    @property
    def mail_ports(self) -> dict[int, int]:
        """The mail ports: real port -> loopback port, {587: ..., 993: ...}."""
        if self._thread is None:
            raise RuntimeError("the simulated host is not running")
        return self._mail_ports.ports

    @property
    def services(self) -> dict[int, int]:
        """Every port the host serves: real port -> loopback port (22, 587, 993)."""
        return {SSH_PORT: self.port, **self.mail_ports}

    @property
    def mail_store(self) -> MailStore:
        """What the host's IMAP serves: every message delivered here."""
        return self._mail_store

    @property
    def certificate_names(self) -> tuple[str, ...]:
        """The names of the TLS certificate the mail ports present (empty before the first
        TLS use)."""
        return self._certificates.issued_for

    @property
    def sandbox(self) -> Path:
        return self._sandbox_root()

    @property
    def host_key_fingerprint(self) -> str:
        """The current host key's fingerprint in OpenSSH's form, `SHA256:<base64>`."""
        return str(self._host_key.get_fingerprint("sha256"))

    @property
    def mailu_secrets(self) -> list[str]:
        """The secrets the installed mailu.env holds (API token, secret key): what a test
        checks never leaves the server."""
        env = self._mailu_env()
        return [v for k, v in env.items() if k in ("API_TOKEN", "SECRET_KEY") and v]

    @property
    def mailu(self) -> MailuApiSimulator:
        if self._mailu is None:
            raise RuntimeError("the simulated host is not running")
        return self._mailu

    @property
    def commands(self) -> list[str]:
        """Every exec command line received, in order, exactly as received."""
        with self._record_lock:
            return list(self._commands)

    @property
    def sftp_writes(self) -> list[str]:
        """Every path opened for writing over SFTP, in order, as the client named it."""
        with self._record_lock:
            return [path for op, path in self._sftp_ops if op == "write"]

    @property
    def sftp_ops(self) -> list[tuple[str, str]]:
        """Every change made over SFTP: (write|setstat|mkdir|rmdir|remove|rename|symlink|link,
        path), in order; for renames and links the new path."""
        with self._record_lock:
            return list(self._sftp_ops)

    @property
    def journal(self) -> list[str]:
        """What systemd's journal would hold for the units started on the host."""
        machine = self._machine_now()
        with machine.lock:
            return list(machine.journal)

    @property
    def password_login_enabled(self) -> bool:
        """Whether sshd, as configured now, lets root log in with a password."""
        return self._machine_now().sshd.allows("password", "root")

    @property
    def packages(self) -> frozenset[str]:
        machine = self._machine_now()
        with machine.lock:
            return frozenset(machine.packages)

    def register(self, hostwinds_sim: AddressBook) -> None:
        """Publish in the Hostwinds simulator's address book that `ip` reaches us: SSH and
        the mail ports."""
        hostwinds_sim.register_host(self.ip, "127.0.0.1", self.port, services=self.services)

    # ---- faults --------------------------------------------------------------------------

    def inject(self, fault: HostFault) -> None:
        match fault:
            case Unreachable():
                if not self._unreachable:
                    self._unreachable = True
                    self._call(self._go_dark())
            case HostKeyChanged():
                self._host_key = _new_host_key()
                if self._acceptor is not None:
                    self._call(self._update_key())
            case Slow() | NeverHealthy() | FailingCommand():
                self._faults.add(fault)

    async def _update_key(self) -> None:
        if self._acceptor is not None:
            self._acceptor.update(server_host_keys=[self._host_key])

    def restore(self) -> None:
        """End an Unreachable fault: listen again on the same ports."""
        if self._unreachable:
            self._call(self._listen(self._port))
            self._unreachable = False

    def clear_faults(self) -> None:
        """Forget every fault and restore reachability (a changed host key stays changed)."""
        self._faults.clear()
        self.restore()

    def pending_faults(self) -> int:
        return self._faults.pending() + (1 if self._unreachable else 0)

    # ---- serving -------------------------------------------------------------------------

    def _sandbox_root(self) -> Path:
        if self._root is None:
            raise RuntimeError("the simulated host is not running")
        return self._root

    def _machine_now(self) -> Machine:
        if self._machine is None:
            raise RuntimeError("the simulated host is not running")
        return self._machine

    def _mailu_env(self) -> dict[str, str]:
        root = self._root
        text = read_text(root, MAILU_ENV) if root is not None else None
        return parse_env_file(text or "")

    def _hostnames(self) -> list[str]:
        return self._mailu_env().get("HOSTNAMES", "").split(",")

    def _authorized_keys(self) -> set[bytes]:
        text = read_text(self._sandbox_root(), AUTHORIZED_KEYS) or ""
        keys = set()
        for line in text.splitlines():
            with contextlib.suppress(asyncssh.KeyImportError, ValueError):
                keys.add(asyncssh.import_public_key(line.strip()).public_data)
        return keys

    def _password_ok(self, password: str) -> bool:
        expected = self._root_password.encode()
        return bool(expected) and hmac.compare_digest(password.encode(), expected)

    def _record_sftp(self, operation: str, path: str) -> None:
        with self._record_lock:
            self._sftp_ops.append((operation, path))

    async def _handle_process(self, process: asyncssh.SSHServerProcess[str]) -> None:
        command = process.command
        if command is None:
            process.stderr.write("simulated host: no interactive shell, send a command\n")
            process.exit(1)
            return
        with self._record_lock:
            self._commands.append(command)
        delay = self._faults.take_delay()
        if delay:
            await asyncio.sleep(delay)
        try:
            result = commands.run_line(self._machine_now(), command)
        except Exception:
            # A simulator bug must show up as a failed command, not a dropped connection.
            log.exception("simulated host %s: the command table failed", self.ip)
            result = commands.Result(70, "", "simulated host: internal error (see the log)\n")
        try:
            process.stdout.write(result.stdout)
            process.stderr.write(result.stderr)
            if result.signal is not None:
                process.exit_with_signal(result.signal)
            else:
                process.exit(result.exit_status)
        except (OSError, asyncssh.Error):
            log.debug("simulated host %s: the client left before the answer", self.ip)


class _MailBackend:
    """The host as its mail ports see it (local.mail_sim.host.MailHost)."""

    def __init__(self, host: SimulatedHost) -> None:
        self._host = host

    @property
    def mail_store(self) -> MailStore:
        return self._host._mail_store

    def mail_names(self) -> tuple[str, ...]:
        return self._host._certificates.current_names()

    def mail_service_up(self, port: int) -> bool:
        return self._host._machine_now().mail_port_open(port)

    def tls_context(self) -> ssl.SSLContext | None:
        return self._host._certificates.context()

    def login_allowed(self, address: str, password: str) -> bool:
        return self._host.mailu.login_allowed(address, password)

    def has_mailbox(self, address: str) -> bool:
        return self._host.mailu.has_mailbox(address)

    def hosts_domain(self, domain: str) -> bool:
        return self._host.mailu.hosts_domain(domain)
