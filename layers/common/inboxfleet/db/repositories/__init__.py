"""Typed repositories. Each takes the session kind its rows need and returns records."""

from inboxfleet.db.repositories.billing_accounts import BillingAccounts, BillingDirectory
from inboxfleet.db.repositories.billing_objects import BillingObjects, UsageReports
from inboxfleet.db.repositories.domains import DomainClaims, Domains
from inboxfleet.db.repositories.idempotency_records import IdempotencyRecords, IdempotencyRow
from inboxfleet.db.repositories.inbox_events import InboxEvents
from inboxfleet.db.repositories.inboxes import Inboxes
from inboxfleet.db.repositories.mailbox_logins import MailboxLogins
from inboxfleet.db.repositories.mailbox_states import MailboxStates
from inboxfleet.db.repositories.servers import Servers
from inboxfleet.db.repositories.stripe_events import StripeEventLog
from inboxfleet.db.repositories.tenants import TenantDirectory, TenantProfile

__all__ = [
    "BillingAccounts",
    "BillingDirectory",
    "BillingObjects",
    "DomainClaims",
    "Domains",
    "IdempotencyRecords",
    "IdempotencyRow",
    "InboxEvents",
    "Inboxes",
    "MailboxLogins",
    "MailboxStates",
    "Servers",
    "StripeEventLog",
    "TenantDirectory",
    "TenantProfile",
    "UsageReports",
]
