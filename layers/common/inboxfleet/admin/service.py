"""Operator commands: tenants are created and listed by operators only, and an instance
reconcile found with no server row is terminated only by an operator, after review. Each runs
in a system session that says why."""

from __future__ import annotations

from typing import TYPE_CHECKING

from inboxfleet.admin.commands import CreateTenant, TerminateRowless
from inboxfleet.db import system_session
from inboxfleet.db.repositories import TenantDirectory
from inboxfleet.db.repositories.reconcile import Estate, RowlessInstance, RowlessInstances
from inboxfleet.records import Tenant

if TYPE_CHECKING:
    from inboxfleet.hostwinds.client import HostwindsClient


class Refused(Exception):
    """The command would do something it must not; nothing was done."""


def create_tenant(command: CreateTenant) -> Tenant:
    with system_session("admin.create-tenant") as s:
        return TenantDirectory(s).create(command.name, command.billing_email)


def list_tenants() -> list[Tenant]:
    with system_session("admin.list-tenants") as s:
        return TenantDirectory(s).list()


def list_rowless() -> list[RowlessInstance]:
    """Instances reconcile found with no server row, still unresolved, oldest sighting first."""
    with system_session("admin.list-rowless") as s:
        return RowlessInstances(s).open()


def terminate_rowless(command: TerminateRowless, client: HostwindsClient) -> RowlessInstance:
    """Terminate a reported row-less instance: only one reconcile recorded (and has not seen
    resolved), only under the name it was recorded with and Hostwinds still shows it under,
    and never once a server row carries that name (a restored row: the instance is a
    customer's server again)."""
    with system_session("admin.terminate-rowless") as s:
        found = RowlessInstances(s).get(command.serviceid)
        has_row = Estate(s).server_named(command.name)
    if found is None:
        raise Refused(f"instance {command.serviceid} is not an open row-less report")
    if found.name != command.name:
        raise Refused(f"instance {command.serviceid} is named {found.name}, not {command.name}")
    if has_row:
        raise Refused(f"a server row named {command.name} exists now: it is not row-less")
    from inboxfleet.hostwinds.instances import terminate

    shown = client.get_instance(command.serviceid).srvrname
    if shown not in (None, command.name):
        raise Refused(f"instance {command.serviceid} is named {shown} at Hostwinds now")
    terminate(client, command.serviceid)
    with system_session("admin.terminate-rowless") as s:
        RowlessInstances(s).mark_terminated(command.serviceid)
    return found
