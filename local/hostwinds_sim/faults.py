"""Fault injection: one dataclass per fault, a thread-safe queue that consumes them.

A request fault applies to one action (or, with `action=None`, to any request) for `times`
requests, then is used up. Faults are matched first-injected first; one fault per request.
`NeverActive` is different: it marks the next `times` instances created by `add_instance`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from local.fault_book import FaultBook


@dataclass(frozen=True, kw_only=True)
class RequestFault:
    action: str | None = None  # None: any action (also requests without one)
    times: int = 1

    def __post_init__(self) -> None:
        if self.times < 1:
            raise ValueError("times must be at least 1")

    def matches(self, action: str | None) -> bool:
        return self.action is None or self.action == action


@dataclass(frozen=True, kw_only=True)
class ErrorReply(RequestFault):
    """HTTP 200 with `{"result": "error", "message": ...}`; the action is not performed.
    `as_list=True` answers the list form of error.list.json instead."""

    message: str = "Service temporarily unavailable."
    as_list: bool = False


@dataclass(frozen=True, kw_only=True)
class HttpErrorPage(RequestFault):
    """An HTML error page with this status (a gateway in front of the API); not performed."""

    status: int = 502

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 400 <= self.status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")


@dataclass(frozen=True, kw_only=True)
class SlowReply(RequestFault):
    """Wait `delay_s` before answering. With `act_first` (default) the action is performed at
    once and only the reply is late: a client that times out has still created its server.
    With `act_first=False` the request waits before it is processed. On simulator shutdown the
    wait ends early and the connection is closed without a reply."""

    delay_s: float
    act_first: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.delay_s < 0:
            raise ValueError("delay_s must not be negative")


@dataclass(frozen=True, kw_only=True)
class DroppedConnection(RequestFault):
    """Close the connection without any response; the action is not performed."""


@dataclass(frozen=True, kw_only=True)
class LostReply(RequestFault):
    """Perform the action (add_instance really creates), then close without any response."""


class BodyDefect(StrEnum):
    EMPTY = "empty"  # HTTP 200, zero-length body
    TRUNCATED = "truncated"  # HTTP 200, the first half of the real JSON answer
    NON_JSON = "non_json"  # HTTP 200, a plain-text line


@dataclass(frozen=True, kw_only=True)
class MalformedBody(RequestFault):
    """HTTP 200 with a broken body. The action IS performed (the reply is what got damaged),
    so a client must treat a malformed answer to add_instance as "maybe created"."""

    defect: BodyDefect


@dataclass(frozen=True, kw_only=True)
class NeverActive:
    """The next `times` instances created by add_instance stay PENDING forever."""

    times: int = 1

    def __post_init__(self) -> None:
        if self.times < 1:
            raise ValueError("times must be at least 1")


Fault = ErrorReply | HttpErrorPage | SlowReply | DroppedConnection | LostReply | MalformedBody


class FaultQueue(FaultBook[Fault]):
    """Injected request faults with their remaining use counts."""

    def add_fault(self, fault: Fault) -> None:
        self.add(fault, fault.times)

    def take_for(self, action: str | None) -> Fault | None:
        """The first fault matching `action`, with one use consumed; None if none applies."""
        return self.take(lambda fault: fault.matches(action))
