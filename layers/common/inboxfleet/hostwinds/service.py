"""The hostwinds Lambda's actions against the client. Every action is idempotent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from inboxfleet.hostwinds.client import HostwindsClient
from inboxfleet.hostwinds.commands import (
    CreateServer,
    DescribeServer,
    FindServer,
    HostwindsCommand,
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


def run(command: HostwindsCommand) -> dict[str, Any]:
    """Run a command with this container's client and settings (the Lambda's entry point)."""
    from inboxfleet.hostwinds.runtime import default_client
    from inboxfleet.settings import environment_name

    client, settings = default_client()
    return handle(command, client, settings, environment_name())


def handle(
    command: HostwindsCommand,
    client: HostwindsClient,
    settings: HostwindsSettings,
    environment: str,
) -> dict[str, Any]:
    owned = server_name_prefix(environment)
    match command:
        case CreateServer():
            name = server_name(environment, command.server_id)
            ensured = ensure_instance(
                client,
                _order(client, settings, name, command.location),
                ordered_at=command.ordered_at,
            )
            return {
                "name": name,
                # None: ordered, not listed yet; describe_server by name picks it up.
                "instance": _view(ensured.instance) if ensured.instance else None,
                "ordered_at": ensured.ordered_at.isoformat() if ensured.ordered_at else None,
            }
        case DescribeServer():
            instance = _lookup(client, command, owned)
            if command.require_active and not instance.ready:
                raise VpsNotReady(f"instance {instance.serviceid} is {instance.status}")
            return {"instance": _view(instance)}
        case FindServer():
            found = find_by_name(client, _own_name(command.name, owned))
            return {"instance": _view(found) if found else None}
        case SetReverseDns():
            _owned_instance(client, command.serviceid, owned)
            client.set_rdns(command.serviceid, command.ip, command.hostname)
            return {"serviceid": command.serviceid, "ip": str(command.ip), "rdns": command.hostname}
        case TerminateServer():
            if command.serviceid is not None:
                try:
                    _owned_instance(client, command.serviceid, owned)
                except InstanceNotFound:
                    return {"terminated": []}
                done = [command.serviceid] if terminate(client, command.serviceid) else []
            else:
                name = _own_name(command.name or "", owned)
                done = terminate_by_name(client, name, ordered_at=command.ordered_at)
            return {"terminated": done}


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
        raise SettingsError("HOSTWINDS_IMAGE and HOSTWINDS_PLAN_RID must be set to create servers")
    return InstanceOrder(
        name=name,
        location_id=client.location_id(location),
        template=settings.image,
        rid=settings.plan_rid,
        # The platform key only: instances never get a usable root password login.
        ssh_key_names=[settings.ssh_key_name],
        billing_cycle=settings.billing_cycle,
    )


def _lookup(client: HostwindsClient, command: DescribeServer, owned: str) -> Instance:
    if command.serviceid is not None:
        return _owned_instance(client, command.serviceid, owned)
    name = _own_name(command.name or "", owned)
    found = find_by_name(client, name)
    if found is None:
        if within_grace(command.ordered_at, datetime.now(UTC)):
            raise VpsNotReady(f"{name} is ordered but not listed yet")
        raise InstanceNotFound(f"no instance named {name}")
    return found


def _view(instance: Instance) -> dict[str, Any]:
    return instance.model_dump(mode="json") | {"ready": instance.ready}
