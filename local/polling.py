"""Waiting for something the local cloud does in the background: poll with a deadline, never a
fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
POLL_S = 0.02


def poll(check: Callable[[], T | None], what: str, deadline_s: float = 60.0) -> T:
    """`check()` once it is truthy; TimeoutError naming `what` after the deadline."""
    end = time.monotonic() + deadline_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(POLL_S)
