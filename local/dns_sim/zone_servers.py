"""Each hosted zone's own name servers, as addresses on loopback.

In Route 53 a zone is served by the four name servers of its delegation set, and two zones with
one name have different sets: which zone the world sees is decided by which name servers the
parent zone delegates to. Here each zone gets its own listener (one UDP and TCP port that all
four of its names lead to), started on first need, answering from that zone only, by zone id:
REFUSED for names outside it, and for everything once the zone is deleted. `address_of(name)`
is what a resolver following a referral, or the verifier asking a zone's own servers, needs.
"""

from __future__ import annotations

import threading

from local.dns_sim.names import is_within, normalize
from local.dns_sim.route53 import Route53Zones, short_zone_id
from local.dns_sim.transport import Address, DnsServer
from local.dns_sim.wire import CLASS_IN, Query, Rcode, Reply
from local.loopback import StartStop

NOT_SERVED = frozenset({"AXFR", "IXFR", "MAILA", "MAILB"})


class _ZoneServer(DnsServer):
    def __init__(self, zones: Route53Zones, zone_id: str) -> None:
        super().__init__(udp_workers=1, name=f"dns-zone-{zone_id}")
        self._zones = zones
        self.zone_id = zone_id

    def _respond(self, query: Query) -> Reply:
        question = query.question
        if question.qclass != CLASS_IN or question.qtype in NOT_SERVED:
            return Reply(Rcode.REFUSED)
        zone = self._zones.zone_by_id(self.zone_id)
        if zone is None or not is_within(question.name, zone.origin):
            return Reply(Rcode.REFUSED)
        return zone.lookup(question.name, question.qtype)


class ZoneServers(StartStop):
    """The listeners of every zone asked about so far; `close()` stops them all."""

    def __init__(self, zones: Route53Zones) -> None:
        self._zones = zones
        self._servers: dict[str, _ZoneServer] = {}  # zone id -> its listener
        self._lock = threading.Lock()
        self._open = False

    def start(self) -> ZoneServers:
        self._open = True
        return self

    def close(self) -> None:
        with self._lock:
            self._open = False
            servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            server.close()

    def address_of(self, name_server: str) -> Address | None:
        """Where the zone whose delegation set names `name_server` is served; None if no zone
        has that name server."""
        zone_id = self._zones.zone_served_by(normalize(name_server))
        return None if zone_id is None else self.address_of_zone(zone_id)

    def address_of_zone(self, zone_id: str) -> Address:
        return self.server_of_zone(zone_id).address

    def server_of_zone(self, zone_id: str) -> DnsServer:
        """The zone's own listener (started on first use): its query log and faults (`drop`,
        `slow`) are a test's handle on what the zone's name servers answer."""
        zone_id = short_zone_id(zone_id)
        with self._lock:
            if not self._open:
                raise RuntimeError("the zone servers are not running")
            server = self._servers.get(zone_id)
            if server is None:
                server = self._servers[zone_id] = _ZoneServer(self._zones, zone_id).start()
            return server
