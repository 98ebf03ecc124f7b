"""The plan catalogue: what each Stripe price (by lookup_key) entitles a tenant to.

The catalogue is a versioned file shipped with the package (plans.json). A price whose
lookup_key is not in it is a configuration error, never a silent "no limits".
"""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic
# would otherwise compile each annotation string at import, on every cold start.

from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from inboxfleet.billing.errors import UnknownPlan
from inboxfleet.entitlement import Limits
from inboxfleet.locations import LocationSlug


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str
    max_inboxes: int = Field(ge=0)
    max_domains: int = Field(ge=0)
    # Hostwinds location slugs, in placement order (ties go to the earlier one).
    allowed_locations: tuple[LocationSlug, ...] = Field(min_length=1)
    metered: bool = False
    meter_event_name: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,99}$")

    @model_validator(mode="after")
    def _metered_plans_name_their_meter(self) -> Self:
        if self.metered != (self.meter_event_name is not None):
            raise ValueError("a metered plan names its meter_event_name, and only a metered one")
        return self


class Catalogue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    plans: dict[str, Plan]

    def plan(self, lookup_key: str | None) -> Plan:
        plan = self.plans.get(lookup_key or "")
        if plan is None:
            raise UnknownPlan(
                f"price lookup_key {lookup_key!r} is not in plan catalogue {self.version}"
            )
        return plan

    def limits(self, items: Iterable[tuple[str | None, int]]) -> Limits:
        inboxes = domains = 0
        locations: list[str] = []
        meter: str | None = None
        for lookup_key, quantity in items:
            plan = self.plan(lookup_key)
            inboxes += plan.max_inboxes * quantity
            domains += plan.max_domains * quantity
            locations += [loc for loc in plan.allowed_locations if loc not in locations]
            meter = meter or plan.meter_event_name
        return Limits(
            max_inboxes=inboxes,
            max_domains=domains,
            allowed_locations=tuple(locations),
            meter_event_name=meter,
        )


@cache
def default_catalogue() -> Catalogue:
    text = resources.files("inboxfleet.billing").joinpath("plans.json").read_text("utf-8")
    return Catalogue.model_validate_json(text)
