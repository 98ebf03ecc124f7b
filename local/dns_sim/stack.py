"""The local DNS world in one context manager: the servers the verifier's settings point at.

- `authoritative`: the shared server - reverse DNS, the DNSBL zones and any extra sources (what
  the provider's PTR servers and Spamhaus would answer) and, unless `route53_by_delegation`,
  the Route 53 zones (moto) too, the first zone of each name.
- `parent`: the parent zones (the TLD servers) holding the delegations, on a server of its own.
  The shared server's zones that sit in a parent zone (e.g. `zen.spamhaus.org.` under `org.`)
  are delegated there to `SHARED_NAME_SERVER`, as Spamhaus's are in the real `org.`.
- `zone_servers`: each hosted zone's own name servers (one loopback port per zone, answering
  from that zone only), and `book`, the HTTP page saying which port plays which name server
  (DNS_NAME_SERVER_BOOK_URL). With `distinct_name_servers()` active (the local cloud), every
  zone has its own four names, so two tenants' zones for one name are told apart exactly as in
  Route 53: by the name servers the parent delegates to.
- `resolver`: the recursive stand-in. It starts at `parent`, follows delegations into the name
  servers' zones (a zone's own listener; for Route 53-shaped names no zone has, such as moto's
  shared default set, `authoritative` - unless `route53_by_delegation`), and goes to
  `authoritative` directly for names outside every parent zone (reverse zones, DNSBLs under
  no parent zone, and - without `route53_by_delegation` - domains under other TLDs). A domain
  that is not delegated is NXDOMAIN at the resolver; one delegated to other name servers is
  SERVFAIL.

`route53_by_delegation=True` (the local cloud) is Route 53 as the world sees it: a hosted zone
is answered only by its own name servers, so only through a delegation - a zone nobody
delegated to (a squatter's, say) is invisible, whatever TLD its name is under. Give it parent
zones for the TLDs the domains are under: a name under none of them is SERVFAIL.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from typing import Any, Self

from local.dns_sim.authoritative import AuthoritativeServer
from local.dns_sim.book import NameServerBook
from local.dns_sim.dnsbl import Dnsbl
from local.dns_sim.names import checked, is_within, normalize
from local.dns_sim.parent import ParentZone
from local.dns_sim.resolver import UPSTREAM_TIMEOUT_S, CachingResolver
from local.dns_sim.reverse import ReverseZone
from local.dns_sim.route53 import DEFAULT_MAX_AGE_S, Route53Zones
from local.dns_sim.transport import Address
from local.dns_sim.zone import RecordZone, ZoneSource
from local.dns_sim.zone_servers import ZoneServers
from local.loopback import StartStop

ROUTE53_NAMESERVER = re.compile(r"^ns-\d+\.awsdns-\d+\.[a-z0-9.-]+\.$")
# The name the parent zones delegate the shared server's zones to (`.invalid`: never real).
SHARED_NAME_SERVER = "shared.dns-sim.invalid."


class LocalDns(StartStop):
    def __init__(
        self,
        route53_client: Any | None = None,
        *,
        reverse_records: Callable[[], Mapping[str, str]] | None = None,
        parent_origins: Sequence[str] = ("example.",),
        dnsbl: Dnsbl | None = None,
        extra_sources: Sequence[ZoneSource] = (),
        clock: Callable[[], float] = time.monotonic,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        upstream_timeout_s: float = UPSTREAM_TIMEOUT_S,
        route53_by_delegation: bool = False,
    ) -> None:
        self.route53_by_delegation = route53_by_delegation
        self.route53 = (
            None
            if route53_client is None
            else Route53Zones(route53_client, max_age_s=max_age_s, clock=clock)
        )
        self.reverse = None if reverse_records is None else ReverseZone(reverse_records)
        self.dnsbl = dnsbl if dnsbl is not None else Dnsbl()
        self.parents = [ParentZone(origin) for origin in parent_origins]
        shared = [s for s in (self.reverse, self.dnsbl, *extra_sources) if s is not None]
        route53 = [] if self.route53 is None or route53_by_delegation else [self.route53]
        self.authoritative = AuthoritativeServer([*route53, *shared])
        for origin in dict.fromkeys(o for source in shared for o in _origins(source)):
            if self._parent_holding(origin) is not None:
                self.delegate(origin, [SHARED_NAME_SERVER])
        self.parent = AuthoritativeServer(self.parents)
        self._clock = clock
        self._timeout_s = upstream_timeout_s
        self.zone_servers = None if self.route53 is None else ZoneServers(self.route53)
        self.book = NameServerBook(self.name_server_address)
        self._resolver: CachingResolver | None = None
        self._stack: ExitStack | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        if self._stack is not None:
            raise RuntimeError("the local DNS is already running")
        with ExitStack() as stack:
            stack.enter_context(self.authoritative)
            stack.enter_context(self.parent)
            if self.zone_servers is not None:
                stack.enter_context(self.zone_servers)
            stack.enter_context(self.book)
            self._resolver = stack.enter_context(
                CachingResolver(
                    [self.parent.address, self.authoritative.address],
                    nameservers=self.name_server_address,
                    clock=self._clock,
                    upstream_timeout_s=self._timeout_s,
                )
            )
            self._stack = stack.pop_all()
        return self

    def close(self) -> None:
        stack, self._stack, self._resolver = self._stack, None, None
        if stack is not None:
            stack.close()

    @property
    def resolver(self) -> CachingResolver:
        if self._resolver is None:
            raise RuntimeError("the local DNS is not running")
        return self._resolver

    # ---- delegation ------------------------------------------------------------------------

    def parent_zone(self, domain: str) -> ParentZone:
        """The parent zone that `domain` sits in (the most specific: `co.uk.` rather than
        `uk.` for `acme.co.uk`). ValueError if none."""
        found = self._parent_holding(checked(domain))
        if found is None:
            raise ValueError(f"no local parent zone holds {domain!r}")
        return found

    def _parent_holding(self, name: str) -> ParentZone | None:
        found = [p for p in self.parents if p.origin != name and is_within(name, p.origin)]
        return max(found, key=lambda p: len(p.origin)) if found else None

    def delegate(self, domain: str, nameservers: Sequence[str]) -> None:
        self.parent_zone(domain).delegate(domain, nameservers)

    def undelegate(self, domain: str) -> None:
        self.parent_zone(domain).undelegate(domain)

    def name_server_address(self, host: str) -> Address | None:
        """Where the name server `host` answers: its zone's own listener; the shared
        authoritative server for `SHARED_NAME_SERVER` and (unless `route53_by_delegation`: it
        serves no Route 53 zone then) for a Route 53-shaped name no zone has; else None."""
        name = normalize(host)
        if name == SHARED_NAME_SERVER:
            return self.authoritative.address
        if self.zone_servers is not None:
            own = self.zone_servers.address_of(name)
            if own is not None:
                return own
        if not self.route53_by_delegation and ROUTE53_NAMESERVER.match(name):
            return self.authoritative.address
        return None


def _origins(source: ZoneSource) -> tuple[str, ...]:
    """The zones a source of the shared server holds, where it says (for delegations)."""
    if isinstance(source, RecordZone):
        return (source.origin,)
    if isinstance(source, Dnsbl | ReverseZone):
        return source.origins
    return ()
