"""The installer's actions over one SSH session each: secure, install, status,
configure_domain, configure, suspend, resume, remove_mailbox. Every action is idempotent and
resumable: it looks at the server first and changes only what differs, so a repeat changes
nothing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from inboxfleet.dkim import public_key_from_record
from inboxfleet.mailu.api import MailuApi
from inboxfleet.mailu.compose import Container, parse_ps, services_in, stack_ready
from inboxfleet.mailu.config import ADMIN_API_PORT, MailuConfig, MailuSecrets, parse_env
from inboxfleet.mailu.errors import (
    MailboxNotFound,
    MailuApiError,
    MailuNotReady,
    RemoteCommandFailed,
)
from inboxfleet.mailu.firewall import ufw_commands, ufw_in_place
from inboxfleet.mailu.render import COMPOSE_FILE, ENV_FILE, MAILU_DIR, RenderedFile, render
from inboxfleet.mailu.ssh import SshSession

SSHD_DROP_IN = RenderedFile(
    "/etc/ssh/sshd_config.d/00-inboxfleet.conf",
    # sshd takes the first value it reads and reads drop-ins in name order: 00- beats the
    # cloud image's 50-cloud-init.conf, which turns password logins on.
    "PasswordAuthentication no\n"
    "KbdInteractiveAuthentication no\n"
    "PermitRootLogin prohibit-password\n",
    0o644,
)
COMPOSE = ["docker", "compose", "--project-directory", MAILU_DIR, "--project-name", "mailu"]
APT = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]
DOCKER_PACKAGES = ["docker-ce", "docker-ce-cli", "containerd.io", "docker-compose-plugin"]
DOCKER_KEYRING = "/etc/apt/keyrings/docker.asc"
_WORD = re.compile(r"[a-z0-9]{1,32}")


@dataclass
class Outcome:
    """What an action did, for the workflow and the inbox timeline."""

    changed: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


# -- secure -------------------------------------------------------------------------------


def secure(ssh: SshSession) -> Outcome:
    """Key-only SSH, and a firewall that lets in nothing but SSH, mail and web."""
    outcome = Outcome()
    if ssh.ensure_file(SSHD_DROP_IN):
        outcome.changed.append("sshd: password login off")
    # Reloaded every time: an earlier run may have written the file and then failed before
    # the reload, and sshd reads files only when told to.
    ssh.run(["sshd", "-t"], ["systemctl", "reload", "ssh"])
    effective = ssh.run(["sshd", "-T"]).stdout.lower().splitlines()
    for setting in ("passwordauthentication no", "kbdinteractiveauthentication no"):
        if setting not in effective:
            raise RemoteCommandFailed("sshd", 0, f"effective configuration lacks '{setting}'")
    if ssh.run(["command", "-v", "ufw"], check=False).exit_status != 0:
        ssh.run([*APT, "install", "-y", "ufw"])
        outcome.changed.append("ufw installed")
    if not ufw_in_place(ssh.run(["ufw", "status", "verbose"]).stdout):
        ssh.run(*ufw_commands())
        outcome.changed.append("firewall rules applied")
    return outcome


# -- install ------------------------------------------------------------------------------


def install(ssh: SshSession, config: MailuConfig) -> Outcome:
    """Docker if missing, the rendered files, and the stack started in the background.

    Returns at once: the stack pulls and starts under systemd, and `status` polls it.
    """
    outcome = Outcome()
    if ssh.run(["command", "-v", "docker"], check=False).exit_status != 0:
        _install_docker(ssh)
        outcome.changed.append("docker installed")

    existing = ssh.read_text(ENV_FILE)
    keys = (MailuSecrets.from_env_file(existing) if existing else None) or MailuSecrets.generate()
    files = render(config, keys)
    if ssh.ensure_dir(MAILU_DIR, 0o700):
        outcome.changed.append(MAILU_DIR)
    for directory in (f"{MAILU_DIR}/overrides", f"{MAILU_DIR}/overrides/nginx"):
        ssh.ensure_dir(directory, 0o755)
    outcome.changed.extend(f.path for f in files if ssh.ensure_file(f))

    containers = _containers(ssh)
    unit = "mailu-up-" + hashlib.sha256("".join(f.content for f in files).encode()).hexdigest()[:12]
    running = {c.service for c in containers if c.state == "running"}
    if outcome.changed or not running:
        starting = ssh.run(["systemctl", "is-active", unit], check=False).exit_status == 0
        if not starting:
            ssh.run(
                [
                    "systemd-run",
                    f"--unit={unit}",
                    "--collect",
                    *COMPOSE,
                    "up",
                    "-d",
                    "--remove-orphans",
                ]
            )
            outcome.changed.append("stack starting")  # under `unit`, in the result
    outcome.details["unit"] = unit
    return outcome


def _install_docker(ssh: SshSession) -> None:
    """Docker Engine and the Compose plugin from Docker's own apt repository."""
    arch = ssh.run(["dpkg", "--print-architecture"]).stdout.strip()
    codename = parse_env((ssh.read_text("/etc/os-release") or "").replace('"', "")).get(
        "VERSION_CODENAME", "bookworm"
    )
    ssh.run(
        ["install", "-m", "0755", "-d", "/etc/apt/keyrings"],
        ["curl", "-fsSL", "https://download.docker.com/linux/debian/gpg", "-o", DOCKER_KEYRING],
        ["chmod", "a+r", DOCKER_KEYRING],
    )
    # What the server said goes into an apt source line: one plain word each, or nothing.
    if not (_WORD.fullmatch(arch) and _WORD.fullmatch(codename)):
        raise RemoteCommandFailed("dpkg", 0, "unexpected architecture or release codename")
    sources = RenderedFile(
        "/etc/apt/sources.list.d/docker.list",
        f"deb [arch={arch} signed-by={DOCKER_KEYRING}] "
        f"https://download.docker.com/linux/debian {codename} stable\n",
        0o644,
    )
    ssh.ensure_file(sources)
    ssh.run([*APT, "update"], [*APT, "install", "-y", *DOCKER_PACKAGES])


def _containers(ssh: SshSession) -> list[Container]:
    return parse_ps(ssh.run([*COMPOSE, "ps", "--all", "--format", "json"]).stdout)


# -- status -------------------------------------------------------------------------------


def status(ssh: SshSession, *, require_ready: bool) -> Outcome:
    containers = _containers(ssh)
    expected = services_in(ssh.read_text(COMPOSE_FILE) or "")
    ready = bool(expected) and stack_ready(containers, expected)
    if require_ready and not ready:
        running = {c.service for c in containers if c.ready}
        waiting = sorted(expected - running) or ["(no compose file yet)"]
        raise MailuNotReady(f"not ready: {', '.join(waiting)}")
    return Outcome(
        details={
            "ready": ready,
            "containers": {c.service: {"state": c.state, "health": c.health} for c in containers},
        }
    )


# -- through the API ----------------------------------------------------------------------


def api_token(ssh: SshSession) -> str:
    env = ssh.read_text(ENV_FILE)
    keys = MailuSecrets.from_env_file(env) if env else None
    if keys is None:
        raise MailuNotReady("Mailu is not installed on this server yet")
    return keys.api_token


def open_api(ssh: SshSession, token: str) -> MailuApi:
    return MailuApi(lambda: ssh.open_local_port(ADMIN_API_PORT), token)


def configure_domain(api: MailuApi, domain: str) -> Outcome:
    """The domain and its DKIM key; returns the DKIM public key and the records Mailu
    recommends."""
    outcome = Outcome()
    found = api.get_domain(domain)
    if found is None:
        try:
            api.create_domain(domain)
            outcome.changed.append(f"domain {domain}")
        except MailuApiError as exc:
            if exc.status != 409:
                raise
        found = api.get_domain(domain) or {}
    if not found.get("dns_dkim"):
        # Creating a domain does not create its DKIM key.
        api.generate_dkim(domain)
        outcome.changed.append("dkim key")
        found = api.get_domain(domain) or {}
    outcome.details = {
        "dkim_public_key": public_key_from_record(str(found.get("dns_dkim", ""))),
        "records": {k: v for k, v in found.items() if k.startswith("dns_")},
    }
    return outcome


def configure(api: MailuApi, domain: str, email: str, password: str, quota_bytes: int) -> Outcome:
    """The domain, its DKIM key and the mailbox; returns the DKIM public key and the records
    Mailu recommends."""
    outcome = configure_domain(api, domain)
    user = api.get_user(email)
    if user is None:
        try:
            api.create_user(email, password, quota_bytes)
            outcome.changed.append(f"mailbox {email}")
        except MailuApiError as exc:
            if exc.status != 409:  # a concurrent attempt created it: converge below
                raise
            user = api.get_user(email)
    if user is not None:
        # The password is the one this attempt handed out; `enabled` is billing's to decide
        # (suspend/resume), so a retried configure never re-enables a suspended mailbox.
        api.update_user(email, {"raw_password": password, "quota_bytes": quota_bytes})
    return outcome


def apply_mailbox(api: MailuApi, email: str, *, enabled: bool, password: str | None) -> Outcome:
    """The mailbox enabled or not and, when given, its password: one update, only of what
    differs (a password cannot be read back, so one given is always set)."""
    user = api.get_user(email)
    if user is None:
        raise MailboxNotFound(404, f"no mailbox {email}")
    changes: dict[str, Any] = {}
    changed: list[str] = []
    if user.get("enabled") != enabled:
        changes["enabled"] = enabled
        changed.append(f"mailbox {email} {'enabled' if enabled else 'disabled'}")
    if password is not None:
        changes["raw_password"] = password
        changed.append(f"mailbox {email} password set")
    if changes:
        api.update_user(email, changes)
    return Outcome(changed=changed)


def remove_mailbox(api: MailuApi, email: str) -> Outcome:
    return Outcome(changed=[f"mailbox {email} deleted"] if api.delete_user(email) else [])
