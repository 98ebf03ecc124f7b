"""The inventory function's dependencies, built on first use (one set per container)."""

from __future__ import annotations

from uuid import UUID

from inboxfleet.db import default_database
from inboxfleet.inventory.service import InventoryDeps
from inboxfleet.settings import SettingsError, environment_name, inbox_secrets_settings_from_env


def deps() -> InventoryDeps:
    return InventoryDeps(
        database=default_database(), environment=environment_name(), encrypt=_encrypt
    )


def _encrypt(tenant_id: UUID, inbox_id: UUID, password: str) -> str:
    """A mailbox password as KMS ciphertext bound to its inbox (boto3 only on this path)."""
    from inboxfleet.kms import encrypt_text

    key_id = inbox_secrets_settings_from_env().inbox_secrets_key_id
    if key_id is None:
        raise SettingsError("INBOX_SECRETS_KEY_ID must be set to keep mailbox passwords")
    context = {"tenant_id": str(tenant_id), "inbox_id": str(inbox_id)}
    return encrypt_text(key_id, password, context)
