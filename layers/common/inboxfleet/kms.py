"""KMS encryption and decryption of per-inbox secrets (boto3, imported on first use).

Mailbox passwords travel between steps and sit in the database only as KMS ciphertext, bound
to their inbox by the encryption context: a ciphertext moved to another inbox does not decrypt.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Mapping
from typing import Any
from uuid import UUID


class UndecryptableSecret(ValueError):
    pass


# One client per process: an export decrypts on many threads at once, and each would otherwise
# build its own (boto3's client creation is slow and not thread-safe; a built client is).
_client_lock = threading.Lock()
_built: dict[str, Any] = {}


def _client() -> Any:
    with _client_lock:
        if "kms" not in _built:
            import boto3
            from botocore.config import Config

            # A credentials read or an export decrypts while the caller waits: never a minute's
            # hang.
            config = Config(
                connect_timeout=2, read_timeout=3, retries={"max_attempts": 2, "mode": "standard"}
            )
            _built["kms"] = boto3.client("kms", config=config)
        return _built["kms"]


def inbox_context(tenant_id: UUID, inbox_id: UUID) -> dict[str, str]:
    """What binds a ciphertext to its inbox (every KMS grant on the key requires both keys)."""
    return {"tenant_id": str(tenant_id), "inbox_id": str(inbox_id)}


def encrypt_for_inbox(tenant_id: UUID, inbox_id: UUID, secret: str) -> str:
    """`secret` as base64 KMS ciphertext under INBOX_SECRETS_KEY_ID, bound to the inbox;
    SettingsError when the key is not configured."""
    from inboxfleet.settings import SettingsError, inbox_secrets_settings_from_env

    key_id = inbox_secrets_settings_from_env().inbox_secrets_key_id
    if key_id is None:
        raise SettingsError("INBOX_SECRETS_KEY_ID must be set to keep mailbox passwords")
    return encrypt_text(key_id, secret, inbox_context(tenant_id, inbox_id))


def decrypt_text(ciphertext_b64: str, context: Mapping[str, str]) -> str:
    from botocore.exceptions import ClientError

    try:
        blob = base64.b64decode(ciphertext_b64, validate=True)
        answer = _client().decrypt(CiphertextBlob=blob, EncryptionContext=dict(context))
    except (ValueError, ClientError) as exc:
        # Neither the ciphertext nor the plaintext belongs in an error message.
        raise UndecryptableSecret(f"the secret does not decrypt ({type(exc).__name__})") from None
    return bytes(answer["Plaintext"]).decode()


def encrypt_text(key_id: str, plaintext: str, context: Mapping[str, str]) -> str:
    answer = _client().encrypt(
        KeyId=key_id, Plaintext=plaintext.encode(), EncryptionContext=dict(context)
    )
    return base64.b64encode(answer["CiphertextBlob"]).decode()
