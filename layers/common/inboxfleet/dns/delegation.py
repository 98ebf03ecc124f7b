"""Does the parent zone delegate the domain to our name servers? Asked of the parent's servers
directly (a referral), so a resolver's cache cannot mislead it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

from inboxfleet.dns.records import fqdn
from inboxfleet.dns.verify import Nameserver

DelegationState = Literal["delegated", "not_delegated", "partial", "unknown"]


@dataclass(frozen=True)
class Delegation:
    state: DelegationState
    expected: tuple[str, ...]
    found: tuple[str, ...]

    @property
    def instructions(self) -> str:
        """What the tenant must do, in words a customer acts on."""
        if self.state == "delegated":
            return "Delegation is in place."
        wanted = ", ".join(n.rstrip(".") for n in self.expected)
        if self.state == "unknown":
            return f"Could not reach the registry's servers; expected name servers: {wanted}."
        return f"At your registrar, set the domain's name servers to exactly: {wanted}."


async def check_delegation(
    domain: str,
    expected: Sequence[str],
    parent_servers: Sequence[Nameserver],
    timeout_s: float = 3.0,
    max_servers: int = 3,
) -> Delegation:
    """What the parent's servers say, asking at most `max_servers` of them in turn (a TLD has
    up to 13; three silent ones mean "unknown", not a wait of a minute)."""
    wanted = tuple(sorted(fqdn(n) for n in expected))
    query = dns.message.make_query(fqdn(domain), "NS")
    query.flags &= ~dns.flags.RD
    for server in list(parent_servers)[:max_servers]:
        try:
            response, _ = await dns.asyncquery.udp_with_fallback(
                query, server.host, timeout=timeout_s, port=server.port
            )
        except (dns.exception.DNSException, OSError, ValueError):
            continue
        if response.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            continue  # REFUSED, SERVFAIL: this server cannot tell; ask the next
        if response.rcode() == dns.rcode.NXDOMAIN:
            return Delegation("not_delegated", wanted, ())
        found = tuple(
            sorted(
                {
                    str(rdata.target).lower()
                    for section in (response.authority, response.answer)
                    for rrset in section
                    if rrset.rdtype == dns.rdatatype.NS
                    and rrset.name.to_text().lower() == fqdn(domain)
                    for rdata in rrset
                }
            )
        )
        if found and set(found) == set(wanted):  # no name servers delegate nothing
            return Delegation("delegated", wanted, found)
        state: DelegationState = "partial" if set(found) & set(wanted) else "not_delegated"
        return Delegation(state, wanted, found)
    return Delegation("unknown", wanted, ())
