"""Typed Hostwinds results. Pure: no I/O.

Instance payloads also carry the plaintext root `password` and a `configkey`; they are not
modelled, so they are dropped at parse time and never travel further.
"""

# Annotations are evaluated at definition (no `from __future__ import annotations`): pydantic
# would otherwise compile each annotation string at import, on every cold start.

from decimal import Decimal
from ipaddress import IPv4Address
from typing import Any

from pydantic import BaseModel, ConfigDict, computed_field, field_validator

from inboxfleet.locations import slug_of

ACTIVE = "ACTIVE"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Instance(_Model):
    serviceid: int
    # Not among the fields the reference saw in get_instance: optional, so a lookup by id
    # still parses if Hostwinds leaves it out.
    srvrname: str | None = None
    status: str
    main_ip: IPv4Address | None = None
    location_id: int | None = None
    rdns: str | None = None

    @field_validator("main_ip", "rdns", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value in ("", "0.0.0.0") else value  # noqa: S104 - a value, not a bind

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ready(self) -> bool:
        """ACTIVE with an IP. Any other status, known or not, is "not ready yet"."""
        return self.status == ACTIVE and self.main_ip is not None


class Location(_Model):
    id: int
    name: str

    @property
    def slug(self) -> str:
        """The name plans, placement and the servers table use."""
        return slug_of(self.name)


class Image(_Model):
    id: str
    name: str


class Plan(_Model):
    rid: int
    name: str
    price: Decimal
    billingcycle: str | None = None
