"""Local mode only: the local DNS publishes which loopback address plays each zone's name
servers (DNS_NAME_SERVER_BOOK_URL), as the Hostwinds simulator publishes SSH addresses.
Production asks a zone's name servers at their own addresses, port 53. httpx, imported on first
use: production never loads it."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from inboxfleet.dns.verify import Nameserver


def book_addresses(url: str, names: Sequence[str], timeout_s: float) -> list[Nameserver]:
    """The addresses of the named name servers the book knows (unknown ones are left out)."""
    import httpx

    found: list[Nameserver] = []
    with httpx.Client(timeout=timeout_s) as client:
        for name in names:
            answer = client.get(url + quote(name.rstrip("."), safe=""))
            if answer.status_code == 200:
                entry = answer.json()
                server = Nameserver(str(entry["host"]), int(entry["port"]))
                if server not in found:
                    found.append(server)
    return found
