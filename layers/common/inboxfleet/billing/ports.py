"""What billing needs from the outside world, as interfaces; adapters implement them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from inboxfleet.billing.plans import Catalogue
    from inboxfleet.db.connection import Database
    from inboxfleet.provisioning.ports import WorkflowStarter


class StripeGateway(Protocol):
    """Stripe's API (the source of truth) as billing uses it."""

    def subscription(self, subscription_id: str) -> dict[str, Any]: ...

    def invoice(self, invoice_id: str) -> dict[str, Any]: ...

    def customer(self, customer_id: str) -> dict[str, Any]: ...

    def subscriptions_of(self, customer_id: str) -> list[dict[str, Any]]: ...


class EventQueue(Protocol):
    def send(
        self,
        body: str,
        *,
        group_id: str,
        deduplication_id: str,
        attributes: dict[str, str] | None = None,
    ) -> None:
        """Durably queued when this returns; raises QueueUnavailable otherwise."""


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str


class MailRejected(Exception):
    """The mail service refused this message for good (bad address, unverified sender):
    sending it again cannot succeed. Any other exception from `send` may pass on a retry."""


class Mailer(Protocol):
    def send(self, email: Email) -> None: ...


@dataclass
class BillingDeps:
    """Everything the billing worker talks to."""

    stripe: StripeGateway
    mailer: Mailer
    # None until the workflow's StartExecution is plugged in: released inboxes then stay
    # `queued` with no execution name (nothing claims a start that was not made), and
    # reconcile starts them later.
    starter: WorkflowStarter | None
    catalogue: Catalogue
    retention: timedelta
    database: Database | None = None
    # Starts the convergence of mailboxes billing suspended or reactivated; None: reconcile
    # brings their servers round.
    mailbox: WorkflowStarter | None = None
    # Where messages that can never succeed are parked (the queue's DLQ); None: they are
    # retried until SQS moves them (maxReceiveCount).
    dead_letters: EventQueue | None = None
    # An event whose customer links to no tenant is retried this often (the link may land).
    park_unknown_customer_after: int = 3
