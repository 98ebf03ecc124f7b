"""Reading `docker compose ps --format json`. Pure.

Compose v2 prints one JSON object per line (older v2 releases: one JSON array); each has
Service, State (running, exited, ...) and Health (healthy, starting, unhealthy, or empty when
the image defines no health check).
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, ConfigDict, Field

# The services our docker-compose.yml defines; all must run for the server to be ready.
EXPECTED_SERVICES = frozenset(
    {"front", "admin", "imap", "smtp", "antispam", "redis", "resolver", "webmail"}
)


class Container(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    service: str = Field(alias="Service")
    state: str = Field(alias="State")
    health: str = Field(default="", alias="Health")

    @property
    def ready(self) -> bool:
        return self.state == "running" and self.health in ("healthy", "")


def parse_ps(output: str) -> list[Container]:
    text = output.strip()
    if not text:
        return []
    try:
        if text.startswith("["):
            items = json.loads(text)
        else:
            items = [json.loads(line) for line in text.splitlines() if line.strip()]
        return [Container.model_validate(item) for item in items]
    except (ValueError, TypeError):
        from inboxfleet.mailu.errors import MailuNotReady

        raise MailuNotReady("docker compose ps answered something unreadable") from None


def services_in(compose_file: str) -> frozenset[str]:
    """The service names of our own rendered docker-compose.yml (two-space keys under
    `services:`); no YAML library needed for a file we wrote."""
    section = compose_file.split("\nservices:\n", 1)[1] if "\nservices:\n" in compose_file else ""
    names = set()
    for line in section.splitlines():
        if line and not line.startswith(" ") and not line.startswith("#"):
            break  # the next top-level key
        match = re.match(r"^  ([a-z][a-z0-9_-]*):\s*$", line)
        if match:
            names.add(match.group(1))
    return frozenset(names)


def stack_ready(containers: list[Container], expected: frozenset[str] = EXPECTED_SERVICES) -> bool:
    by_service = {c.service: c for c in containers}
    return expected <= set(by_service) and all(by_service[s].ready for s in expected)
