"""The inventory function's dependencies, built on first use (one set per container)."""

from __future__ import annotations

from inboxfleet.db import default_database
from inboxfleet.inventory.service import InventoryDeps


def deps() -> InventoryDeps:
    return InventoryDeps(database=default_database())
