"""The dns function's commands (one pydantic model per action, told apart by `action`) and the
results each action returns.

Results are the state machine's contract: the ASL reads their fields by JSONPath, so every
field is named here once and documented.
"""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic
# would otherwise compile each annotation string at import, on every cold start.

from ipaddress import IPv4Address
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from inboxfleet.dns.errors import InvalidDnsCommand
from inboxfleet.names import Domain, Hostname
from inboxfleet.validation import parse_event

DkimKey = Annotated[str, Field(pattern=r"^[A-Za-z0-9+/]+={0,2}$", min_length=200, max_length=2000)]


class _Command(BaseModel):
    """Every action names the domain row: its hosted zone is the one stored on it (several
    tenants may hold zones of one name; only the stored id says whose is whose)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    domain: Domain
    tenant_id: UUID
    domain_id: UUID


class _Host(_Command):
    mail_host: Hostname
    ip: IPv4Address

    @model_validator(mode="after")
    def _mail_host_in_domain(self) -> Self:
        if not self.mail_host.endswith("." + self.domain):
            raise ValueError("mail_host must be a name inside the domain (one hosted zone)")
        return self


class _Records(_Host):
    dkim_public_key: DkimKey


class CheckDelegation(_Command):
    action: Literal["check_delegation"]


class PublishHost(_Host):
    """The mail host's A record alone, as soon as the server has its address: the TLS
    certificate can then be issued while Mailu installs (the rest waits for the DKIM key)."""

    action: Literal["publish_host"]


class UpsertRecords(_Records):
    action: Literal["upsert"]


class VerifyDomain(_Records):
    action: Literal["verify"]


class DeleteRecords(_Command):
    action: Literal["delete"]
    mail_host: Hostname
    delete_zone: bool = False
    # The server whose records these are: when another server is live on the domain (its
    # successor), the records are that one's now and nothing is deleted.
    server_id: UUID | None = None


DnsCommand = CheckDelegation | PublishHost | UpsertRecords | VerifyDomain | DeleteRecords
_ADAPTER: TypeAdapter[DnsCommand] = TypeAdapter(
    Annotated[DnsCommand, Field(discriminator="action")]
)


def parse_command(event: Any) -> DnsCommand:
    return parse_event(_ADAPTER, event, InvalidDnsCommand, "dns command")


class _Result(BaseModel):
    # Built on first use: an invocation returns one of these, never all of them.
    model_config = ConfigDict(frozen=True, defer_build=True)


class DelegationChecked(_Result):
    """check_delegation (answered only once the parent delegates to our zone; otherwise
    NotDelegated, with the instructions for the tenant)."""

    zone_id: str  # the Route 53 hosted zone
    name_servers: list[str]  # the zone's own name servers, absolute
    state: Literal["delegated"]


class HostPublished(_Result):
    """publish_host: the mail host's A record is in place (Route 53 INSYNC), nothing else. A
    listed address is IpBlocklisted instead, and nothing is published."""

    zone_id: str
    # The address on the blocklists: "clean", or "unknown" when they could not say (timeouts,
    # refusals): not a listing, so the workflow goes on; verify asks again later.
    ip_blocklist: Literal["clean", "unknown"]


class RecordsPublished(_Result):
    """upsert: every record set we publish is in place (Route 53 INSYNC)."""

    zone_id: str
    records: int  # how many record sets are ours, the DMARC report authorisation included


Presence = Literal["ok", "missing", "mismatch", "unverified"]
Propagation = Literal["ok", "stale", "missing", "unverified"]
Listing = Literal["listed", "clean", "unknown"]


class RecordCheck(_Result):
    """One record set as the authoritative servers and the resolvers answer it."""

    name: str
    type: str
    authoritative: Presence  # what the zone's own servers serve, against what we publish
    propagated: Propagation  # what the resolvers answer (caches may lag)
    detail: str
    served: list[str]


class DomainVerified(_Result):
    """verify: the verification report (also stored on the domain). Answered only when every
    record is served as we publish it, reverse DNS is forward-confirmed and SPF, DKIM and DMARC
    are valid; otherwise DnsNotPropagated or Blocklisted (the report is stored all the same)."""

    records: list[RecordCheck]
    spf: str  # "valid" or "invalid: why" or "unverified"
    dkim: str
    dmarc: str
    reverse_dns: str  # "ok" or what is wrong
    ip_blocklist: Listing
    domain_blocklist: Listing
    authoritative_ok: bool  # every record served by the zone exactly as published
    propagated: bool  # and the resolvers see it too (caches may lag: informative only)
    contents_valid: bool
    blocklisted: bool


class RecordsDeleted(_Result):
    """delete: our record sets removed (the customer's own stay)."""

    deleted: int  # record sets removed, in the domain's zone and elsewhere
    zone_deleted: bool  # the whole hosted zone went (delete_zone)
    # Nothing deleted: another server is live on the domain and the records are its own.
    kept_for_successor: bool = False


DnsResult = DelegationChecked | HostPublished | RecordsPublished | DomainVerified | RecordsDeleted
