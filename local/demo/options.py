"""What `inboxfleet-local demo` (and `make demo`) can be asked for, checked before anything
starts: a bad flag is a usage error, not a half-built cloud."""

from __future__ import annotations

from dataclasses import dataclass

from local.demo.steps import failable_step

# The plan the demo's customer buys allows 25 inboxes on 10 domains (billing/plans.json).
MAX_INBOXES = 25
MAX_DOMAINS = 10
# Waits and simulated delays at 1/100: a VPS is ACTIVE in 0.4 s instead of 40 s, Mailu healthy
# in 0.3 s; the machinery (handlers, database, SSH, DNS) runs at its own speed.
DEFAULT_TIME_SCALE = 0.01


@dataclass(frozen=True)
class DemoOptions:
    inboxes: int = 2
    domains: int = 1
    fail_at: str | None = None
    time_scale: float = DEFAULT_TIME_SCALE
    keep_running: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.inboxes <= MAX_INBOXES:
            raise ValueError(f"--inboxes must be 1-{MAX_INBOXES} (the demo plan's limit)")
        if not 1 <= self.domains <= min(MAX_DOMAINS, self.inboxes):
            raise ValueError(
                f"--domains must be 1-{MAX_DOMAINS} and at most --inboxes (each domain gets one)"
            )
        if not 0 < self.time_scale <= 1:
            raise ValueError("--time-scale must be in (0, 1]")
        if self.fail_at is not None:
            failable_step(self.fail_at)  # raises ValueError naming the steps there are
