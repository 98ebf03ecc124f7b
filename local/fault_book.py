"""Injected faults with their remaining uses: what every simulator's fault injection shares."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class _Entry(Generic[T]):
    fault: T
    remaining: int | None  # None: until cleared


class FaultBook(Generic[T]):
    """First injected, first used; one fault per use; thread-safe (tests inject from their
    thread while servers consume from theirs)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[_Entry[T]] = []

    def add(self, fault: T, times: int | None) -> None:
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None: until cleared)")
        with self._lock:
            self._entries.append(_Entry(fault, times))

    def take(self, applies: Callable[[T], bool]) -> T | None:
        """The first fault that applies, one use consumed; None if none does."""
        with self._lock:
            for index, entry in enumerate(self._entries):
                if applies(entry.fault):
                    if entry.remaining is not None:
                        entry.remaining -= 1
                        if entry.remaining == 0:
                            del self._entries[index]
                    return entry.fault
        return None

    def pending(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
