"""Local mode only: which loopback address plays which name server.

Production asks a zone's name servers at their addresses, port 53. Locally every zone's name
servers are one loopback port (`ZoneServers`), so the functions' DNS settings name this book
(DNS_NAME_SERVER_BOOK_URL): `GET /name-servers/<name>` answers `{"host": ..., "port": ...}`,
or 404 for a name no zone has. The SSH address book of the Hostwinds simulator is the same seam.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from local.dns_sim.transport import Address
from local.loopback import HttpSimulator, QuietHandler

PATH = "/name-servers/"


class _Handler(QuietHandler):
    def do_GET(self) -> None:
        book: NameServerBook = self.server.owner  # type: ignore[attr-defined]
        address = book.lookup(self.path[len(PATH) :]) if self.path.startswith(PATH) else None
        if address is None:
            self.send_json(HTTPStatus.NOT_FOUND, {"error": "no such name server"})
        else:
            self.send_json(HTTPStatus.OK, {"host": address[0], "port": address[1]})


class NameServerBook(HttpSimulator):
    kind = "name-server book"
    handler = _Handler

    def __init__(self, lookup: Callable[[str], Address | None], port: int = 0) -> None:
        super().__init__(port)
        self.lookup = lookup

    @property
    def url(self) -> str:
        return f"{self.root_url}{PATH}"
