"""Rows as typed values. Repositories return these; nothing else reads raw rows."""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic
# would otherwise compile each annotation string at import, on every cold start.

from datetime import datetime
from ipaddress import IPv4Address, IPv6Address
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from inboxfleet.lifecycles import (
    DomainStatus,
    InboxStatus,
    PaymentState,
    ServerStatus,
    SubscriptionStatus,
)
from inboxfleet.locations import LocationSlug


class Record(BaseModel):
    # Built on first use: a function reads a few kinds of rows, never all of them.
    model_config = ConfigDict(frozen=True, defer_build=True)


class Tenant(Record):
    id: UUID
    # Nile's built-in `tenants.name` is the tenant's display name.
    name: str | None
    billing_email: str | None = None
    created: datetime


class BillingAccount(Record):
    tenant_id: UUID
    stripe_customer_id: str | None
    stripe_subscription_id: str | None
    subscription_status: SubscriptionStatus | None
    plan: str | None
    quantity: int
    max_inboxes: int
    max_domains: int
    allowed_locations: list[LocationSlug]
    current_period_end: datetime | None
    payment_state: PaymentState
    teardown_after: datetime | None = None
    updated_at: datetime


class Domain(Record):
    tenant_id: UUID
    id: UUID
    name: str
    status: DomainStatus
    hosted_zone_id: str | None
    name_servers: list[str]
    verification_report: dict[str, Any] | None
    delegation_checked_at: datetime | None = None  # when the parent zone was last asked
    delegation_found: list[str] = []  # the name servers it delegated to then
    created_at: datetime
    updated_at: datetime | None = None


class DomainClaim(Record):
    """Who claims a name, platform-wide (shared table, system session only)."""

    name: str
    claimant: UUID
    domain_id: UUID
    zone_id: str
    name_servers: list[str]
    state: Literal["pending", "delegated"]
    created_at: datetime


class Server(Record):
    tenant_id: UUID
    id: UUID
    domain_id: UUID
    name: str
    location: LocationSlug
    provider_instance_id: str | None
    ip: IPv4Address | IPv6Address | None
    host_key_fingerprint: str | None
    status: ServerStatus
    created_at: datetime
    # When its order was (maybe) sent to Hostwinds: recorded before the call is made.
    ordered_at: datetime | None = None
    ordered_for: UUID | None = None  # the inbox whose workflow ordered it
    ordered_by: str | None = None  # that workflow's execution
    failure_reason: str | None = None
    # When its row last changed (how long a server has been on its way out); not part of any
    # step's result.
    updated_at: datetime | None = Field(default=None, exclude=True)


class ServerInUse(Record):
    """A server as its tenant sees it: where it runs and what it holds."""

    id: UUID
    ip: IPv4Address | IPv6Address | None
    location: LocationSlug
    status: ServerStatus
    domain: str
    inboxes: int  # not deleted
    created_at: datetime


class Inbox(Record):
    tenant_id: UUID
    id: UUID
    domain_id: UUID
    server_id: UUID | None
    address: str
    status: InboxStatus
    execution_name: str | None
    attempt: int
    failure_reason: str | None
    suspension_reason: str | None = None
    suspend_at: datetime | None = None
    # Ciphertext only (KMS); kept out of reprs and dumps all the same.
    password_ciphertext: bytes | None = Field(default=None, repr=False, exclude=True)
    created_at: datetime
    updated_at: datetime


class MailboxState(Record):
    """An inbox's mailbox as wanted (its status, a new password) and as last applied on its
    server, with the server it lives on and who is applying it now."""

    id: UUID
    address: str
    status: InboxStatus
    mailbox_applied: Literal["enabled", "disabled"]
    # KMS ciphertext only (a new password asked for, not yet applied).
    desired_password_ciphertext: bytes | None = Field(repr=False, exclude=True)
    mailbox_lease: str | None
    mailbox_lease_until: datetime | None
    server_id: UUID | None
    server_status: ServerStatus | None
    server_ip: IPv4Address | IPv6Address | None
    host_key_fingerprint: str | None
    differs: bool  # the server holds something other than what is wanted


class TimelineEntry(Record):
    """One step outcome of an inbox, as its timeline shows it."""

    id: UUID
    inbox_id: UUID
    step: str
    outcome: str
    detail: dict[str, Any]
    occurred_at: datetime


class InboxEvent(TimelineEntry):
    tenant_id: UUID


class MailboxLogin(Record):
    """What a mail client needs of an inbox, as stored: its address, where its server lives and
    its password as KMS ciphertext only."""

    id: UUID
    address: str
    status: InboxStatus
    # The domain its mail server was installed for (its host name is derived from it); None
    # while the inbox has no server.
    server_domain: str | None
    password_ciphertext: bytes | None = Field(default=None, repr=False, exclude=True)
    created_at: datetime  # with the id, the keyset an export pages by


# Stripe objects as billing keeps them (inboxfleet.billing.state derives the account from them).
InvoiceStatus = Literal["draft", "open", "paid", "uncollectible", "void"]


class Watermark(Record):
    event_created: datetime
    event_id: str


class PlanItem(Record):
    lookup_key: str | None
    quantity: int


class SubscriptionSnapshot(Record):
    subscription_id: str
    status: SubscriptionStatus
    items: tuple[PlanItem, ...]
    current_period_end: datetime | None
    cancel_at_period_end: bool
    ended_at: datetime | None
    cancellation_reason: str | None
    subscription_created: datetime


class InvoiceSnapshot(Record):
    invoice_id: str
    subscription_id: str | None
    status: InvoiceStatus
    amount_due: int
    amount_paid: int
    currency: str
    attempt_count: int
    next_payment_attempt: datetime | None
    hosted_invoice_url: str | None
    invoice_created: datetime

    @property
    def outstanding(self) -> bool:
        """A payment was attempted and failed, and the invoice is still owed."""
        return self.status == "open" and self.attempt_count > 0


class StripeEventRecord(Record):
    event_id: str
    type: str
    created: datetime
    customer_id: str | None
    received_at: datetime
    processed_at: datetime | None
    outcome: str | None
    detail: str | None
