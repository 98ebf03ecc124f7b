"""Reading `docker compose ps --format json`. Pure.

Compose v2 prints one JSON object per line (older v2 releases: one JSON array); each has
Service, State (running, exited, ...) and Health (healthy, starting, unhealthy, or empty when
the image defines no health check).
"""

from __future__ import annotations

import json

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
    if text.startswith("["):
        items = json.loads(text)
    else:
        items = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [Container.model_validate(item) for item in items]


def stack_ready(containers: list[Container], expected: frozenset[str] = EXPECTED_SERVICES) -> bool:
    by_service = {c.service: c for c in containers}
    return expected <= set(by_service) and all(by_service[s].ready for s in expected)
