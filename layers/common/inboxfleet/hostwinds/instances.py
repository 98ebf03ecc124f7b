"""Instances by unique name: the idempotent find-or-create and the teardown compensation uses.

Hostwinds' add_instance answers without the new serviceid and does not enforce unique names,
so the name `ifl-<environment>-<server id>` is the handle: looked up before any create, and
after a create whose answer was lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from inboxfleet.hostwinds.client import HostwindsClient
from inboxfleet.hostwinds.errors import CreateOutcomeUnknown, DuplicateInstances, InstanceNotFound
from inboxfleet.hostwinds.models import Instance


@dataclass(frozen=True)
class InstanceOrder:
    name: str
    location_id: int
    template: str
    rid: int
    ssh_key_names: Sequence[str]
    billing_cycle: str = "monthly"


def find_by_name(client: HostwindsClient, name: str) -> Instance | None:
    matches = client.find_instances_by_name(name)
    if len(matches) > 1:
        ids = ", ".join(str(i.serviceid) for i in matches)
        raise DuplicateInstances(f"{len(matches)} instances are named {name}: {ids}")
    return matches[0] if matches else None


def ensure_instance(client: HostwindsClient, order: InstanceOrder) -> Instance | None:
    """The instance named `order.name`, created if it does not exist yet.

    None means Hostwinds accepted the order but does not list the instance yet; a later lookup
    by name finds it. CreateOutcomeUnknown propagates only when a lost answer could not be
    resolved by a lookup: the caller retries this function, which looks the name up first.
    """
    existing = find_by_name(client, order.name)
    if existing is not None:
        return existing
    try:
        client.add_instance(
            name=order.name,
            location_id=order.location_id,
            template=order.template,
            rid=order.rid,
            ssh_key_names=order.ssh_key_names,
            billing_cycle=order.billing_cycle,
        )
    except CreateOutcomeUnknown:
        found = find_by_name(client, order.name)
        if found is None:
            raise
        return found
    return find_by_name(client, order.name)


def terminate(client: HostwindsClient, serviceid: int) -> bool:
    """Terminate; False when the instance was already gone (a repeat is not an error)."""
    try:
        client.terminate(serviceid)
    except InstanceNotFound:
        return False
    return True


def terminate_by_name(client: HostwindsClient, name: str) -> list[int]:
    """Compensation: terminate every instance carrying `name` (normally one, possibly none
    when a create never happened). Returns the serviceids found, now all gone."""
    found = [i.serviceid for i in client.find_instances_by_name(name)]
    for serviceid in found:
        terminate(client, serviceid)
    return found
