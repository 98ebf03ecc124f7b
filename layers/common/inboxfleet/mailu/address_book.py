"""Local mode only: the Hostwinds simulator publishes which loopback port plays which server IP
(DESIGN.md, "Local-mode seams"). httpx, imported on first use: production never loads it."""

from __future__ import annotations

import json
from typing import Any

from inboxfleet.mailu.ssh import Resolver, same_ip_port_22


def address_book_resolver(url: str) -> Resolver:
    """An IP missing from the book resolves to itself, port 22."""

    def resolve(ip: str) -> tuple[str, int]:
        import httpx

        book: dict[str, dict[str, Any]] = json.loads(httpx.get(url, timeout=5.0).content)
        entry = book.get(ip)
        return (str(entry["host"]), int(entry["port"])) if entry else same_ip_port_22(ip)

    return resolve
