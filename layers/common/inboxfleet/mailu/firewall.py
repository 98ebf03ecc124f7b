"""The host firewall (ufw): the rules a mail server needs, and whether they are in place. Pure."""

from __future__ import annotations

import re

from inboxfleet.mailu.config import MAIL_PORTS

SSH_PORT = 22
ALLOWED_PORTS = (SSH_PORT, *MAIL_PORTS)


def ufw_commands() -> list[list[str]]:
    """From a clean slate (so rules nobody asked for go too): deny by default, allow SSH and
    the mail and web ports, enable. SSH is allowed before enabling, so the session survives."""
    return [
        ["ufw", "--force", "reset"],
        ["ufw", "default", "deny", "incoming"],
        ["ufw", "default", "allow", "outgoing"],
        *(["ufw", "allow", f"{port}/tcp"] for port in ALLOWED_PORTS),
        ["ufw", "--force", "enable"],
    ]


def ufw_in_place(status_verbose: str) -> bool:
    """True when `ufw status verbose` shows an active firewall that denies incoming by default
    and allows exactly our ports (anything else is put right by re-applying the rules)."""
    if not re.search(r"^Status: active\s*$", status_verbose, re.MULTILINE):
        return False
    if not re.search(r"^Default: deny \(incoming\)", status_verbose, re.MULTILINE):
        return False
    rules = status_verbose.split("\n--", 1)[1].splitlines()[1:] if "\n--" in status_verbose else []
    seen = {" ".join(line.split()) for line in rules if line.strip()}
    wanted = {f"{p}/tcp ALLOW IN Anywhere" for p in ALLOWED_PORTS}
    wanted |= {f"{p}/tcp (v6) ALLOW IN Anywhere (v6)" for p in ALLOWED_PORTS}
    return seen == wanted
