"""Tenants are created and listed by operators only, each in a system session that says why."""

from __future__ import annotations

from inboxfleet.admin.commands import CreateTenant
from inboxfleet.db import system_session
from inboxfleet.db.repositories import TenantDirectory
from inboxfleet.records import Tenant


def create_tenant(command: CreateTenant) -> Tenant:
    with system_session("admin.create-tenant") as s:
        return TenantDirectory(s).create(command.name, command.billing_email)


def list_tenants() -> list[Tenant]:
    with system_session("admin.list-tenants") as s:
        return TenantDirectory(s).list()
