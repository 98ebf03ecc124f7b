"""Instances by unique name: the idempotent find-or-create and the teardown compensation uses.

Hostwinds' add_instance answers without the new serviceid and does not enforce unique names,
so the name `ifl-<environment>-<server id>` is the handle: looked up before any create, and
after a create whose answer was lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from inboxfleet.hostwinds.client import HostwindsClient
from inboxfleet.hostwinds.errors import (
    CreateOutcomeUnknown,
    DuplicateInstances,
    HostwindsUnavailable,
    InstanceNotFound,
    VpsNotReady,
)
from inboxfleet.hostwinds.models import Instance
from inboxfleet.observability import logger


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


@dataclass(frozen=True)
class Ensured:
    instance: Instance | None  # None: ordered (or maybe ordered), not listed yet
    ordered_at: datetime | None  # when an order was (maybe) sent; the caller keeps it


def within_grace(ordered_at: datetime | None, now: datetime, grace: timedelta) -> bool:
    return ordered_at is not None and now - ordered_at < grace


def ensure_instance(
    client: HostwindsClient,
    order: InstanceOrder,
    *,
    ordered_at: datetime | None = None,
    grace: timedelta,
    now: datetime | None = None,
) -> Ensured:
    """The instance named `order.name`, ordered only if it does not exist. HostwindsUnavailable
    from here means no order was sent by this call.

    Listings may lag behind orders, so "not found" is not proof of "never ordered": while an
    earlier order (`ordered_at`, kept by the caller from this function's previous answer) is
    younger than `grace`, nothing is re-ordered and VpsNotReady says "look again later".
    An order whose answer was lost counts as sent.
    """
    now = now or datetime.now(UTC)
    existing = find_by_name(client, order.name)
    if existing is not None:
        return Ensured(existing, ordered_at)
    if within_grace(ordered_at, now, grace):
        raise VpsNotReady(
            f"{order.name} was ordered at {ordered_at:%H:%M:%S} and is not listed yet"
        )
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
        logger.info("order answer lost; counted as sent", extra={"server_name": order.name})
    try:
        listed = find_by_name(client, order.name)
    except HostwindsUnavailable:
        # Sent: the caller must not take this call for one that sent nothing (a repeat with
        # no order time would buy again); "ordered, not listed yet" is the truth it can act on.
        listed = None
    return Ensured(listed, now)


def terminate(client: HostwindsClient, serviceid: int) -> bool:
    """Terminate; False when the instance was already gone (a repeat is not an error)."""
    try:
        client.terminate(serviceid)
    except InstanceNotFound:
        return False
    return True


def terminate_by_name(
    client: HostwindsClient,
    name: str,
    *,
    ordered_at: datetime | None = None,
    grace: timedelta,
    now: datetime | None = None,
) -> list[int]:
    """Compensation: terminate every instance carrying `name` (normally one, possibly none
    when a create never happened). Returns the serviceids found, now all gone. Finding none
    while a recent order may still be on its way is VpsNotReady: compensation looks again."""
    found = [i.serviceid for i in client.find_instances_by_name(name)]
    if not found and within_grace(ordered_at, now or datetime.now(UTC), grace):
        raise VpsNotReady(f"{name} may still appear (ordered at {ordered_at:%H:%M:%S})")
    for serviceid in found:
        terminate(client, serviceid)
    return found
