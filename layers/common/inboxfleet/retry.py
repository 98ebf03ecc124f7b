"""Retries with capped exponential backoff and full jitter — only ever for calls safe to repeat.

Full jitter (a uniform draw up to the capped exponential) spreads a fleet of retrying Lambdas
instead of having them hit a recovering API in lockstep. `sleep` and `rng` are parameters so
tests observe the delays instead of waiting them out.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    attempts: int = 4
    base_s: float = 0.5
    cap_s: float = 8.0

    def delays(self, rng: Callable[[], float] = random.random) -> Iterator[float]:
        """The pauses between attempts: attempts - 1 of them."""
        for retry in range(self.attempts - 1):
            yield rng() * min(self.cap_s, self.base_s * 2**retry)


def call_with_retries(
    fn: Callable[[], T],
    *,
    retry_on: tuple[type[BaseException], ...],
    backoff: Backoff,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
) -> T:
    delays = backoff.delays(rng)
    while True:
        try:
            return fn()
        except retry_on:
            delay = next(delays, None)
            if delay is None:
                raise
            sleep(delay)
