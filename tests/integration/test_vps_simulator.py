"""The simulated VPS host over real SSH/SFTP on loopback, driven by paramiko (the installer's
client library) - never through inboxfleet.mailu, so the simulator answers the contract in
tests/contracts/vps/README.md on its own and cannot drift into a private dialect.

The Mailu API is reached the way the installer reaches it: a `direct-tcpip` channel to
127.0.0.1:8080 on the host, used as the socket of an `http.client.HTTPConnection`
(`conn.sock = channel`), one keep-alive HTTP/1.1 connection for many requests. Time is a fake
clock; nothing sleeps for timing.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import re
import secrets
import socket
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import paramiko
import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_der_public_key

from local.fake_clock import FakeClock
from local.hostwinds_sim import HostwindsSimulator
from local.mailu_sim import MailuApiSimulator
from local.platform_key import platform_key
from local.vps_sim import (
    FailingCommand,
    HostKeyChanged,
    NeverHealthy,
    SimulatedHost,
    Slow,
    Unreachable,
)

IP = "203.0.113.10"
ROOT_PASSWORD = "hwroot-" + secrets.token_urlsafe(12)  # a leakcheck marker: must never be logged
API_TOKEN = "T0ken" + secrets.token_hex(20)
MAILBOX_PASSWORD = "Mailbox-" + secrets.token_hex(8)
HEALTHY_AFTER_S = 90.0
PULL_S = 30.0
UNIT = "mailu-up-0123456789ab"
COMPOSE = "docker compose --project-directory /mailu --project-name mailu"
PS = f"{COMPOSE} ps --all --format json"
UP = f"systemd-run --unit={UNIT} --collect {COMPOSE} up -d --remove-orphans"
SERVICES = ("admin", "antispam", "front", "imap", "redis", "resolver", "smtp", "webmail")
UFW_RULES = (
    "ufw default deny incoming && ufw default allow outgoing && ufw allow 22/tcp && "
    "ufw allow 25/tcp && ufw allow 80/tcp && ufw allow 443/tcp && ufw allow 465/tcp && "
    "ufw allow 587/tcp && ufw allow 993/tcp && ufw allow 4190/tcp && ufw --force enable"
)
DOCKER_KEY = (
    "install -m 0755 -d /etc/apt/keyrings && curl -fsSL "
    "https://download.docker.com/linux/debian/gpg -o /etc/apt/keyrings/docker.asc && "
    "chmod a+r /etc/apt/keyrings/docker.asc"
)
DOCKER_INSTALL = (
    "env DEBIAN_FRONTEND=noninteractive apt-get update && env DEBIAN_FRONTEND=noninteractive "
    "apt-get install -y docker-ce docker-ce-cli containerd.io docker-compose-plugin"
)
DOCKER_LIST = (
    "deb [arch=amd64 signed-by=/etc/apt/keyrings/docker.asc] "
    "https://download.docker.com/linux/debian bookworm stable\n"
)
SSHD_DROP_IN = (
    "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
    "PermitRootLogin prohibit-password\n"
)
MAILU_ENV = f"""\
# test installation
SECRET_KEY=ABCDEFGHIJKLMNOP
DOMAIN=example.com
HOSTNAMES=mail.example.com,mta-sts.example.com
TLS_FLAVOR=letsencrypt
PORTS=25,80,443,465,587,993,4190
API=true
WEB_API=/api
API_TOKEN={API_TOKEN}
DKIM_SELECTOR=dkim
DMARC_RUA=dmarc-reports
DMARC_RUF=dmarc-reports
CREDENTIAL_ROUNDS=4
"""


def compose_file() -> str:
    """A Mailu 2024.06 docker-compose.yml trimmed to what the simulator reads."""
    mailu = "\n".join(
        f"  {s}:\n    image: ghcr.io/mailu/{image}:2024.06\n    env_file: mailu.env"
        for s, image in (
            ("front", "nginx"),
            ("resolver", "unbound"),
            ("imap", "dovecot"),
            ("smtp", "postfix"),
            ("antispam", "rspamd"),
            ("webmail", "webmail"),
        )
    )
    return (
        "services:\n"
        "  redis:\n    image: redis:7-alpine\n"
        "  admin:\n    image: ghcr.io/mailu/admin:2024.06\n    env_file: mailu.env\n"
        '    ports:\n      - "127.0.0.1:8080:8080"\n'
        f"{mailu}\n"
    )


class Pinned(paramiko.MissingHostKeyPolicy):
    """Accept exactly one host key fingerprint (what the installer does after first contact)."""

    def __init__(self, fingerprint: str) -> None:
        self.fingerprint = fingerprint

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        if key.fingerprint != self.fingerprint:
            raise paramiko.SSHException(f"host key {key.fingerprint} is not {self.fingerprint}")


def private_key() -> paramiko.PKey:
    return paramiko.Ed25519Key.from_private_key(io.StringIO(platform_key().private_openssh))


@contextmanager
def ssh(
    host: SimulatedHost,
    *,
    password: str | None = None,
    pkey: paramiko.PKey | None = None,
    fingerprint: str | None = None,
    timeout: float = 5.0,
) -> Iterator[paramiko.SSHClient]:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(Pinned(fingerprint or host.host_key_fingerprint))
    credentials: dict[str, Any] = (
        {"password": password} if password is not None else {"pkey": pkey or private_key()}
    )
    try:
        client.connect(
            "127.0.0.1",
            port=host.port,
            username="root",
            allow_agent=False,
            look_for_keys=False,
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
            channel_timeout=timeout,
            **credentials,
        )
        yield client
    finally:
        client.close()


def run(client: paramiko.SSHClient, command: str, timeout: float = 5.0) -> tuple[int, str, str]:
    _, out, err = client.exec_command(command, timeout=timeout)
    stdout = out.read().decode()
    stderr = err.read().decode()
    return out.channel.recv_exit_status(), stdout, stderr


def put(client: paramiko.SSHClient, path: str, content: str, mode: int) -> None:
    """The installer's atomic write: a temporary name, the mode, then posix-rename."""
    sftp = client.open_sftp()
    try:
        directory, name = path.rsplit("/", 1)
        temporary = f"{directory}/.{name}.tmp-{secrets.token_hex(4)}"
        with sftp.open(temporary, "w") as handle:
            handle.chmod(mode)
            handle.write(content.encode())
        sftp.posix_rename(temporary, path)
    finally:
        sftp.close()


def open_api(client: paramiko.SSHClient, port: int = 8080) -> paramiko.Channel:
    transport = client.get_transport()
    assert transport is not None
    return transport.open_channel("direct-tcpip", ("127.0.0.1", port), ("127.0.0.1", 0), timeout=5)


def tree(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under root with its mode, size and mtime: what "nothing happened" compares."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            info = os.lstat(os.path.join(folder, name))
            found[os.path.relpath(os.path.join(folder, name), root)] = (
                info.st_mode,
                info.st_size,
                info.st_mtime_ns,
            )
    return found


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def simulated_host(clock: FakeClock, *, docker_installed: bool = False) -> SimulatedHost:
    return SimulatedHost(
        ip=IP,
        authorized_keys=[platform_key().public_openssh],
        root_password=ROOT_PASSWORD,
        docker_installed=docker_installed,
        clock=clock,
        healthy_after_s=HEALTHY_AFTER_S,
        pull_s=PULL_S,
    )


@pytest.fixture
def host(clock: FakeClock) -> Iterator[SimulatedHost]:
    with simulated_host(clock) as simulated:
        yield simulated


@pytest.fixture
def docker_host(clock: FakeClock) -> Iterator[SimulatedHost]:
    """Docker already installed and the Mailu files in place: ready for `up -d`."""
    with simulated_host(clock, docker_installed=True) as simulated:
        mailu = simulated.sandbox / "mailu"
        mailu.mkdir(mode=0o700)
        (mailu / "docker-compose.yml").write_text(compose_file())
        (mailu / "mailu.env").write_text(MAILU_ENV)
        yield simulated


def start_stack(host: SimulatedHost, clock: FakeClock) -> None:
    """`up -d` through systemd-run, the pull done and every health check passed."""
    with ssh(host) as client:
        assert run(client, UP)[0] == 0
    clock.advance(PULL_S + HEALTHY_AFTER_S)


# ---- logins ------------------------------------------------------------------------------


def test_key_login_presents_the_host_key_fingerprint(host: SimulatedHost) -> None:
    assert re.fullmatch(r"SHA256:[A-Za-z0-9+/]{43}", host.host_key_fingerprint)
    with ssh(host) as client:
        transport = client.get_transport()
        assert transport is not None
        assert transport.get_remote_server_key().fingerprint == host.host_key_fingerprint
        assert run(client, "dpkg --print-architecture") == (0, "amd64\n", "")
    stranger = paramiko.ECDSAKey.generate()
    with pytest.raises(paramiko.AuthenticationException), ssh(host, pkey=stranger):
        pass


def test_password_login_works_until_sshd_is_reloaded_with_the_drop_in(
    host: SimulatedHost,
) -> None:
    with ssh(host, password=ROOT_PASSWORD):
        pass
    with pytest.raises(paramiko.AuthenticationException), ssh(host, password="wrong-password"):
        pass
    with ssh(host) as client:
        put(client, "/etc/ssh/sshd_config.d/00-inboxfleet.conf", SSHD_DROP_IN, 0o644)
        with ssh(host, password=ROOT_PASSWORD):
            pass  # an edited file changes nothing until sshd reloads
        assert host.password_login_enabled
        assert run(client, "sshd -t && systemctl reload ssh") == (0, "", "")
    assert not host.password_login_enabled
    with pytest.raises(paramiko.AuthenticationException), ssh(host, password=ROOT_PASSWORD):
        pass
    with ssh(host) as client:  # the platform key still gets in
        assert run(client, "dpkg --print-architecture")[0] == 0


def answer_every_prompt(title: str, instructions: str, prompts: list[Any]) -> list[str]:
    return [ROOT_PASSWORD] * len(prompts)


def test_keyboard_interactive_is_off_as_on_debian(host: SimulatedHost) -> None:
    sock = socket.create_connection(("127.0.0.1", host.port), timeout=5)
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=5)
        with pytest.raises(paramiko.BadAuthenticationType) as info:
            transport.auth_interactive("root", answer_every_prompt)
        assert "keyboard-interactive" not in info.value.allowed_types
        assert "password" in info.value.allowed_types
    finally:
        transport.close()


@pytest.mark.parametrize(
    ("drop_in", "password_login"),
    [
        ("00-inboxfleet.conf", False),  # read before 50-cloud-init.conf: its `no` wins
        ("99-late.conf", True),  # read after: cloud-init's `yes` came first and wins
    ],
)
def test_the_first_value_of_a_keyword_wins_across_drop_ins(
    host: SimulatedHost, drop_in: str, password_login: bool
) -> None:
    with ssh(host) as client:
        # Only PasswordAuthentication: PermitRootLogin stays `yes` from the main file.
        put(client, f"/etc/ssh/sshd_config.d/{drop_in}", "PasswordAuthentication no\n", 0o644)
        assert run(client, "sshd -t && systemctl reload ssh")[0] == 0
    assert host.password_login_enabled is password_login
    if password_login:
        with ssh(host, password=ROOT_PASSWORD):
            pass
    else:
        with pytest.raises(paramiko.AuthenticationException), ssh(host, password=ROOT_PASSWORD):
            pass


def test_a_broken_sshd_config_fails_the_test_and_the_reload_keeps_the_old_policy(
    host: SimulatedHost,
) -> None:
    with ssh(host) as client:
        put(
            client,
            "/etc/ssh/sshd_config.d/00-bad.conf",
            "PasswordAuthentication no\nNonsense 1\n",
            0o644,
        )
        status, stdout, stderr = run(client, "sshd -t && systemctl reload ssh")
        assert (status, stdout) == (255, "")
        assert stderr == (
            "/etc/ssh/sshd_config.d/00-bad.conf: line 2: Bad configuration option: Nonsense\n"
            "/etc/ssh/sshd_config: terminating, 1 bad configuration options\n"
        )
        status, _, stderr = run(client, "systemctl reload ssh")
        assert status == 1
        assert stderr.startswith("Job for ssh.service failed")
    assert host.password_login_enabled
    with ssh(host, password=ROOT_PASSWORD):
        pass


# ---- SFTP --------------------------------------------------------------------------------


def test_sftp_writes_atomically_into_the_sandbox_with_real_modes(host: SimulatedHost) -> None:
    with ssh(host) as client:
        sftp = client.open_sftp()
        assert "VERSION_CODENAME=bookworm" in sftp.open("/etc/os-release").read().decode()
        sftp.mkdir("/mailu", 0o700)
        sftp.chmod("/mailu", 0o700)
        put(client, "/mailu/mailu.env", "API_TOKEN=x\n", 0o600)
        put(client, "/mailu/mailu.env", "API_TOKEN=y\n", 0o600)  # replaces: posix-rename
        attrs = sftp.stat("/mailu/mailu.env")
        assert attrs.st_mode is not None
        assert stat.S_IMODE(attrs.st_mode) == 0o600
        assert sftp.open("/mailu/mailu.env").read() == b"API_TOKEN=y\n"
        assert sorted(sftp.listdir("/mailu")) == ["mailu.env"]  # no temporary left behind
        with pytest.raises(FileNotFoundError):
            sftp.stat("/mailu/missing")
        with sftp.open("/../../escape.txt", "w") as handle:  # `..` cannot leave `/`
            handle.write(b"x")
        sftp.close()
    assert (host.sandbox / "escape.txt").read_bytes() == b"x"
    assert not (host.sandbox.parent / "escape.txt").exists()
    assert mode_of(host.sandbox / "mailu") == 0o700
    assert mode_of(host.sandbox / "mailu/mailu.env") == 0o600
    assert (host.sandbox / "mailu/mailu.env").read_text() == "API_TOKEN=y\n"
    writes = host.sftp_writes
    assert len(writes) == 3
    assert all(re.fullmatch(r"/mailu/\.mailu\.env\.tmp-[0-9a-f]{8}", w) for w in writes[:2])
    assert writes[2] == "/../../escape.txt"
    assert ("rename", "/mailu/mailu.env") in host.sftp_ops
    assert ("mkdir", "/mailu") in host.sftp_ops


def test_the_sandbox_starts_as_a_fresh_debian_cloud_image(host: SimulatedHost) -> None:
    root = host.sandbox
    assert "VERSION_CODENAME=bookworm" in (root / "etc/os-release").read_text()
    cloud_init = root / "etc/ssh/sshd_config.d/50-cloud-init.conf"
    assert cloud_init.read_text() == "PasswordAuthentication yes\n"
    assert mode_of(root / "root") == 0o700
    keys = root / "root/.ssh/authorized_keys"
    assert keys.read_text() == platform_key().public_openssh + "\n"
    assert mode_of(keys) == 0o600


# ---- the command table ---------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    command: str
    status: int
    stdout: str | Callable[[str], bool] = ""
    stderr: str | Callable[[str], bool] = ""


def contains(text: str) -> Callable[[str], bool]:
    return lambda value: text in value


UFW_ACTIVE = (
    "Status: active\n"
    "Logging: on (low)\n"
    "Default: deny (incoming), allow (outgoing), disabled (routed)\n"
    "New profiles: skip\n"
    "\n"
    "To                         Action      From\n"
    "--                         ------      ----\n"
    "22/tcp                     ALLOW IN    Anywhere\n"
    "25/tcp                     ALLOW IN    Anywhere\n"
    "80/tcp                     ALLOW IN    Anywhere\n"
    "443/tcp                    ALLOW IN    Anywhere\n"
    "465/tcp                    ALLOW IN    Anywhere\n"
    "587/tcp                    ALLOW IN    Anywhere\n"
    "993/tcp                    ALLOW IN    Anywhere\n"
    "4190/tcp                   ALLOW IN    Anywhere\n"
    "22/tcp (v6)                ALLOW IN    Anywhere (v6)\n"
    "25/tcp (v6)                ALLOW IN    Anywhere (v6)\n"
    "80/tcp (v6)                ALLOW IN    Anywhere (v6)\n"
    "443/tcp (v6)               ALLOW IN    Anywhere (v6)\n"
    "465/tcp (v6)               ALLOW IN    Anywhere (v6)\n"
    "587/tcp (v6)               ALLOW IN    Anywhere (v6)\n"
    "993/tcp (v6)               ALLOW IN    Anywhere (v6)\n"
    "4190/tcp (v6)              ALLOW IN    Anywhere (v6)\n"
    "\n"
)

# The contract's commands in the order secure -> install sends them on a fresh server. A Step
# with a path instead of a status is an SFTP write the installer makes at that point.
CONTRACT: list[Step | tuple[str, str, int]] = [
    ("/etc/ssh/sshd_config.d/00-inboxfleet.conf", SSHD_DROP_IN, 0o644),
    Step("sshd -t && systemctl reload ssh", 0),
    Step("command -v ufw", 1),
    Step(
        "env DEBIAN_FRONTEND=noninteractive apt-get install -y ufw",
        0,
        contains("Setting up ufw (0.36.2-1) ..."),
    ),
    Step("command -v ufw", 0, "/usr/sbin/ufw\n"),
    Step("ufw status verbose", 0, "Status: inactive\n"),
    Step(UFW_RULES, 0, contains("Firewall is active and enabled on system startup\n")),
    Step("ufw status verbose", 0, UFW_ACTIVE),
    Step("command -v docker", 1),
    Step("dpkg --print-architecture", 0, "amd64\n"),
    Step(DOCKER_KEY, 0),
    ("/etc/apt/sources.list.d/docker.list", DOCKER_LIST, 0o644),
    Step(DOCKER_INSTALL, 0, contains("Setting up docker-compose-plugin")),
    Step("command -v docker", 0, "/usr/bin/docker\n"),
    Step(PS, 0, ""),  # no container yet: nothing, and success
    Step(f"systemctl is-active {UNIT}", 3, "inactive\n"),
    ("/mailu/docker-compose.yml", compose_file(), 0o644),
    ("/mailu/mailu.env", MAILU_ENV, 0o600),
    Step(UP, 0, "", f"Running as unit: {UNIT}.service\n"),
    Step(f"systemctl is-active {UNIT}", 0, "active\n"),  # pulling (PULL_S on the clock)
    Step(PS, 0, ""),
]


def test_every_contract_command_answers_as_documented(host: SimulatedHost) -> None:
    with ssh(host) as client:
        sftp = client.open_sftp()
        sftp.mkdir("/mailu", 0o700)
        for number, step in enumerate(CONTRACT):
            if isinstance(step, tuple):
                put(client, *step)
                continue
            status, stdout, stderr = run(client, step.command)
            for expected, actual in ((step.stdout, stdout), (step.stderr, stderr)):
                ok = expected(actual) if callable(expected) else expected == actual
                assert ok, f"step {number} {step.command!r}: {actual!r}"
            assert status == step.status, f"step {number} {step.command!r}: {stderr!r}"
    assert host.commands == [s.command for s in CONTRACT if isinstance(s, Step)]
    assert mode_of(host.sandbox / "etc/apt/keyrings") == 0o755
    key = host.sandbox / "etc/apt/keyrings/docker.asc"
    assert key.read_text().startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert mode_of(key) & 0o444 == 0o444
    assert {"ufw", "docker-ce", "docker-ce-cli", "containerd.io", "docker-compose-plugin"} <= (
        host.packages
    )


def test_applying_the_firewall_again_changes_nothing(host: SimulatedHost) -> None:
    with ssh(host) as client:
        assert run(client, "env DEBIAN_FRONTEND=noninteractive apt-get install -y ufw")[0] == 0
        assert run(client, UFW_RULES)[0] == 0
        status, stdout, _ = run(client, UFW_RULES)
        assert status == 0
        assert stdout.count("Skipping adding existing rule\n") == 8
        assert run(client, "ufw status verbose") == (0, UFW_ACTIVE, "")
        assert run(client, "ufw status")[1].splitlines()[4] == (
            "22/tcp                     ALLOW       Anywhere"
        )


def test_docker_packages_need_the_repository_and_its_key(host: SimulatedHost) -> None:
    with ssh(host) as client:
        status, _, stderr = run(client, DOCKER_INSTALL)
        assert status == 100
        assert "E: Unable to locate package docker-ce\n" in stderr
        put(client, "/etc/apt/sources.list.d/docker.list", DOCKER_LIST, 0o644)
        status, _, stderr = run(client, DOCKER_INSTALL)  # no signing key yet
        assert status == 100
        assert "NO_PUBKEY 7EA0A9C3F273FCD8" in stderr
        assert run(client, DOCKER_KEY)[0] == 0
        assert run(client, DOCKER_INSTALL)[0] == 0
    assert "docker-compose-plugin" in host.packages


@pytest.mark.parametrize(
    ("command", "name"),
    [
        ("whoami", "whoami"),
        ("reboot", "reboot"),
        ("/bin/sh -c id", "/bin/sh"),
        ("env DEBIAN_FRONTEND=noninteractive apt-get install -y ufw; reboot", ";"),
        ("env DEBIAN_FRONTEND=noninteractive apt-get install -y ufw | cat", "|"),
        ("env DEBIAN_FRONTEND=noninteractive apt-get install -y ufw > /root/out", ">"),
        ("chmod 777 /root && echo $(id)", "$("),
        ("chmod 777 /root `id`", "`"),
        ("chmod 777 /root/*", "*"),
        ("chmod 777 $HOME", "$"),
        ("install -m 0777 -d /x &", "&"),
        ("frobnicate && env DEBIAN_FRONTEND=noninteractive apt-get install -y ufw", "frobnicate"),
    ],
)
def test_unknown_or_shell_syntax_answers_127_and_nothing_happens(
    host: SimulatedHost, command: str, name: str
) -> None:
    before = tree(host.sandbox)
    with ssh(host) as client:
        reason = "No such file or directory" if "/" in name else "command not found"
        assert run(client, command) == (127, "", f"bash: {name}: {reason}\n")
        assert run(client, "command -v ufw")[0] == 1  # apt-get never ran
    assert tree(host.sandbox) == before
    assert "ufw" not in host.packages
    assert host.journal == []


def test_a_chain_stops_at_the_first_failure(host: SimulatedHost) -> None:
    with ssh(host) as client:
        status, stdout, stderr = run(
            client, "dpkg --print-architecture && frobnicate && install -m 0700 -d /made"
        )
    assert (status, stdout, stderr) == (127, "amd64\n", "bash: frobnicate: command not found\n")
    assert not (host.sandbox / "made").exists()


# ---- Docker Compose and health --------------------------------------------------------------


def test_compose_starts_in_the_background_and_gets_healthy_on_the_clock(
    docker_host: SimulatedHost, clock: FakeClock
) -> None:
    with ssh(docker_host) as client:
        assert run(client, PS) == (0, "", "")
        assert run(client, UP) == (0, "", f"Running as unit: {UNIT}.service\n")
        assert run(client, f"systemctl is-active {UNIT}") == (0, "active\n", "")
        assert run(client, PS) == (0, "", "")  # still pulling images
        clock.advance(PULL_S)
        assert run(client, f"systemctl is-active {UNIT}") == (3, "inactive\n", "")
        starting = [json.loads(line) for line in run(client, PS)[1].splitlines()]
        clock.advance(HEALTHY_AFTER_S - 1)
        assert {c["Health"] for c in map(json.loads, run(client, PS)[1].splitlines())} == {
            "starting",
            "",
        }
        clock.advance(1)
        healthy = [json.loads(line) for line in run(client, PS)[1].splitlines()]
    assert [c["Name"] for c in starting] == [f"mailu-{s}-1" for s in SERVICES]
    assert [c["Service"] for c in starting] == list(SERVICES)
    for container in starting:
        assert {"Name", "Service", "State", "Health", "Status", "Project", "Image", "ID"} <= set(
            container
        )
        assert container["State"] == "running"
        assert container["Project"] == "mailu"
    by_service = {c["Service"]: c for c in starting}
    assert by_service["admin"]["Health"] == "starting"
    assert by_service["admin"]["Status"] == "Up Less than a second (health: starting)"
    assert by_service["redis"]["Health"] == ""  # redis:7-alpine has no health check
    assert by_service["admin"]["Publishers"] == [
        {"URL": "127.0.0.1", "TargetPort": 8080, "PublishedPort": 8080, "Protocol": "tcp"}
    ]
    healthy_by_service = {c["Service"]: c for c in healthy}
    assert {s: c["Health"] for s, c in healthy_by_service.items()} == {
        s: ("" if s == "redis" else "healthy") for s in SERVICES
    }
    assert healthy_by_service["admin"]["Status"] == "Up About a minute (healthy)"
    assert any("mailu-admin-1  Started" in line for line in docker_host.journal)


@pytest.mark.parametrize(
    ("missing", "stderr"),
    [
        ("mailu/docker-compose.yml", "no configuration file provided: not found\n"),
        (
            "mailu/mailu.env",
            "env file /mailu/mailu.env not found: stat /mailu/mailu.env: no such file or "
            "directory\n",
        ),
    ],
)
def test_up_needs_the_compose_file_and_the_env_file(
    docker_host: SimulatedHost, clock: FakeClock, missing: str, stderr: str
) -> None:
    (docker_host.sandbox / missing).unlink()
    with ssh(docker_host) as client:
        assert run(client, f"{COMPOSE} up -d --remove-orphans") == (1, "", stderr)
        # Through systemd-run the failure lands in the journal; the unit fails and is collected.
        assert run(client, UP)[0] == 0
        assert run(client, f"systemctl is-active {UNIT}") == (3, "inactive\n", "")
        clock.advance(PULL_S + HEALTHY_AFTER_S)
        assert run(client, PS) == (0, "", "")
    assert stderr.rstrip("\n") in docker_host.journal


def test_up_needs_docker(host: SimulatedHost) -> None:
    with ssh(host) as client:
        assert run(client, f"{COMPOSE} up -d") == (127, "", "bash: docker: command not found\n")
        status, _, stderr = run(client, UP)
    assert (status, stderr) == (
        1,
        "Failed to find executable docker: No such file or directory\n",
    )


# ---- forwarding and the Mailu API -----------------------------------------------------------


class Api:
    """HTTP/1.1 over one forwarded channel, as the installer talks to Mailu."""

    def __init__(self, channel: paramiko.Channel) -> None:
        self.conn = http.client.HTTPConnection("localhost", 8080, timeout=10)
        self.conn.sock = channel

    def __call__(
        self, method: str, path: str, body: Any = None, token: str | None = API_TOKEN
    ) -> tuple[int, Any]:
        headers = {"Host": "localhost"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.conn.request(method, "/api/v1" + path, body=data, headers=headers)
        response = self.conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw.startswith((b"{", b"[")) else raw


def test_forwarding_opens_only_once_admin_is_healthy(
    docker_host: SimulatedHost, clock: FakeClock
) -> None:
    with ssh(docker_host) as client:
        with pytest.raises(paramiko.ChannelException) as refused:
            open_api(client)  # no stack at all
        assert refused.value.code == 2  # OPEN_CONNECT_FAILED, like a closed port
        assert run(client, UP)[0] == 0
        clock.advance(PULL_S + HEALTHY_AFTER_S - 1)
        with pytest.raises(paramiko.ChannelException):
            open_api(client)  # admin still "starting"
        clock.advance(1)
        channel = open_api(client)
        status, body = Api(channel)("GET", "/domain")
        assert (status, body) == (200, [])


@pytest.mark.parametrize(
    ("destination", "port"),
    [
        ("127.0.0.1", 22),
        ("127.0.0.1", 25),
        ("127.0.0.1", 8081),
        ("localhost", 8080),
        ("10.0.0.2", 8080),
        ("192.0.2.1", 443),
    ],
)
def test_forwarding_anywhere_else_is_refused(
    docker_host: SimulatedHost, clock: FakeClock, destination: str, port: int
) -> None:
    start_stack(docker_host, clock)
    with ssh(docker_host) as client:
        transport = client.get_transport()
        assert transport is not None
        with pytest.raises(paramiko.ChannelException):
            transport.open_channel("direct-tcpip", (destination, port), ("127.0.0.1", 0), timeout=5)
        open_api(client).close()  # while 127.0.0.1:8080 is open


def test_the_mailu_api_through_the_channel(docker_host: SimulatedHost, clock: FakeClock) -> None:
    start_stack(docker_host, clock)
    with ssh(docker_host) as client:
        api = Api(open_api(client))
        assert api("GET", "/domain", token=None) == (
            401,
            {"message": "A valid Authorization header is mandatory"},
        )
        assert api("GET", "/domain", token="wrong-token") == (403, {"message": "Invalid API token"})
        assert api("POST", "/domain", {"name": "example.com"}) == (
            200,
            {"code": 200, "message": "Domain example.com has been created"},
        )
        assert api("POST", "/domain", {"name": "EXAMPLE.com"}) == (
            409,
            {"code": 409, "message": "Duplicate domain name EXAMPLE.com"},
        )
        assert api("POST", "/domain", {"name": "bad_domain"}) == (
            400,
            {"code": 400, "message": "Domain bad_domain is not a valid domain"},
        )
        assert api("GET", "/domain/missing.example") == (
            404,
            {"code": 404, "message": "Domain missing.example does not exist"},
        )
        status, domain = api("GET", "/domain/example.com")
        assert status == 200
        assert domain["dns_dkim"] is None  # creating a domain makes no DKIM key
        assert api("POST", "/domain/example.com/dkim") == (
            200,
            {"code": 200, "message": "DKIM/DMARC keys have been generated for domain example.com"},
        )
        status, domain = api("GET", "/domain/example.com")
        assert status == 200
        user_path = "/user/sales%40example.com"
        assert api(
            "POST",
            "/user",
            {
                "email": "sales@example.com",
                "raw_password": MAILBOX_PASSWORD,
                "quota_bytes": 2_000_000_000,
            },
        ) == (
            200,
            {"code": 200, "message": "User sales@example.com has been created"},
        )
        assert api("POST", "/user", {"email": "sales@example.com", "raw_password": "x"})[0] == 409
        assert api("POST", "/user", {"email": "a@nowhere.example", "raw_password": "x"}) == (
            404,
            {"code": 404, "message": "Domain nowhere.example does not exist"},
        )
        status, user = api("GET", user_path)
        assert (status, user["enabled"], user["quota_bytes"]) == (200, True, 2_000_000_000)
        assert user["password"].startswith("$bcrypt-sha256$")
        assert api("PATCH", user_path, {"enabled": False})[0] == 200
        assert docker_host.mailu.users["sales@example.com"].enabled is False
        assert docker_host.mailu.password_matches("sales@example.com", MAILBOX_PASSWORD)
        assert not docker_host.mailu.password_matches("sales@example.com", "guess")
        assert api("DELETE", user_path)[0] == 200
        assert api("GET", user_path) == (
            404,
            {"code": 404, "message": "User sales@example.com cannot be found"},
        )
    assert domain["dns_mx"] == "example.com. 600 IN MX 10 mail.example.com."
    assert domain["dns_spf"] == 'example.com. 600 IN TXT "v=spf1 mx a:mail.example.com ~all"'
    assert domain["dns_dmarc"] == (
        '_dmarc.example.com. 600 IN TXT "v=DMARC1; p=reject; '
        "rua=mailto:dmarc-reports@example.com; ruf=mailto:dmarc-reports@example.com; "
        'adkim=s; aspf=s"'
    )
    assert domain["dns_dmarc_report"] == (
        'example.com._report._dmarc.example.com. 600 IN TXT "v=DMARC1;"'
    )
    assert domain["dns_tlsa"] == [
        "_25._tcp.mail.example.com. 86400 IN TLSA 2 1 1 "
        "0b9fa5a59eed715c26c1020c711b4f6ec42d58b0015e14337a39dad301c5afc3",
        "_25._tcp.mail.example.com. 86400 IN TLSA 2 1 1 "
        "762195c225586ee6c0237456e2107dc54f1efc21f61a792ebd515913cce68332",
    ]
    assert (
        "_submission._tcp.example.com. 600 IN SRV 20 1 587 mail.example.com."
        in (domain["dns_autoconfig"])
    )
    assert "_pop3s._tcp.example.com. 600 IN SRV 0 0 0 ." in domain["dns_autoconfig"]
    assert "autoconfig.example.com. 600 IN CNAME mail.example.com." in domain["dns_autoconfig"]
    # DKIM: selector `dkim`, TXT data in quoted chunks of at most 250 characters, RSA-2048.
    prefix = "dkim._domainkey.example.com. 600 IN TXT "
    assert domain["dns_dkim"].startswith(prefix)
    chunks = re.findall(r'"([^"]*)"', domain["dns_dkim"][len(prefix) :])
    assert len(chunks) == 2
    assert [len(c) for c in chunks[:-1]] == [250]
    txt = "".join(chunks)
    assert txt.startswith("v=DKIM1; k=rsa; p=")
    key = load_der_public_key(base64.b64decode(txt.removeprefix("v=DKIM1; k=rsa; p=")))
    assert isinstance(key, RSAPublicKey)
    assert key.key_size == 2048
    assert docker_host.mailu.domains["example.com"].dkim_public_key == txt.split("p=")[1]
    # The request log never holds the token or a password.
    log = repr(docker_host.mailu.requests)
    assert API_TOKEN not in log
    assert MAILBOX_PASSWORD not in log
    created = next(r for r in docker_host.mailu.requests if r.path == "/api/v1/user")
    assert created.authorization == "Bearer ***"
    assert created.body["raw_password"] == "***"


@pytest.fixture
def mailu() -> Iterator[tuple[MailuApiSimulator, dict[str, str]]]:
    env = dict(
        line.split("=", 1)
        for line in MAILU_ENV.splitlines()
        if "=" in line and not line.startswith("#")
    )
    with MailuApiSimulator(lambda: env) as simulator:
        yield simulator, env


def call(
    simulator: MailuApiSimulator, method: str, path: str, *, token: str = API_TOKEN, **kwargs: Any
) -> httpx.Response:
    return httpx.request(
        method,
        f"{simulator.url}/api/v1{path}",
        headers={"Authorization": token},
        timeout=5,
        **kwargs,
    )


def test_the_api_token_is_read_from_the_env_file_at_each_request(
    mailu: tuple[MailuApiSimulator, dict[str, str]],
) -> None:
    simulator, env = mailu
    assert call(simulator, "GET", "/domain").status_code == 200  # no `Bearer `: accepted too
    env["API_TOKEN"] = "rotated-token-1234"
    assert call(simulator, "GET", "/domain").status_code == 403
    assert call(simulator, "GET", "/domain", token="Bearer rotated-token-1234").status_code == 200
    env["API_TOKEN"] = ""
    response = call(simulator, "GET", "/domain", token="")
    assert (response.status_code, response.text) == (
        500,
        "<p>Error: API_TOKEN is not configured</p>",
    )
    env["API"] = "false"
    assert call(simulator, "GET", "/domain").status_code == 404


def test_payloads_are_validated_before_the_token(
    mailu: tuple[MailuApiSimulator, dict[str, str]],
) -> None:
    simulator, _ = mailu
    response = call(simulator, "POST", "/domain", token="", json={"max_users": "x"})
    assert response.status_code == 400
    assert response.json() == {
        "errors": {
            "name": "'name' is a required property",
            "max_users": "'x' is not of type 'integer'",
        },
        "message": "Input payload validation failed",
    }
    response = call(simulator, "POST", "/user", json={"email": "a@example.com"})
    assert response.json()["errors"] == {"raw_password": "'raw_password' is a required property"}
    assert call(simulator, "POST", "/domain", content=b"name=x").status_code == 415
    assert call(simulator, "GET", "/alias").status_code == 404
    assert call(simulator, "PUT", "/domain").status_code == 405


def test_domain_limits_and_deletes_cascade_to_users(
    mailu: tuple[MailuApiSimulator, dict[str, str]],
) -> None:
    simulator, _ = mailu
    assert (
        call(simulator, "POST", "/domain", json={"name": "example.org", "max_users": 1}).status_code
        == 200
    )
    user = {"email": "a@example.org", "raw_password": "pw"}
    assert call(simulator, "POST", "/user", json=user).status_code == 200
    response = call(simulator, "POST", "/user", json={**user, "email": "b@example.org"})
    assert (response.status_code, response.json()["message"]) == (
        409,
        "Too many users for domain example.org",
    )
    assert call(simulator, "GET", "/domain/not_valid").json() == {
        "code": 400,
        "message": "Domain not_valid is not a valid domain",
    }  # with HTTP 200, as Mailu answers it
    assert call(simulator, "DELETE", "/domain/example.org").status_code == 200
    assert simulator.users == {}
    assert call(simulator, "GET", "/user/a@example.org").status_code == 404


# ---- faults ------------------------------------------------------------------------------


def test_unreachable_refuses_connections_until_restored(host: SimulatedHost) -> None:
    port = host.port
    with ssh(host) as client:
        host.inject(Unreachable())
        with pytest.raises((OSError, paramiko.SSHException, EOFError)):
            run(client, "dpkg --print-architecture")  # a dark host drops its sessions too
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert host.pending_faults() == 1
    host.restore()
    assert host.port == port
    with ssh(host) as client:
        assert run(client, "dpkg --print-architecture")[0] == 0
    host.inject(Unreachable())
    host.clear_faults()  # clearing the faults brings it back as well
    with ssh(host):
        pass


def test_slow_delays_the_next_command_only(host: SimulatedHost) -> None:
    host.inject(Slow(delay_s=30.0, times=1))
    with ssh(host) as client:
        with pytest.raises(TimeoutError):
            run(client, "dpkg --print-architecture", timeout=0.3)
        assert run(client, "dpkg --print-architecture") == (0, "amd64\n", "")
    assert host.pending_faults() == 0


def test_a_changed_host_key_shows_on_the_next_connection(host: SimulatedHost) -> None:
    before = host.host_key_fingerprint
    with ssh(host, fingerprint=before) as open_client:
        host.inject(HostKeyChanged())
        after = host.host_key_fingerprint
        assert after != before
        assert run(open_client, "dpkg --print-architecture")[0] == 0  # open sessions go on
    with pytest.raises(paramiko.SSHException, match="is not"), ssh(host, fingerprint=before):
        pass
    with ssh(host, fingerprint=after):
        pass


def test_never_healthy_keeps_admin_unhealthy_and_the_api_closed(
    docker_host: SimulatedHost, clock: FakeClock
) -> None:
    docker_host.inject(NeverHealthy(service="admin"))
    start_stack(docker_host, clock)
    clock.advance(HEALTHY_AFTER_S * 10)
    with ssh(docker_host) as client:
        health = {
            c["Service"]: c["Health"] for c in map(json.loads, run(client, PS)[1].splitlines())
        }
        assert health["admin"] == "unhealthy"
        assert health["smtp"] == "healthy"
        with pytest.raises(paramiko.ChannelException):
            open_api(client)
        docker_host.clear_faults()
        open_api(client).close()


def test_a_failing_command_fails_once_without_effect(host: SimulatedHost) -> None:
    host.inject(
        FailingCommand(program="apt-get", exit_status=100, stderr="E: Could not get lock\n")
    )
    with ssh(host) as client:
        install = "env DEBIAN_FRONTEND=noninteractive apt-get install -y ufw"
        assert run(client, install) == (100, "", "E: Could not get lock\n")
        assert "ufw" not in host.packages
        assert run(client, install)[0] == 0
        host.inject(FailingCommand(program="ufw", exit_status=1, stderr="ERROR: xtables lock\n"))
        assert run(client, UFW_RULES) == (1, "", "ERROR: xtables lock\n")
        assert run(client, "ufw status verbose") == (0, "Status: inactive\n", "")


def test_a_killed_command_ends_the_line_by_signal_when_bash_execs_it(host: SimulatedHost) -> None:
    """bash execs the last command of a line: its death by a signal is the line's (exit-signal,
    no exit status); an earlier command of a chain dies inside bash, which says so and exits
    128 + the signal's number."""
    with ssh(host) as client:
        host.inject(FailingCommand(program="sshd", signal="KILL", stderr=""))
        _, out, _ = client.exec_command("command -v sshd && sshd -t", timeout=5)
        assert out.read().decode() == "/usr/sbin/sshd\n"
        assert out.channel.recv_exit_status() == -1  # paramiko: no exit status came
        host.inject(FailingCommand(program="sshd", signal="KILL", stderr=""))
        status, _, stderr = run(client, "sshd -t && command -v sshd")
        assert (status, stderr) == (137, "bash: line 1: KILL: sshd\n")
        assert run(client, "sshd -t")[0] == 0


# ---- the address book and the lifecycle ---------------------------------------------------


def test_register_publishes_the_host_in_the_hostwinds_address_book(host: SimulatedHost) -> None:
    with HostwindsSimulator(api_keys={"hwkey-vps-test-0001"}) as hostwinds:
        host.register(hostwinds)
        assert hostwinds.address_book() == {IP: ("127.0.0.1", host.port)}
        book = httpx.get(hostwinds.address_book_url, timeout=5)
        ports = {"22": host.port, "587": host.mail_ports[587], "993": host.mail_ports[993]}
        assert book.json() == {IP: {"host": "127.0.0.1", "port": host.port, "ports": ports}}


def test_nothing_is_left_running_after_exit(clock: FakeClock) -> None:
    threads_before = set(threading.enumerate())
    with SimulatedHost(
        ip=IP, authorized_keys=[platform_key().public_openssh], clock=clock, docker_installed=True
    ) as simulated:
        port, mailu_port, sandbox = simulated.port, simulated.mailu.port, simulated.sandbox
        (sandbox / "mailu").mkdir()
        (sandbox / "mailu/docker-compose.yml").write_text(compose_file())
        (sandbox / "mailu/mailu.env").write_text(MAILU_ENV)
        client_cm = ssh(simulated)
        client = client_cm.__enter__()
        assert run(client, f"{COMPOSE} up -d")[0] == 0
        assert Api(open_api(client))("GET", "/domain") == (200, [])  # a forwarded channel
    try:
        with pytest.raises((OSError, paramiko.SSHException, EOFError)):
            run(client, "dpkg --print-architecture", timeout=2)
    finally:
        client_cm.__exit__(None, None, None)
    for closed in (port, mailu_port):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", closed), timeout=2).close()
    assert not sandbox.exists()
    # The loop thread, the API's server and handler threads, asyncio's executor: all joined.
    assert [t.name for t in set(threading.enumerate()) - threads_before if t.is_alive()] == []
