"""What /v1/domains takes and answers."""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic and
# the resolver read them at run time.

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from inboxfleet.lifecycles import DomainStatus
from inboxfleet.names import RegistrableDomain

# A label the tenant names for carrying over (a tracking CNAME such as "track" or "links").
Label = Annotated[str, Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")]
RecordKind = Literal["A", "AAAA", "CNAME", "TXT", "MX", "CAA"]
DelegationState = Literal["delegated", "not_delegated", "partial", "unknown"]


class DomainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: RegistrableDomain = Field(
        description="A registrable domain (acme.com, acme.co.uk; an internationalised name in "
        "either form). Subdomains, public suffixes and IP addresses are refused."
    )
    carry_over: list[Label] = Field(
        default=[],
        max_length=20,
        description="Names below the domain to copy from its current DNS besides the apex and "
        "www (tracking domains such as `track`).",
    )

    @field_validator("carry_over")
    @classmethod
    def _distinct(cls, labels: list[str]) -> list[str]:
        if len(set(labels)) != len(labels):
            raise ValueError("each name once")
        return labels


class Delegation(BaseModel):
    model_config = ConfigDict(frozen=True)

    state: DelegationState
    name_servers: list[str]  # what the registrar must list: this tenant's zone's own
    found: list[str]  # what the parent zone delegated to when last asked
    checked_at: datetime | None
    instructions: str


class RecordView(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    type: str
    values: list[str]
    ttl: int
    managed: bool  # ours (mail, DKIM, DMARC, MTA-STS...): the tenant cannot change it
    authoritative: str  # as the zone's own servers answered at the last check ("unverified")
    propagated: str  # as the resolvers answered then


class CarriedOver(BaseModel):
    model_config = ConfigDict(frozen=True)

    copied: list[str]  # "TYPE name" copied from the domain's current DNS
    skipped: list[str]  # found but where our records go


class DomainView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    name: str
    status: DomainStatus
    delegation: Delegation
    records: list[RecordView] | None = None  # GET /v1/domains/{id} only
    report: dict[str, Any] | None = None  # the last verification report, as stored
    carried_over: CarriedOver | None = None  # POST /v1/domains only
    created_at: datetime


class DomainPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    domains: list[DomainView]
    next_cursor: str | None


class TenantRecord(BaseModel):
    """One of the tenant's own record sets: `name` relative to the domain (`@` the apex, `www`)
    or absolute inside it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=253)
    type: RecordKind
    values: list[Annotated[str, Field(min_length=1, max_length=4000)]] = Field(
        min_length=1, max_length=50
    )
    ttl: int = Field(default=300, ge=60, le=86400)


class RecordSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    records: list[TenantRecord] = Field(max_length=200)


class RecordList(BaseModel):
    model_config = ConfigDict(frozen=True)

    records: list[RecordView]
