"""Test data made through the public repositories, one helper per kind of row."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from uuid import UUID

from inboxfleet.db import system_session, tenant_session
from inboxfleet.db.repositories import (
    BillingAccounts,
    Domains,
    Inboxes,
    InboxEvents,
    Servers,
    TenantDirectory,
)


def new_tenant(name: str = "tenant") -> UUID:
    with system_session("tests.new_tenant") as s:
        return TenantDirectory(s).create(f"{name}-{secrets.token_hex(3)}", "billing@example.com").id


@dataclass(frozen=True)
class SeededTenant:
    tenant_id: UUID
    domain_id: UUID
    server_id: UUID
    inbox_id: UUID


def seed_every_table(tenant_id: UUID) -> SeededTenant:
    """One row in every tenant-aware table, for isolation checks."""
    label = secrets.token_hex(4)
    with tenant_session(tenant_id) as s:
        BillingAccounts(s).link_customer(f"cus_{label}")
        domain = Domains(s).add(f"{label}.example.com")
        server = Servers(s).add(domain.id, "dallas", "test")
        inbox = Inboxes(s).add(domain.id, f"sales@{label}.example.com", server_id=server.id)
        InboxEvents(s).append(inbox.id, "reserve", "succeeded", {"location": "dallas"})
    return SeededTenant(tenant_id, domain.id, server.id, inbox.id)
