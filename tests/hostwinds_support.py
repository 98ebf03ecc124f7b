"""Shared set-up for tests that talk to the Hostwinds simulator."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from inboxfleet.hostwinds.client import HostwindsClient
from inboxfleet.retry import Backoff
from local.hostwinds_sim import HostwindsSimulator
from tests.clock import FakeClock
from tests.ssh_support import platform_key

API_KEY = "hwkey-integration-0123456789"
SSH_KEY_NAME = "inboxfleet-platform"
IMAGE = "0b6d4f2e-debian-12"
PLAN = 1001
ACTIVATION_DELAY_S = 30.0


@dataclass
class Hostwinds:
    sim: HostwindsSimulator
    clock: FakeClock

    def client(self, *, timeout_s: float = 2.0, key: str = API_KEY) -> HostwindsClient:
        return HostwindsClient(
            lambda: key,
            url=self.sim.url,
            timeout_s=timeout_s,
            # Real backoff shape; the pauses are skipped, the retries are real.
            backoff=Backoff(attempts=3, base_s=0.01, cap_s=0.05),
            sleep=lambda _: None,
        )

    def add_instance_calls(self) -> int:
        return sum(1 for r in self.sim.requests if r.action == "add_instance")


@contextmanager
def hostwinds_simulator(listing_delay_s: float = 0.0) -> Iterator[Hostwinds]:
    clock = FakeClock()
    with HostwindsSimulator(
        api_keys={API_KEY},
        activation_delay_s=ACTIVATION_DELAY_S,
        clock=clock,
        ssh_keys={SSH_KEY_NAME: platform_key().public_openssh},
        listing_delay_s=listing_delay_s,
    ) as sim:
        yield Hostwinds(sim, clock)
