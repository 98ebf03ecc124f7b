"""What billing needs from the outside world, as interfaces; adapters implement them."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID


class StripeGateway(Protocol):
    """Stripe's API (the source of truth) as billing uses it."""

    def subscription(self, subscription_id: str) -> dict[str, Any]: ...

    def invoice(self, invoice_id: str) -> dict[str, Any]: ...

    def customer(self, customer_id: str) -> dict[str, Any]: ...


class EventQueue(Protocol):
    def send(self, body: str, *, group_id: str, deduplication_id: str) -> None:
        """Durably queued when this returns; raises QueueUnavailable otherwise."""


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str


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
