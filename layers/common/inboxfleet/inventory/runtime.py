"""The inventory function's dependencies, built on first use (one set per container)."""

from __future__ import annotations

from uuid import UUID

from inboxfleet.db import default_database
from inboxfleet.inventory.service import InventoryDeps
from inboxfleet.settings import environment_name


def deps() -> InventoryDeps:
    return InventoryDeps(
        database=default_database(), environment=environment_name(), encrypt=_encrypt
    )


def _encrypt(tenant_id: UUID, inbox_id: UUID, password: str) -> str:
    # boto3 only on this path: most inventory steps never encrypt.
    from inboxfleet.kms import encrypt_for_inbox

    return encrypt_for_inbox(tenant_id, inbox_id, password)
