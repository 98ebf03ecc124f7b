"""Test data made through the public repositories, one helper per kind of row."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from uuid import UUID

from inboxfleet.db import system_session, tenant_session
from inboxfleet.db.repositories import (
    BillingAccounts,
    BillingObjects,
    Domains,
    IdempotencyRecords,
    IdempotencyRow,
    Inboxes,
    InboxEvents,
    Servers,
    TenantDirectory,
    UsageReports,
)
from inboxfleet.lifecycles import InboxStatus
from inboxfleet.records import InvoiceSnapshot, PlanItem, SubscriptionSnapshot, Watermark

SOME_TIME = datetime(2026, 11, 1, tzinfo=UTC)


def subscription_snapshot(subscription_id: str, **changes: object) -> SubscriptionSnapshot:
    fields: dict[str, object] = {
        "subscription_id": subscription_id,
        "status": "active",
        "items": (PlanItem(lookup_key="starter_monthly", quantity=1),),
        "current_period_end": datetime(2026, 12, 1, tzinfo=UTC),
        "cancel_at_period_end": False,
        "ended_at": None,
        "cancellation_reason": None,
        "subscription_created": SOME_TIME,
    }
    return SubscriptionSnapshot.model_validate(fields | changes)


def invoice_snapshot(invoice_id: str, **changes: object) -> InvoiceSnapshot:
    fields: dict[str, object] = {
        "invoice_id": invoice_id,
        "subscription_id": None,
        "status": "paid",
        "amount_due": 1500,
        "amount_paid": 1500,
        "currency": "usd",
        "attempt_count": 1,
        "next_payment_attempt": None,
        "hosted_invoice_url": None,
        "invoice_created": SOME_TIME,
    }
    return InvoiceSnapshot.model_validate(fields | changes)


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
        mark = Watermark(event_created=SOME_TIME, event_id=f"evt_{label}")
        BillingObjects(s).save_subscription(subscription_snapshot(f"sub_{label}"), mark)
        BillingObjects(s).save_invoice(invoice_snapshot(f"in_{label}"), mark)
        UsageReports(s).add(date(2026, 11, 1), "active_inboxes", 1, f"usage-{label}")
        IdempotencyRecords(s).claim(
            IdempotencyRow(
                key=f"test#{label}",
                status="COMPLETED",
                expires_at=2**40,
                in_progress_expires_at=None,
                payload_hash="",
                response_data="{}",
            ),
            now_s=0,
            now_ms=0,
        )
    return SeededTenant(tenant_id, domain.id, server.id, inbox.id)


def failed_inbox(
    tenant_id: UUID, domain_id: UUID, address: str, inbox_id: UUID | None = None
) -> UUID:
    """An inbox whose workflow failed, moved there as the workflow would."""
    with tenant_session(tenant_id) as s:
        inboxes = Inboxes(s)
        inbox = inboxes.add(domain_id, address, inbox_id=inbox_id)
        for status in (InboxStatus.QUEUED, InboxStatus.PROVISIONING, InboxStatus.FAILED):
            assert inboxes.transition(inbox.id, status, by="workflow", why="test") is not None
        return inbox.id


def mailbox_ciphertext(key_id: str, tenant_id: UUID, inbox_id: UUID, password: str) -> bytes:
    """A mailbox password as the workflow keeps it: KMS ciphertext bound to its inbox."""
    import base64

    from inboxfleet.kms import encrypt_text

    context = {"tenant_id": str(tenant_id), "inbox_id": str(inbox_id)}
    return base64.b64decode(encrypt_text(key_id, password, context))


def active_inbox(
    tenant_id: UUID,
    domain_id: UUID,
    address: str,
    *,
    password: str,
    key_id: str,
    then: tuple[InboxStatus, ...] = (),
    inbox_id: UUID | None = None,
) -> UUID:
    """An inbox the workflow made active on its domain's server (added when the domain has none
    yet), its mailbox password kept as KMS ciphertext with key `key_id`; then moved on through
    `then` (suspended, deleting...)."""
    from inboxfleet.db.repositories import MailboxLogins

    with tenant_session(tenant_id) as s:
        servers = [server for server in Servers(s).list() if server.domain_id == domain_id]
        server = servers[0] if servers else Servers(s).add(domain_id, "dallas", "test")
        inboxes = Inboxes(s)
        inbox = inboxes.add(domain_id, address, server_id=server.id, inbox_id=inbox_id)
        ciphertext = mailbox_ciphertext(key_id, tenant_id, inbox.id, password)
        assert MailboxLogins(s).store_password(inbox.id, ciphertext)
        for status in (InboxStatus.QUEUED, InboxStatus.PROVISIONING, InboxStatus.ACTIVE, *then):
            assert inboxes.transition(inbox.id, status, by="workflow", why="test") is not None
        return inbox.id
