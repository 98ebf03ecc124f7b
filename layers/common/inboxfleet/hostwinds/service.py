"""The hostwinds Lambda's actions against the client. Every action is idempotent."""

from __future__ import annotations

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
from inboxfleet.hostwinds.errors import InstanceNotFound, VpsNotReady
from inboxfleet.hostwinds.instances import (
    InstanceOrder,
    ensure_instance,
    find_by_name,
    terminate,
    terminate_by_name,
)
from inboxfleet.hostwinds.models import Instance
from inboxfleet.names import server_name
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
    match command:
        case CreateServer():
            name = server_name(environment, command.server_id)
            instance = ensure_instance(client, _order(client, settings, name, command.location))
            # None: ordered, not listed yet; describe_server by name picks it up.
            return {"name": name, "instance": _view(instance) if instance else None}
        case DescribeServer():
            instance = _lookup(client, command.serviceid, command.name)
            if command.require_active and not instance.ready:
                raise VpsNotReady(f"instance {instance.serviceid} is {instance.status}")
            return {"instance": _view(instance)}
        case FindServer():
            found = find_by_name(client, command.name)
            return {"instance": _view(found) if found else None}
        case SetReverseDns():
            client.set_rdns(command.serviceid, command.ip, command.hostname)
            return {"serviceid": command.serviceid, "ip": str(command.ip), "rdns": command.hostname}
        case TerminateServer():
            if command.serviceid is not None:
                done = [command.serviceid] if terminate(client, command.serviceid) else []
            else:
                assert command.name is not None  # the command validates exactly one is set
                done = terminate_by_name(client, command.name)
            return {"terminated": done}


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


def _lookup(client: HostwindsClient, serviceid: int | None, name: str | None) -> Instance:
    if serviceid is not None:
        return client.get_instance(serviceid)
    assert name is not None
    found = find_by_name(client, name)
    if found is None:
        raise InstanceNotFound(f"no instance named {name}")
    return found


def _view(instance: Instance) -> dict[str, Any]:
    return instance.model_dump(mode="json") | {"ready": instance.ready}
