"""The mail-server Lambda's actions: one pydantic model per action, told apart by `action`."""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from inboxfleet.mailu.errors import InvalidMailuCommand
from inboxfleet.names import Email, Fingerprint, Hostname
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
    domain: Hostname
    webmail: Literal["roundcube", "snappymail", "none"] = "roundcube"


class MailuStatus(_OnServer):
    action: Literal["status"]
    require_ready: bool = False


class ConfigureMailbox(_OnServer):
    action: Literal["configure"]
    address: Email
    tenant_id: UUID
    inbox_id: UUID
    # KMS ciphertext (base64) with encryption context {tenant_id, inbox_id}.
    password_ciphertext: str = Field(min_length=16, max_length=8192, repr=False)
    quota_bytes: int = Field(default=5_000_000_000, ge=100_000_000, le=200_000_000_000)


class SuspendMailbox(_OnServer):
    action: Literal["suspend"]
    address: Email


class ResumeMailbox(_OnServer):
    action: Literal["resume"]
    address: Email


class RemoveMailbox(_OnServer):
    action: Literal["remove_mailbox"]
    address: Email


MailuCommand = (
    PinHostKey
    | SecureServer
    | InstallMailu
    | MailuStatus
    | ConfigureMailbox
    | SuspendMailbox
    | ResumeMailbox
    | RemoveMailbox
)
_ADAPTER: TypeAdapter[MailuCommand] = TypeAdapter(
    Annotated[MailuCommand, Field(discriminator="action")]
)


def parse_command(event: Any) -> MailuCommand:
    return parse_event(_ADAPTER, event, InvalidMailuCommand, "mail server command")
