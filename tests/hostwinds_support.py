"""Shared set-up for tests that talk to the Hostwinds simulator: the simulator on a fake clock
with the platform key registered, and clients whose retries are real but never sleep. The
account itself (API key, SSH key name, image, plan) is local.hostwinds_sim.account."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from inboxfleet.hostwinds.client import HostwindsClient
from inboxfleet.retry import Backoff
from local.fake_clock import FakeClock
from local.hostwinds_sim import HostwindsSimulator
from local.hostwinds_sim.account import API_KEY, SSH_KEY_NAME
from local.platform_key import platform_key

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
