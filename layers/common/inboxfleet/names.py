"""Validated names shared by every boundary: hostnames (ASCII, already IDNA-encoded)."""

from __future__ import annotations

import re
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, Field

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalise_hostname(value: str) -> str:
    """Lower-case, trailing dot dropped; ValueError unless every label is a valid LDH label and
    there are at least two of them (we never deal in bare single-label names)."""
    name = value.strip().lower().removesuffix(".")
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        shown = value if len(value) <= 80 else value[:77] + "..."
        raise ValueError(f"{shown!r} is not a valid hostname")
    return name


Hostname = Annotated[str, AfterValidator(normalise_hostname)]


def customer_domain(value: str) -> str:
    """A domain as customers type it, internationalised names included, in its ASCII (IDNA
    2008, UTS 46 mapped) form, validated as a hostname."""
    import idna

    text = value.strip().lower().removesuffix(".")
    try:
        ascii_name = idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError:
        shown = value if len(value) <= 80 else value[:77] + "..."
        raise ValueError(f"{shown!r} is not a valid domain name") from None
    return normalise_hostname(ascii_name)


Domain = Annotated[str, AfterValidator(customer_domain)]

_LOCAL_PART = re.compile(r"^[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?$")


def normalise_email(value: str) -> str:
    """A mailbox address we create: a plain lower-case local part at a valid hostname."""
    local, at, domain = value.strip().lower().rpartition("@")
    if not at or not _LOCAL_PART.match(local) or ".." in local:
        shown = value if len(value) <= 80 else value[:77] + "..."
        raise ValueError(f"{shown!r} is not a valid mailbox address")
    return f"{local}@{normalise_hostname(domain)}"


Email = Annotated[str, AfterValidator(normalise_email)]


def server_name_prefix(environment: str) -> str:
    """What every server name of this environment starts with (and only its names)."""
    return f"ifl-{environment}-"


def server_name(environment: str, server_id: UUID) -> str:
    """The unique Hostwinds srvrname of a server: creation and compensation find it by this."""
    return f"{server_name_prefix(environment)}{server_id}"


# A pinned SSH host key: the mail-server function reports it, the inventory function stores it.
Fingerprint = Annotated[str, Field(pattern=r"^SHA256:[A-Za-z0-9+/]{43}$")]
