"""Running a mail-server command: one SSH session, one installer action, one typed result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from inboxfleet.kms import inbox_context
from inboxfleet.mailu import installer
from inboxfleet.mailu.api import MailuApi
from inboxfleet.mailu.commands import (
    ApplyMailbox,
    ConfigureDomain,
    ConfigureMailbox,
    DomainConfigured,
    HostKeyRead,
    InstallMailu,
    MailboxChanged,
    MailboxConfigured,
    MailuCommand,
    MailuInstalled,
    MailuResult,
    MailuStatus,
    PinHostKey,
    RemoveMailbox,
    SecureServer,
    ServerSecured,
    StackStatus,
)
from inboxfleet.mailu.config import MailuConfig
from inboxfleet.mailu.ssh import Resolver, SshSession


@dataclass(frozen=True)
class MailuDeps:
    """Where the service gets what it needs; the Lambda's come from runtime.py."""

    private_key: Callable[[], Any]
    resolver: Resolver
    decrypt: Callable[[str, dict[str, str]], str]
    username: str = "root"
    connect_timeout_s: float = 15.0
    command_timeout_s: float = 900.0


_RESULTS: dict[type[MailuCommand], type[MailuResult]] = {
    PinHostKey: HostKeyRead,
    SecureServer: ServerSecured,
    InstallMailu: MailuInstalled,
    MailuStatus: StackStatus,
    ConfigureDomain: DomainConfigured,
    ConfigureMailbox: MailboxConfigured,
    ApplyMailbox: MailboxChanged,
    RemoveMailbox: MailboxChanged,
}


def handle(command: MailuCommand, deps: MailuDeps) -> MailuResult:
    password = ""
    if isinstance(command, ConfigureMailbox | ApplyMailbox) and command.password_ciphertext:
        password = deps.decrypt(
            command.password_ciphertext, inbox_context(command.tenant_id, command.inbox_id)
        )
    session = SshSession(
        str(command.server_ip),
        deps.private_key(),
        pinned_fingerprint=getattr(command, "host_key_fingerprint", None),
        resolver=deps.resolver,
        username=deps.username,
        connect_timeout_s=deps.connect_timeout_s,
        command_timeout_s=deps.command_timeout_s,
        redact=[password],
    )
    with session as ssh:
        outcome = _dispatch(command, ssh, password)
        return _RESULTS[type(command)].model_validate(
            {
                "server_ip": command.server_ip,
                "host_key_fingerprint": ssh.host_key_fingerprint,
                "changed": outcome.changed,
                "ssh_round_trips": ssh.round_trips,
                **outcome.details,
            }
        )


def _dispatch(command: MailuCommand, ssh: SshSession, password: str) -> installer.Outcome:
    match command:
        case PinHostKey():
            return installer.Outcome()
        case SecureServer():
            return installer.secure(ssh)
        case InstallMailu():
            config = MailuConfig.for_domain(command.domain).model_copy(
                update={"webmail": command.webmail}
            )
            return installer.install(ssh, config)
        case MailuStatus():
            return installer.status(ssh, require_ready=command.require_ready)
    token = installer.api_token(ssh)
    ssh.add_redaction(token)
    api = installer.open_api(ssh, token)
    try:
        return _through_api(command, api, password)
    finally:
        api.close()
        ssh.round_trips += api.requests


def _through_api(command: MailuCommand, api: MailuApi, password: str) -> installer.Outcome:
    match command:
        case ConfigureDomain():
            return installer.configure_domain(api, command.domain)
        case ConfigureMailbox():
            domain = command.address.split("@", 1)[1]
            return installer.configure(api, domain, command.address, password, command.quota_bytes)
        case ApplyMailbox():
            return installer.apply_mailbox(
                api, command.address, enabled=command.enabled, password=password or None
            )
        case RemoveMailbox():
            return installer.remove_mailbox(api, command.address)
    raise AssertionError(f"unhandled command {type(command).__name__}")
