"""A ProvisioningStarter that records what it is asked to start, for tests and the billing demo
(until the local cloud runs the real state machine). Like StartExecution with a name, starting
the same execution twice is one start."""

from __future__ import annotations

import threading

from inboxfleet.provisioning.ports import StartRequest


class RecordingProvisioningStarter:
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


def record_starts() -> RecordingProvisioningStarter:
    """Give the billing worker configured by the current environment a recording starter (the
    production wiring has none until the workflow lands) and return it."""
    from inboxfleet.billing.runtime import billing_deps

    starter = RecordingProvisioningStarter()
    billing_deps().starter = starter
    return starter
