"""The mail-server function's commands (one pydantic model per action, told apart by `action`)
and the results each action returns.

Results are the state machine's contract: the ASL reads their fields by JSONPath, so every
field is named here once and documented.
"""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic
# would otherwise compile each annotation string at import, on every cold start.

from ipaddress import IPv4Address
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from inboxfleet.mailu.errors import InvalidMailuCommand
from inboxfleet.names import Domain, Email, Fingerprint
from inboxfleet.validation import parse_event


class _OnServer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    server_ip: IPv4Address
    # Pinned on first contact (secure); every later action must carry it.
    host_key_fingerprint: Fingerprint


class PinHostKey(BaseModel):
    """First contact: read the server's host key and return its fingerprint, changing nothing.
    The workflow stores it on the server row (compare-and-set) before any other action; every
    later action must present it, so a retry can never trust a different key."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    action: Literal["pin"]
    server_ip: IPv4Address


class SecureServer(_OnServer):
    action: Literal["secure"]


class InstallMailu(_OnServer):
    action: Literal["install"]
    domain: Domain
    webmail: Literal["roundcube", "snappymail", "none"] = "roundcube"


class MailuStatus(_OnServer):
    action: Literal["status"]
    require_ready: bool = False


class ConfigureDomain(_OnServer):
    action: Literal["configure_domain"]
    domain: Domain


class ConfigureMailbox(_OnServer):
    action: Literal["configure"]
    address: Email
    tenant_id: UUID
    inbox_id: UUID
    # KMS ciphertext (base64) with encryption context {tenant_id, inbox_id}.
    password_ciphertext: str = Field(min_length=16, max_length=8192, repr=False)
    quota_bytes: int = Field(default=5_000_000_000, ge=100_000_000, le=200_000_000_000)


class ApplyMailbox(_OnServer):
    """Convergence: the mailbox enabled or disabled as its inbox is active or suspended and,
    when given, its new password set (through the Mailu API, never on a command line)."""

    action: Literal["apply_mailbox"]
    address: Email
    tenant_id: UUID
    inbox_id: UUID
    enabled: bool
    # KMS ciphertext (base64) with encryption context {tenant_id, inbox_id}.
    password_ciphertext: str | None = Field(
        default=None, min_length=16, max_length=8192, repr=False
    )


class RemoveMailbox(_OnServer):
    action: Literal["remove_mailbox"]
    address: Email


MailuCommand = (
    PinHostKey
    | SecureServer
    | InstallMailu
    | MailuStatus
    | ConfigureDomain
    | ConfigureMailbox
    | ApplyMailbox
    | RemoveMailbox
)
_ADAPTER: TypeAdapter[MailuCommand] = TypeAdapter(
    Annotated[MailuCommand, Field(discriminator="action")]
)


def parse_command(event: Any) -> MailuCommand:
    return parse_event(_ADAPTER, event, InvalidMailuCommand, "mail server command")


class _Result(BaseModel):
    # Built on first use: an invocation returns one of these, never all of them.
    model_config = ConfigDict(frozen=True, defer_build=True)

    server_ip: IPv4Address
    # The key the server presented: the pinned one (any other is refused before this answer),
    # or on first contact (pin) the one to store on the server row.
    host_key_fingerprint: Fingerprint
    changed: list[str]  # what this run changed on the server; empty: it was already so
    ssh_round_trips: int  # SSH commands, SFTP operations and API requests it took


class HostKeyRead(_Result):
    """pin: `$.host_key_fingerprint` is what the inventory step pins; nothing changed."""


class ServerSecured(_Result):
    """secure: key-only SSH and the firewall in place."""


class MailuInstalled(_Result):
    """install: files in place and the stack starting in the background; poll status."""

    unit: str  # the systemd unit that starts the stack (one per rendered configuration)


class ContainerState(BaseModel):
    model_config = ConfigDict(frozen=True)
    state: str  # as docker compose reports it: running, exited, ...
    health: str | None  # healthy, starting, unhealthy, or None without a health check


class StackStatus(_Result):
    """status: `$.ready` is true once every service of the compose file runs (and is healthy
    where it has a check); with require_ready, anything else is MailuNotReady."""

    ready: bool
    containers: dict[str, ContainerState]  # by compose service


class DomainConfigured(_Result):
    """configure_domain: the domain and its DKIM key only, no mailbox."""

    dkim_public_key: str  # base64 RSA key for the DKIM record (`$.dkim_public_key` -> dns upsert)
    records: dict[str, str | list[str]]  # the records Mailu recommends (dns_mx, dns_spf, ...)


class MailboxConfigured(_Result):
    """configure: the domain, its DKIM key and the mailbox (with this attempt's password)."""

    dkim_public_key: str  # base64 RSA key for the DKIM record (`$.dkim_public_key` -> dns upsert)
    records: dict[str, str | list[str]]  # the records Mailu recommends (dns_mx, dns_spf, ...)


class MailboxChanged(_Result):
    """apply_mailbox, remove_mailbox: the mailbox as asked (`changed` empty if it already was
    so; a password set always counts as a change)."""


MailuResult = (
    HostKeyRead
    | ServerSecured
    | MailuInstalled
    | StackStatus
    | DomainConfigured
    | MailboxConfigured
    | MailboxChanged
)
