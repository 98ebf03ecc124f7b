"""Simulated time for local runs (tests, benchmarks): moved forward by the caller instead of
waited for. Pass it as the `clock` of a simulator."""

from __future__ import annotations


class FakeClock:
    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
