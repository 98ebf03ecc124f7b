"""The hostwinds function's commands (one pydantic model per action, told apart by `action`)
and the results each action returns.

Results are the state machine's contract: the ASL reads their fields by JSONPath, so every
field is named here once and documented.
"""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic
# would otherwise compile each annotation string at import, on every cold start.

from datetime import datetime
from ipaddress import IPv4Address
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from inboxfleet.hostwinds.models import Instance
from inboxfleet.locations import LocationSlug
from inboxfleet.names import Hostname
from inboxfleet.validation import parse_event

ServiceId = Annotated[int, Field(gt=0, lt=2**31)]
InstanceName = Annotated[str, Field(pattern=r"^ifl-[a-z0-9]+-[0-9a-f-]{36}$")]


class InvalidHostwindsCommand(ValueError):
    pass


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _ByIdOrName(_Command):
    serviceid: ServiceId | None = None
    name: InstanceName | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.serviceid is None) == (self.name is None):
            raise ValueError("give exactly one of serviceid and name")
        return self


class CreateServer(_Command):
    action: Literal["create_server"]
    server_id: UUID
    location: LocationSlug
    # From this step's previous answer: an order sent then must not be sent again while it
    # may still be on its way into the listings.
    ordered_at: datetime | None = None


class DescribeServer(_ByIdOrName):
    action: Literal["describe_server"]
    require_active: bool = False
    ordered_at: datetime | None = None


class SetReverseDns(_Command):
    action: Literal["set_reverse_dns"]
    serviceid: ServiceId
    ip: IPv4Address
    hostname: Hostname


class FindServer(_Command):
    action: Literal["find_server"]
    name: InstanceName


class TerminateServer(_ByIdOrName):
    action: Literal["terminate_server"]
    ordered_at: datetime | None = None


HostwindsCommand = CreateServer | DescribeServer | FindServer | SetReverseDns | TerminateServer
_ADAPTER: TypeAdapter[HostwindsCommand] = TypeAdapter(
    Annotated[HostwindsCommand, Field(discriminator="action")]
)


def parse_command(event: Any) -> HostwindsCommand:
    return parse_event(_ADAPTER, event, InvalidHostwindsCommand, "hostwinds command")


class _Result(BaseModel):
    # Built on first use: an invocation returns one of these, never all of them.
    model_config = ConfigDict(frozen=True, defer_build=True)


class ServerOrdered(_Result):
    """create_server: the instance if it is listed already; `$.ordered_at` goes into the next
    create or describe of the same server (an order younger than the grace is never repeated,
    and a missing listing within it means "not yet", not "never")."""

    name: str  # the unique Hostwinds srvrname: ifl-<environment>-<server id>
    instance: Instance | None  # None: ordered, not listed yet; describe_server by name finds it
    ordered_at: datetime | None  # when an order was (maybe) sent


class ServerDescribed(_Result):
    """describe_server: `$.instance.ready` is true once ACTIVE with `$.instance.main_ip`
    (with require_active, anything else is VpsNotReady)."""

    instance: Instance


class ServerFound(_Result):
    """find_server: the instance by name, or None."""

    instance: Instance | None


class ReverseDnsSet(_Result):
    """set_reverse_dns: the PTR the provider now serves for the IP."""

    serviceid: int
    ip: IPv4Address
    rdns: str


class ServersTerminated(_Result):
    """terminate_server: the serviceids terminated now (empty when already gone)."""

    terminated: list[int]


HostwindsResult = ServerOrdered | ServerDescribed | ServerFound | ReverseDnsSet | ServersTerminated
