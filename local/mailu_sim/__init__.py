"""A simulated Mailu 2024.06 admin REST API (issue 4, item 4): the routes, fields, messages and
status codes of core/admin/mailu/api/v1 that the installer uses, served on loopback. Each
simulated VPS host owns one and forwards `direct-tcpip` channels for 127.0.0.1:8080 to it.
"""

from __future__ import annotations

from local.mailu_sim.api import MailuApi, Response
from local.mailu_sim.records import MailuConfig, dns_fields
from local.mailu_sim.server import (
    REDACTED,
    DomainSnapshot,
    MailuApiSimulator,
    RecordedApiRequest,
    UserSnapshot,
)

__all__ = [
    "REDACTED",
    "DomainSnapshot",
    "MailuApi",
    "MailuApiSimulator",
    "MailuConfig",
    "RecordedApiRequest",
    "Response",
    "UserSnapshot",
    "dns_fields",
]
