"""A parent zone (a TLD such as `example.`) that delegates child domains, for delegation checks.

Like a real TLD server it is authoritative for the parent zone only: a query for a delegated
domain (any type but DS) or for anything below it gets a REFERRAL - NOERROR, AA clear, an empty
answer section and the domain's NS records in the AUTHORITY section. A name neither delegated
nor otherwise in the zone gets NXDOMAIN with the parent's SOA. Serve it from its own
`AuthoritativeServer`: a server that also hosts the child zone answers from the child (the most
specific zone wins), exactly as a real server hosting both would.
"""

from __future__ import annotations

from collections.abc import Sequence

from local.dns_sim.names import checked, is_within
from local.dns_sim.zone import RecordZone, RRset, default_soa

DELEGATION_TTL = 172800  # two days, as TLDs publish NS


class ParentZone(RecordZone):
    def __init__(
        self,
        origin: str = "example.",
        *,
        nameservers: Sequence[str] | None = None,
        ttl: int = DELEGATION_TTL,
    ) -> None:
        fqdn = checked(origin)
        hosts = nameservers or ["a.nic." + fqdn if fqdn != "." else "a.root-servers.net."]
        self._ttl = ttl
        super().__init__(fqdn, [default_soa(fqdn), RRset.parse(fqdn, "NS", hosts, ttl)])

    def _child(self, domain: str) -> str:
        name = checked(domain)
        if name == self.origin or not is_within(name, self.origin):
            raise ValueError(f"{domain!r} is not below the parent zone {self.origin}")
        return name

    def delegate(self, domain: str, nameservers: Sequence[str]) -> None:
        """Publish `domain NS nameservers` (replacing any earlier delegation of it)."""
        if not nameservers:
            raise ValueError("a delegation needs at least one name server")
        self.put(RRset.parse(self._child(domain), "NS", nameservers, self._ttl))

    def undelegate(self, domain: str) -> None:
        """Withdraw the delegation (no error if there was none)."""
        self.delete(self._child(domain), "NS")

    def delegations(self) -> dict[str, list[str]]:
        """Domain -> its name servers (normalized, trailing dot)."""
        return {
            rrset.name: [rd.target() or rd.text for rd in rrset.rdatas]
            for rrset in self.rrsets()
            if rrset.rtype == "NS" and rrset.name != self.origin
        }
