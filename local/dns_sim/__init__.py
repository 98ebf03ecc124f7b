"""Local DNS servers on 127.0.0.1 speaking real DNS over UDP and TCP (issue 5, item 6).

- `AuthoritativeServer(sources)`: authoritative answers (AA) from zone sources -
  `Route53Zones(boto3 route53 client)` (moto), `StaticZone(origin, records)`,
  `ReverseZone(callable ip -> name)`, `ParentZone(origin)` (delegations, answered as
  referrals) and `Dnsbl()` (zen/dbl.spamhaus.org, with the public-resolver refusal).
- `CachingResolver(upstreams)`: a recursive stand-in (RA) with a TTL cache on an injectable
  clock, stale serving and flush.
- `LocalDns(route53_client, ...)`: all of it wired the way the local cloud uses it.

Every server is a context manager: it binds one OS-chosen port for UDP and TCP on enter, and on
exit stops and joins every thread it started. `queries` logs what arrived; `drop()` and `slow()`
inject faults. Nothing received is ever executed.
"""

from __future__ import annotations

from local.dns_sim.authoritative import AuthoritativeServer
from local.dns_sim.dnsbl import DBL, PUBLIC_RESOLVER_CODE, ZEN, Dnsbl
from local.dns_sim.names import reverse_pointer, reversed_ip_labels
from local.dns_sim.parent import ParentZone
from local.dns_sim.resolver import CachingResolver
from local.dns_sim.reverse import ReverseZone
from local.dns_sim.route53 import Route53Zones
from local.dns_sim.stack import LocalDns
from local.dns_sim.transport import Address, DnsServer, QueryRecord
from local.dns_sim.zone import Record, RecordLike, RecordZone, RRset, StaticZone, Zone, ZoneSource

__all__ = [
    "DBL",
    "PUBLIC_RESOLVER_CODE",
    "ZEN",
    "Address",
    "AuthoritativeServer",
    "CachingResolver",
    "DnsServer",
    "Dnsbl",
    "LocalDns",
    "ParentZone",
    "QueryRecord",
    "RRset",
    "Record",
    "RecordLike",
    "RecordZone",
    "ReverseZone",
    "Route53Zones",
    "StaticZone",
    "Zone",
    "ZoneSource",
    "reverse_pointer",
    "reversed_ip_labels",
]
