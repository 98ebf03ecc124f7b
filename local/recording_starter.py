"""A WorkflowStarter that records what it is asked to start instead of starting anything,
for tests of the API and billing on their own and for the billing demo. Like StartExecution
with a name, starting the same execution twice is one start."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from inboxfleet.provisioning.ports import StartRequest


class RecordingStarter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started: dict[str, StartRequest] = {}
        self._asked: list[StartRequest] = []

    def start(self, request: StartRequest) -> None:
        with self._lock:
            self._asked.append(request)
            self._started.setdefault(request.execution_name, request)

    def status(self, execution_name: str) -> str | None:
        """A run it was asked to start counts as running (nothing here ever ends)."""
        with self._lock:
            return "RUNNING" if execution_name in self._started else None

    def stop(self, execution_name: str, cause: str) -> None:
        """Stopped runs are forgotten: their name answers None from then on."""
        with self._lock:
            self._started.pop(execution_name, None)

    @property
    def asked(self) -> list[StartRequest]:
        """Every start asked for, repeats included."""
        with self._lock:
            return list(self._asked)

    @property
    def started(self) -> list[StartRequest]:
        with self._lock:
            return list(self._started.values())


@contextmanager
def record_starts(
    starter: RecordingStarter | None = None,
) -> Iterator[RecordingStarter]:
    """While entered, the tenant API and billing hand their starts to a recording starter
    (`starter`, or a new one) instead of the configured state machine."""
    from inboxfleet.provisioning.runtime import using_starter

    recording = starter or RecordingStarter()
    with using_starter(recording):
        yield recording


class UnreachableStarter:
    """A WorkflowStarter whose Step Functions never answers (an outage), for tests."""

    def start(self, request: StartRequest) -> None:
        raise ConnectionError("Step Functions is unreachable")

    def status(self, execution_name: str) -> str | None:
        raise ConnectionError("Step Functions is unreachable")

    def stop(self, execution_name: str, cause: str) -> None:
        raise ConnectionError("Step Functions is unreachable")
