"""Fault injection for the DNS servers: drop a query (the client times out) or answer late.

Faults match a query by name (case-insensitive; None matches every query), are consumed
first-injected first, one per query, and end after `times` queries (`times=None`: until
cleared). Thread-safe.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from local.dns_sim.names import normalize


@dataclass(frozen=True)
class Drop:
    """No answer at all."""


@dataclass(frozen=True)
class Delay:
    """Answer after `delay_s` seconds (a server shutting down ends the wait and stays silent)."""

    delay_s: float


Action = Drop | Delay


@dataclass
class _Entry:
    action: Action
    qname: str | None
    remaining: int | None


class FaultQueue:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[_Entry] = []

    def add(self, action: Action, *, qname: str | None, times: int | None) -> None:
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None: until cleared)")
        if isinstance(action, Delay) and action.delay_s < 0:
            raise ValueError("delay_s must not be negative")
        entry = _Entry(action, None if qname is None else normalize(qname), times)
        with self._lock:
            self._entries.append(entry)

    def take(self, qname: str) -> Action | None:
        """The first fault matching the normalized `qname`, one use consumed; None if none."""
        with self._lock:
            for index, entry in enumerate(self._entries):
                if entry.qname is None or entry.qname == qname:
                    if entry.remaining is not None:
                        entry.remaining -= 1
                        if entry.remaining == 0:
                            del self._entries[index]
                    return entry.action
        return None

    def pending(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
