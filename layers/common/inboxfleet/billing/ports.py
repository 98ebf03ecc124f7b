"""What billing needs from the outside world, as interfaces; adapters implement them."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

if TYPE_CHECKING:
    from inboxfleet.billing.plans import Catalogue
    from inboxfleet.db.connection import Database


class StripeGateway(Protocol):
    """Stripe's API (the source of truth) as billing uses it."""

    def subscription(self, subscription_id: str) -> dict[str, Any]: ...

    def invoice(self, invoice_id: str) -> dict[str, Any]: ...

    def customer(self, customer_id: str) -> dict[str, Any]: ...


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


@dataclass(frozen=True)
class StartRequest:
    tenant_id: UUID
    inbox_id: UUID
    execution_name: str  # <inbox id>-<attempt>: starting it twice is a no-op


class ProvisioningStarter(Protocol):
    def start(self, request: StartRequest) -> None: ...


class RecordingProvisioningStarter:
    """Records what would be started (until the workflow's StartExecution plugs in here);
    like StartExecution with a name, starting the same execution twice is one start."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started: dict[str, StartRequest] = {}

    def start(self, request: StartRequest) -> None:
        with self._lock:
            self._started.setdefault(request.execution_name, request)

    @property
    def started(self) -> list[StartRequest]:
        with self._lock:
            return list(self._started.values())


@dataclass
class BillingDeps:
    """Everything the billing worker talks to."""

    stripe: StripeGateway
    mailer: Mailer
    starter: ProvisioningStarter
    catalogue: Catalogue
    retention: timedelta
    database: Database | None = None
    # Where messages that can never succeed are parked (the queue's DLQ); None: they are
    # retried until SQS moves them (maxReceiveCount).
    dead_letters: EventQueue | None = None
    # An event whose customer links to no tenant is retried this often (the link may land).
    park_unknown_customer_after: int = 3
