"""A faithful Hostwinds Cloud API simulator on loopback (issue 3, item 4).

It speaks the contract in tests/contracts/hostwinds/: form POSTs to /cloud/api.php with the key
in `API`, answers HTTP 200 + JSON (errors too), instances that turn ACTIVE after a delay with
RFC 5737 addresses per location, pagination, rDNS, fault injection, and the address book of
DESIGN.md "Local-mode seams". Run it alone with `python -m local.hostwinds_sim`.
"""

from __future__ import annotations

from local.hostwinds_sim.catalogue import DEFAULT_CATALOGUE, Catalogue, Image, Location, Plan
from local.hostwinds_sim.faults import (
    BodyDefect,
    DroppedConnection,
    ErrorReply,
    Fault,
    HttpErrorPage,
    LostReply,
    MalformedBody,
    NeverActive,
    RequestFault,
    SlowReply,
)
from local.hostwinds_sim.ips import DOCUMENTATION_RANGES
from local.hostwinds_sim.server import (
    ADDRESS_BOOK_PATH,
    API_PATH,
    HostwindsSimulator,
    RecordedRequest,
)

__all__ = [
    "ADDRESS_BOOK_PATH",
    "API_PATH",
    "DEFAULT_CATALOGUE",
    "DOCUMENTATION_RANGES",
    "BodyDefect",
    "Catalogue",
    "DroppedConnection",
    "ErrorReply",
    "Fault",
    "HostwindsSimulator",
    "HttpErrorPage",
    "Image",
    "Location",
    "LostReply",
    "MalformedBody",
    "NeverActive",
    "Plan",
    "RecordedRequest",
    "RequestFault",
    "SlowReply",
]
