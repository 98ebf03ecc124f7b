"""The wire level shared by the account and the server: form fields, answer shapes, validators."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence

Fields = Mapping[str, Sequence[str]]
Reply = dict[str, object] | list[dict[str, object]]

NOT_AUTHORIZED: dict[str, object] = {
    "result": "error",
    "action": "Authorization",
    "message": "Not Authorized!",
}
INVALID_ACTION: dict[str, object] = {"result": "error", "message": "Invalid Action."}
INVALID_SERVICE_ID = "A valid serviceid is required."

_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_KEY_TYPES = frozenset(
    {
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
    }
)


class Rejected(Exception):
    """A request the API refuses: answered as {"result": "error", "message": ...}."""


def error(message: str) -> dict[str, object]:
    return {"result": "error", "message": message}


def success_message(message: str) -> dict[str, object]:
    return {"result": "success", "message": message}


def shown(value: str) -> str:
    """A user-supplied value, quoted and cut short, for an error message."""
    return repr(value if len(value) <= 64 else value[:61] + "...")


def last(fields: Fields, name: str) -> str | None:
    """The value of a single-valued field (like PHP, the last one wins)."""
    values = fields.get(name)
    return values[-1] if values else None


def required(fields: Fields, name: str) -> str:
    value = last(fields, name)
    if value is None or not value.strip():
        raise Rejected(f"{name} is required.")
    return value


def is_hostname(value: str) -> bool:
    """An RFC 1123 host name with at least two labels and a non-numeric top label; one
    trailing dot is allowed."""
    name = value.removesuffix(".")
    labels = name.split(".")
    return (
        len(name) <= 253
        and len(labels) >= 2
        and all(_LABEL.fullmatch(label) for label in labels)
        and not labels[-1].isdigit()
    )


def is_public_key(value: str) -> bool:
    """An OpenSSH public key line whose base64 blob names the same key type."""
    parts = value.strip().split()
    if len(parts) < 2 or parts[0] not in _KEY_TYPES:
        return False
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(blob) < 4:
        return False
    size = int.from_bytes(blob[:4], "big")
    return blob[4 : 4 + size] == parts[0].encode()
