"""The dns Lambda's actions: one pydantic model per action, told apart by `action`."""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from inboxfleet.dns.errors import InvalidDnsCommand
from inboxfleet.names import Domain, Hostname
from inboxfleet.validation import parse_event

DkimKey = Annotated[str, Field(pattern=r"^[A-Za-z0-9+/]+={0,2}$", min_length=200, max_length=2000)]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    domain: Domain


class _Records(_Command):
    mail_host: Hostname
    ip: IPv4Address
    dkim_public_key: DkimKey

    @model_validator(mode="after")
    def _mail_host_in_domain(self) -> Self:
        if not self.mail_host.endswith("." + self.domain):
            raise ValueError("mail_host must be a name inside the domain (one hosted zone)")
        return self


class CheckDelegation(_Command):
    action: Literal["check_delegation"]


class UpsertRecords(_Records):
    action: Literal["upsert"]


class VerifyDomain(_Records):
    action: Literal["verify"]
    tenant_id: UUID
    domain_id: UUID


class DeleteRecords(_Command):
    action: Literal["delete"]
    mail_host: Hostname
    delete_zone: bool = False


DnsCommand = CheckDelegation | UpsertRecords | VerifyDomain | DeleteRecords
_ADAPTER: TypeAdapter[DnsCommand] = TypeAdapter(
    Annotated[DnsCommand, Field(discriminator="action")]
)


def parse_command(event: Any) -> DnsCommand:
    return parse_event(_ADAPTER, event, InvalidDnsCommand, "dns command")
