"""An authoritative DNS server on loopback answering from pluggable zone sources."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from local.dns_sim.names import ROOT, parent
from local.dns_sim.transport import EDNS_PAYLOAD, DnsServer
from local.dns_sim.wire import CLASS_IN, Query, Rcode, Reply
from local.dns_sim.zone import RecordZone, Zone, ZoneSource

NOT_SERVED = frozenset({"AXFR", "IXFR", "MAILA", "MAILB"})


class AuthoritativeServer(DnsServer):
    """Answers with the AA flag from the most specific zone any source holds for the name;
    REFUSED for names in no zone (as a real authoritative-only server does). No recursion:
    RA is never set. Sources may be added while it runs.

        with AuthoritativeServer([Route53Zones(client), ReverseZone(sim.reverse_records)]) as s:
            dns.query.udp(query, "127.0.0.1", port=s.port)
    """

    def __init__(
        self,
        sources: Iterable[ZoneSource] = (),
        *,
        port: int = 0,
        udp_workers: int = 2,
        edns_payload: int = EDNS_PAYLOAD,
    ) -> None:
        super().__init__(
            port=port, udp_workers=udp_workers, edns_payload=edns_payload, name="dns-auth"
        )
        self._fixed: dict[str, RecordZone] = {}  # zones with a fixed origin, found by name
        self._dynamic: tuple[ZoneSource, ...] = ()  # sources asked on every query
        self._sources_lock = threading.Lock()
        for source in sources:
            self.add_source(source)

    def add_source(self, source: ZoneSource) -> None:
        with self._sources_lock:
            if isinstance(source, RecordZone) and type(source).find_zone is RecordZone.find_zone:
                self._fixed = {**self._fixed, source.origin: source}
            else:
                self._dynamic = (*self._dynamic, source)

    def zone_for(self, qname: str) -> Zone | None:
        """The zone that answers for the normalized `qname` (longest origin wins)."""
        best: Zone | None = None
        fixed = self._fixed
        if fixed:
            name = qname
            while best is None:
                best = fixed.get(name)
                if name == ROOT:
                    break
                name = parent(name)
        for source in self._dynamic:
            zone = source.find_zone(qname)
            if zone is not None and (best is None or len(zone.origin) > len(best.origin)):
                best = zone
        return best

    def _respond(self, query: Query) -> Reply:
        question = query.question
        if question.qclass != CLASS_IN or question.qtype in NOT_SERVED:
            return Reply(Rcode.REFUSED)
        zone = self.zone_for(question.name)
        if zone is None:
            return Reply(Rcode.REFUSED)
        return zone.lookup(question.name, question.qtype)
