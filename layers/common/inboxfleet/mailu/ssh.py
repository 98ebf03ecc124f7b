"""SSH and SFTP to a mail server, through paramiko. The only module that imports it.

One connection per action. The host key is pinned: on first contact (no fingerprint known yet)
the key presented is accepted and its fingerprint returned for the server row; from then on
any other key is refused before authentication. Only the platform key authenticates; no agent,
no key files, no passwords. Every remote command is an argv list joined with shlex, and never
carries a secret (files go over SFTP, API calls through a forwarded channel).
"""

from __future__ import annotations

import io
import posixpath
import secrets
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import paramiko

from inboxfleet.mailu.errors import (
    HostKeyMismatch,
    RemoteCommandFailed,
    SshAuthRejected,
    SshUnreachable,
)
from inboxfleet.mailu.render import RenderedFile

Resolver = Callable[[str], tuple[str, int]]
STDERR_TAIL_LINES = 8
NO_EXIT_STATUS = -1  # paramiko's, for a channel that closed without one (dropped, or a signal)


def same_ip_port_22(ip: str) -> tuple[str, int]:
    """Production: the server's own address, port 22."""
    return ip, 22


@dataclass(frozen=True)
class CommandResult:
    exit_status: int
    stdout: str
    stderr: str


class _PinnedHostKey(paramiko.MissingHostKeyPolicy):
    """Never AutoAdd: accept exactly the pinned key, or any key on first contact (recorded)."""

    def __init__(self, expected: str | None) -> None:
        self.expected = expected
        self.seen: str | None = None

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        self.seen = key.fingerprint
        if self.expected is not None and key.fingerprint != self.expected:
            raise HostKeyMismatch(
                f"{hostname} presented {key.fingerprint}, but {self.expected} is pinned"
            )


def _program(argv: Sequence[str]) -> str:
    """The program a command runs, `env VAR=... prog` included: what an error should name."""
    words = [w for w in argv if "=" not in w]
    if words and words[0] == "env":
        words = words[1:]
    return " ".join(words[:2]) if words else "?"


def load_private_key(text: str) -> paramiko.PKey:
    for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return kind.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError):
            continue
    raise SshAuthRejected("the platform key is not a readable OpenSSH/PEM private key")


class SshSession:
    """One SSH connection to one server; use as a context manager."""

    def __init__(
        self,
        ip: str,
        key: paramiko.PKey,
        *,
        pinned_fingerprint: str | None,
        resolver: Resolver = same_ip_port_22,
        username: str = "root",
        connect_timeout_s: float = 15.0,
        command_timeout_s: float = 900.0,
        redact: Sequence[str] = (),
    ) -> None:
        self.ip = ip
        self._key = key
        self._policy = _PinnedHostKey(pinned_fingerprint)
        self._resolver = resolver
        self._username = username
        self._connect_timeout_s = connect_timeout_s
        self._command_timeout_s = command_timeout_s
        self._redact = [s for s in redact if s]
        self._client = paramiko.SSHClient()
        self._client.set_missing_host_key_policy(self._policy)
        self._sftp: paramiko.SFTPClient | None = None
        self.round_trips = 0

    # -- connection -------------------------------------------------------------------------

    def __enter__(self) -> SshSession:
        host, port = self._resolver(self.ip)
        try:
            self._client.connect(
                host,
                port=port,
                username=self._username,
                pkey=self._key,
                allow_agent=False,
                look_for_keys=False,
                timeout=self._connect_timeout_s,
                banner_timeout=self._connect_timeout_s,
                auth_timeout=self._connect_timeout_s,
                channel_timeout=self._connect_timeout_s,
            )
        except HostKeyMismatch:
            self._client.close()
            raise
        except paramiko.AuthenticationException:
            self._client.close()
            raise SshAuthRejected(f"{self.ip}: the platform key was refused") from None
        except (OSError, paramiko.SSHException, EOFError) as exc:
            self._client.close()
            raise SshUnreachable(f"{self.ip}: cannot open SSH ({type(exc).__name__})") from None
        self.round_trips += 1
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._sftp is not None:
            self._sftp.close()
        self._client.close()

    @property
    def host_key_fingerprint(self) -> str:
        transport = self._client.get_transport()
        if transport is None:
            raise SshUnreachable(f"{self.ip}: not connected")
        return str(transport.get_remote_server_key().fingerprint)

    # -- commands ---------------------------------------------------------------------------

    def run(self, *commands: Sequence[str], check: bool = True) -> CommandResult:
        """Run one command, or several joined by `&&`; each is an argv list, quoted here."""
        line = " && ".join(shlex.join(argv) for argv in commands)
        name = " && ".join(_program(argv) for argv in commands)
        self.round_trips += 1
        try:
            # stdin stays referenced to the end of this call: collected, it would send EOF
            # (see _closed_by_host).
            _stdin, stdout, stderr = self._client.exec_command(
                line, timeout=self._command_timeout_s
            )
            out = stdout.read().decode(errors="replace")
            err = stderr.read().decode(errors="replace")
            status = stdout.channel.recv_exit_status()
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise SshUnreachable(
                f"{self.ip}: {name} lost its channel ({type(exc).__name__})"
            ) from None
        if status == NO_EXIT_STATUS and not _closed_by_host(stdout.channel):
            # The connection dropped before the host said how the command ended: not a failed
            # command, retried like any lost connection. (A command killed by a signal also
            # has no exit status, but the host closes its channel in order: it failed.)
            raise SshUnreachable(f"{self.ip}: {name} lost its channel (connection dropped)")
        result = CommandResult(status, out, err)
        if check and status != 0:
            why = self._tail(err or out)
            if status == NO_EXIT_STATUS:
                why = f"ended by a signal, no exit status. {why}".strip()
            raise RemoteCommandFailed(name, status, why)
        return result

    def add_redaction(self, secret: str) -> None:
        """Never let `secret` appear in an error this session raises."""
        if secret:
            self._redact.append(secret)

    def _tail(self, text: str) -> str:
        tail = "\n".join(text.strip().splitlines()[-STDERR_TAIL_LINES:])
        for secret in self._redact:
            tail = tail.replace(secret, "***")
        return tail

    # -- files ------------------------------------------------------------------------------

    def _sftp_client(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            try:
                self._sftp = self._client.open_sftp()
            except (OSError, paramiko.SSHException) as exc:
                raise SshUnreachable(f"{self.ip}: no SFTP ({type(exc).__name__})") from None
            channel = self._sftp.get_channel()
            if channel is not None:
                channel.settimeout(self._connect_timeout_s)
        return self._sftp

    def read_text(self, path: str) -> str | None:
        """The file's text, or None when it does not exist."""
        sftp = self._sftp_client()
        self.round_trips += 3  # open, read, close
        try:
            with sftp.open(path, "r") as handle:
                data: bytes = handle.read()
        except FileNotFoundError:
            return None
        except (OSError, paramiko.SSHException) as exc:
            raise SshUnreachable(f"{self.ip}: cannot read {path} ({type(exc).__name__})") from None
        return data.decode(errors="replace")

    def mode_of(self, path: str) -> int | None:
        self.round_trips += 1
        try:
            attrs = self._sftp_client().stat(path)
        except FileNotFoundError:
            return None
        return None if attrs.st_mode is None else attrs.st_mode & 0o7777

    def ensure_dir(self, path: str, mode: int) -> bool:
        """Create the directory (and parents) if missing, and set its mode; True if changed."""
        current = self.mode_of(path)
        if current == mode:
            return False
        sftp = self._sftp_client()
        if current is None:
            parent = posixpath.dirname(path.rstrip("/"))
            if parent not in ("", "/") and self.mode_of(parent) is None:
                self.ensure_dir(parent, 0o755)
            self.round_trips += 1
            sftp.mkdir(path, mode)
        self.round_trips += 1
        sftp.chmod(path, mode)
        return True

    def ensure_file(self, file: RenderedFile) -> bool:
        """Write `file` atomically unless it is already there with that content and mode;
        True if anything changed."""
        if self.read_text(file.path) == file.content:
            if self.mode_of(file.path) == file.mode:
                return False
            self.round_trips += 1
            self._sftp_client().chmod(file.path, file.mode)
            return True
        sftp = self._sftp_client()
        directory, name = posixpath.split(file.path)
        temporary = posixpath.join(directory, f".{name}.tmp-{secrets.token_hex(4)}")
        self.round_trips += 5  # open, setstat, write, close, rename
        try:
            # "x": never write through a file someone else created at that name. The mode is
            # set before any content is written, so a secret never sits readable.
            with sftp.open(temporary, "wx") as handle:
                handle.chmod(file.mode)
                handle.write(file.content.encode())
            sftp.posix_rename(temporary, file.path)
        except (OSError, paramiko.SSHException) as exc:
            raise SshUnreachable(
                f"{self.ip}: cannot write {file.path} ({type(exc).__name__})"
            ) from None
        return True

    # -- forwarded channel ------------------------------------------------------------------

    def open_local_port(self, port: int) -> Any:
        """A channel to 127.0.0.1:<port> on the server (direct-tcpip), socket-like."""
        transport = self._client.get_transport()
        if transport is None:
            raise SshUnreachable(f"{self.ip}: not connected")
        self.round_trips += 1
        try:
            channel = transport.open_channel(
                "direct-tcpip",
                ("127.0.0.1", port),
                ("127.0.0.1", 0),
                timeout=self._connect_timeout_s,
            )
        except (TimeoutError, paramiko.ChannelException, paramiko.SSHException) as exc:
            raise ConnectionRefusedError(f"127.0.0.1:{port} on {self.ip}") from exc
        channel.settimeout(self._connect_timeout_s)
        return channel


def _closed_by_host(channel: paramiko.Channel) -> bool:
    """Whether the host ended the channel in order: its CLOSE is answered by paramiko with EOF
    and CLOSE of our own, so EOF sent means the host closed it. A dropped connection only
    unlinks the channel (even after the host's EOF, which comes before the exit status), and
    `run` never sends EOF itself: it keeps the command's stdin referenced until the end (a
    collected stdin file would send EOF on its way out)."""
    return bool(channel.eof_sent)
