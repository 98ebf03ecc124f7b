"""Where servers can be: Hostwinds locations, named everywhere by one slug (the plan catalogue,
placement, the create-server command, the servers table). Pure.

The slug comes from the location's name in Hostwinds' get_locations ("Dallas, TX" -> "dallas");
the hostwinds client maps it to the numeric location_id an order needs.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

SLUG_PATTERN = r"^[a-z][a-z-]{1,31}$"
LocationSlug = Annotated[str, Field(pattern=SLUG_PATTERN)]


def slug_of(location_name: str) -> str:
    """'Dallas, TX' -> 'dallas', 'Los Angeles, CA' -> 'los-angeles'."""
    return location_name.split(",", maxsplit=1)[0].strip().lower().replace(" ", "-")
