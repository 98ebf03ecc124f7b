"""The hostwinds Lambda's actions against the client. Every action is idempotent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from inboxfleet.hostwinds.client import HostwindsClient
from inboxfleet.hostwinds.commands import (
    CreateServer,
    DescribeServer,
    FindServer,
    HostwindsCommand,
    HostwindsResult,
    ReverseDnsSet,
    ServerDescribed,
    ServerFound,
    ServerOrdered,
    ServersTerminated,
    SetReverseDns,
    TerminateServer,
)
from inboxfleet.hostwinds.errors import HostwindsRejected, InstanceNotFound, VpsNotReady
from inboxfleet.hostwinds.instances import (
    InstanceOrder,
    ensure_instance,
    find_by_name,
    terminate,
    terminate_by_name,
    within_grace,
)
from inboxfleet.hostwinds.models import Instance
from inboxfleet.names import server_name, server_name_prefix
from inboxfleet.settings import HostwindsSettings, SettingsError


@dataclass(frozen=True)
class HostwindsDeps:
    client: HostwindsClient
    settings: HostwindsSettings
    environment: str  # ENVIRONMENT: only servers named ifl-<environment>-... are ours


def handle(command: HostwindsCommand, deps: HostwindsDeps) -> HostwindsResult:
    client, settings = deps.client, deps.settings
    owned = server_name_prefix(deps.environment)
    grace = settings.order_grace
    match command:
        case CreateServer():
            name = server_name(deps.environment, command.server_id)
            ensured = ensure_instance(
                client,
                _order(client, settings, name, command.location),
                ordered_at=command.ordered_at,
                grace=grace,
            )
            return ServerOrdered(
                name=name, instance=ensured.instance, ordered_at=ensured.ordered_at
            )
        case DescribeServer():
            instance = _lookup(client, command, owned, grace)
            if command.require_active and not instance.ready:
                raise VpsNotReady(f"instance {instance.serviceid} is {instance.status}")
            return ServerDescribed(instance=instance)
        case FindServer():
            return ServerFound(instance=find_by_name(client, _own_name(command.name, owned)))
        case SetReverseDns():
            _owned_instance(client, command.serviceid, owned)
            client.set_rdns(command.serviceid, command.ip, command.hostname)
            return ReverseDnsSet(serviceid=command.serviceid, ip=command.ip, rdns=command.hostname)
        case TerminateServer():
            if command.serviceid is not None:
                try:
                    _owned_instance(client, command.serviceid, owned)
                except InstanceNotFound:
                    return ServersTerminated(terminated=[])
                done = [command.serviceid] if terminate(client, command.serviceid) else []
            else:
                name = _own_name(command.name or "", owned)
                done = terminate_by_name(client, name, ordered_at=command.ordered_at, grace=grace)
            return ServersTerminated(terminated=done)


def _own_name(name: str, owned: str) -> str:
    """Only this environment's servers: a dev workflow must never touch a prod server."""
    if not name.startswith(owned):
        raise HostwindsRejected(f"{name} does not belong to this environment ({owned}*)")
    return name


def _owned_instance(client: HostwindsClient, serviceid: int, owned: str) -> Instance:
    instance = client.get_instance(serviceid)
    _own_name(instance.srvrname or "", owned)
    return instance


def _order(
    client: HostwindsClient, settings: HostwindsSettings, name: str, location: str
) -> InstanceOrder:
    if settings.image is None or settings.plan_rid is None:
        needed = " and ".join(settings.variable(f) for f in ("image", "plan_rid"))
        raise SettingsError(f"{needed} must be set to create servers")
    return InstanceOrder(
        name=name,
        location_id=client.location_id(location),
        template=settings.image,
        rid=settings.plan_rid,
        # The platform key only: instances never get a usable root password login.
        ssh_key_names=[settings.ssh_key_name],
        billing_cycle=settings.billing_cycle,
    )


def _lookup(
    client: HostwindsClient, command: DescribeServer, owned: str, grace: timedelta
) -> Instance:
    if command.serviceid is not None:
        return _owned_instance(client, command.serviceid, owned)
    name = _own_name(command.name or "", owned)
    found = find_by_name(client, name)
    if found is None:
        if within_grace(command.ordered_at, datetime.now(UTC), grace):
            raise VpsNotReady(f"{name} is ordered but not listed yet")
        raise InstanceNotFound(f"no instance named {name}")
    return found
