"""Fault injection for the DNS servers: drop a query (the client times out) or answer late.

Faults match a query by name (case-insensitive; None matches every query), are consumed
first-injected first, one per query, and end after `times` queries (`times=None`: until
cleared). Thread-safe.
"""

from __future__ import annotations

from dataclasses import dataclass

from local.dns_sim.names import normalize
from local.fault_book import FaultBook


@dataclass(frozen=True)
class Drop:
    """No answer at all."""


@dataclass(frozen=True)
class Delay:
    """Answer after `delay_s` seconds (a server shutting down ends the wait and stays silent)."""

    delay_s: float


Action = Drop | Delay


class FaultQueue:
    def __init__(self) -> None:
        self._book: FaultBook[tuple[str | None, Action]] = FaultBook()

    def add(self, action: Action, *, qname: str | None, times: int | None) -> None:
        if isinstance(action, Delay) and action.delay_s < 0:
            raise ValueError("delay_s must not be negative")
        self._book.add((None if qname is None else normalize(qname), action), times)

    def take(self, qname: str) -> Action | None:
        """The first fault matching the normalized `qname`, one use consumed; None if none."""
        found = self._book.take(lambda entry: entry[0] is None or entry[0] == qname)
        return None if found is None else found[1]

    def pending(self) -> int:
        return self._book.pending()

    def clear(self) -> None:
        self._book.clear()
