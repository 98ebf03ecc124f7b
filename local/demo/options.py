"""What `inboxfleet-local demo` (and `make demo`) can be asked for, checked before anything
starts: a bad flag is a usage error, not a half-built cloud."""

from __future__ import annotations

from dataclasses import dataclass

from local.demo.steps import failable_step

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
        from local.sample_customer import plan_limits

        max_inboxes, max_domains = plan_limits()  # what the customer's plan allows
        if not 1 <= self.inboxes <= max_inboxes:
            raise ValueError(f"--inboxes must be 1-{max_inboxes} (the demo plan's limit)")
        if not 1 <= self.domains <= min(max_domains, self.inboxes):
            raise ValueError(
                f"--domains must be 1-{max_domains} and at most --inboxes (each domain gets one)"
            )
        if not 0 < self.time_scale <= 1:
            raise ValueError("--time-scale must be in (0, 1]")
        if self.fail_at is not None:
            failable_step(self.fail_at)  # raises ValueError naming the steps there are
