"""A caching recursive resolver stand-in on loopback (answers with RD echoed and RA set).

Resolution: the upstream servers are asked in order; the first that does not refuse the name is
where resolution starts (locally: the parent-zone server, then the zones server). A referral is
followed to the servers its NS names map to through `nameservers` (name -> address, e.g. every
`ns-*.awsdns-*` name -> the server with the Route 53 zones); a referral to name servers the
local world does not know, like a delegation to another DNS provider, ends in SERVFAIL, as does
silence from every server. A CNAME leading out of the answering zone is followed (8 at most).
Without `nameservers`, a referral also ends in SERVFAIL: the resolver is then a plain forwarder.

Caching: an answer is kept for the lowest TTL in its answer section, a negative answer for the
SOA's negative TTL (RFC 2308), on the injectable clock; SERVFAIL/REFUSED are never kept. TTLs
count down in the answers served. `serve_stale(True)` keeps serving cached answers after they
expired (with a 30 s TTL, as RFC 8767 suggests) without asking upstream - the upstream may have
changed since, which is how propagation delay looks from a resolver. `flush()` forgets.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from local.dns_sim.client import UpstreamError, ask
from local.dns_sim.names import normalize
from local.dns_sim.transport import EDNS_PAYLOAD, Address, DnsServer
from local.dns_sim.wire import CLASS_IN, Message, Query, Rcode, Reply, ResourceRecord
from local.dns_sim.zone import MAX_CNAME_CHAIN

STALE_TTL = 30
MAX_REFERRALS = 8
UPSTREAM_TIMEOUT_S = 1.0

NameserverBook = Callable[[str], Address | None] | Mapping[str, Address]


@dataclass(frozen=True)
class _Entry:
    reply: Reply
    stored_at: float
    ttl: int

    def expired(self, now: float) -> bool:
        return now >= self.stored_at + self.ttl

    def served(self, now: float, *, stale: bool) -> Reply:
        elapsed = int(now - self.stored_at)

        def aged(records: tuple[ResourceRecord, ...]) -> tuple[ResourceRecord, ...]:
            return tuple(
                dataclasses.replace(r, ttl=STALE_TTL if stale else max(0, r.ttl - elapsed))
                for r in records
            )

        return dataclasses.replace(
            self.reply,
            answer=aged(self.reply.answer),
            authority=aged(self.reply.authority),
            additional=aged(self.reply.additional),
        )


def _cache_ttl(reply: Reply) -> int | None:
    if reply.rcode == Rcode.NOERROR and reply.answer:
        return min(r.ttl for r in reply.answer)
    if reply.rcode in (Rcode.NOERROR, Rcode.NXDOMAIN):
        soa = [r for r in reply.authority if r.rtype == "SOA"]
        if soa:
            return min(min(r.ttl, int(r.rdata.text.split()[-1])) for r in soa)
    return None


def _rcode(value: int) -> Rcode:
    try:
        return Rcode(value)
    except ValueError:
        return Rcode.SERVFAIL


def _is_referral(message: Message) -> bool:
    return (
        message.rcode == Rcode.NOERROR
        and not message.aa
        and not message.answer
        and any(r.rtype == "NS" for r in message.authority)
    )


class CachingResolver(DnsServer):
    def __init__(
        self,
        upstreams: Sequence[Address],
        *,
        nameservers: NameserverBook | None = None,
        clock: Callable[[], float] = time.monotonic,
        upstream_timeout_s: float = UPSTREAM_TIMEOUT_S,
        port: int = 0,
        udp_workers: int = 8,
        edns_payload: int = EDNS_PAYLOAD,
    ) -> None:
        if not upstreams:
            raise ValueError("a resolver needs at least one upstream server")
        super().__init__(
            port=port, udp_workers=udp_workers, edns_payload=edns_payload, name="dns-resolver"
        )
        self._upstreams = [(host, int(port_)) for host, port_ in upstreams]
        self._book: Callable[[str], Address | None] | None
        if isinstance(nameservers, Mapping):
            book = {normalize(name): address for name, address in nameservers.items()}
            self._book = book.get
        else:
            self._book = nameservers
        self._clock = clock
        self._timeout_s = upstream_timeout_s
        self._stale = False
        self._cache: dict[tuple[str, str], _Entry] = {}
        self._cache_lock = threading.Lock()

    # ---- controls --------------------------------------------------------------------------

    def serve_stale(self, enabled: bool = True) -> None:
        self._stale = enabled

    def flush(self, qname: str | None = None) -> None:
        """Forget every cached answer (or only those for `qname`)."""
        with self._cache_lock:
            if qname is None:
                self._cache.clear()
            else:
                name = normalize(qname)
                for key in [k for k in self._cache if k[0] == name]:
                    del self._cache[key]

    @property
    def cached(self) -> int:
        with self._cache_lock:
            return len(self._cache)

    # ---- answering -------------------------------------------------------------------------

    def _respond(self, query: Query) -> Reply:
        question = query.question
        if question.qclass != CLASS_IN:
            return Reply(Rcode.REFUSED, ra=True)
        key = (question.name, question.qtype)
        now = self._clock()
        with self._cache_lock:
            entry = self._cache.get(key)
        if entry is not None:
            expired = entry.expired(now)
            if not expired or self._stale:
                return entry.served(now, stale=expired)
        reply = self.resolve(question.name, question.qtype)
        ttl = _cache_ttl(reply)
        if ttl:
            with self._cache_lock:
                self._cache[key] = _Entry(reply, now, ttl)
        return reply

    def resolve(self, qname: str, qtype: str, depth: int = 0) -> Reply:
        """Resolve without the cache (the cache is consulted only for client queries)."""
        servers = list(self._upstreams)
        tried: set[tuple[Address, ...]] = {tuple(servers)}
        for _ in range(MAX_REFERRALS):
            message = self._ask_first(servers, qname, qtype)
            if message is None:
                return Reply(Rcode.SERVFAIL, ra=True)
            if not _is_referral(message):
                reply = Reply(
                    _rcode(message.rcode),
                    ra=True,
                    answer=message.answer,
                    authority=message.authority,
                    additional=message.additional,
                )
                return self._chase(reply, qname, qtype, depth)
            servers = self._referred(message)
            if not servers or tuple(servers) in tried:
                return Reply(Rcode.SERVFAIL, ra=True)
            tried.add(tuple(servers))
        return Reply(Rcode.SERVFAIL, ra=True)

    def _ask_first(self, servers: Sequence[Address], qname: str, qtype: str) -> Message | None:
        for server in servers:
            try:
                message = ask(qname, qtype, server, timeout_s=self._timeout_s)
            except UpstreamError:
                continue
            if message.rcode not in (Rcode.REFUSED, Rcode.SERVFAIL, Rcode.NOTIMP):
                return message
        return None

    def _referred(self, message: Message) -> list[Address]:
        if self._book is None:
            return []
        out: list[Address] = []
        for record in message.authority:
            target = record.rdata.target() if record.rtype == "NS" else None
            address = self._book(target) if target else None
            if address is not None and address not in out:
                out.append(address)
        return out

    def _chase(self, reply: Reply, qname: str, qtype: str, depth: int) -> Reply:
        if qtype in ("CNAME", "ANY") or reply.rcode != Rcode.NOERROR:
            return reply
        name, seen = qname, {qname}
        while True:
            alias = next((r for r in reply.answer if r.name == name and r.rtype == "CNAME"), None)
            target = alias.rdata.target() if alias is not None else None
            if target is None or target in seen:
                break
            name = target
            seen.add(name)
        if name == qname or depth >= MAX_CNAME_CHAIN:
            return reply
        if any(r.name == name and r.rtype == qtype for r in reply.answer):
            return reply
        rest = self.resolve(name, qtype, depth + 1)
        return Reply(
            rest.rcode,
            ra=True,
            answer=reply.answer + rest.answer,
            authority=rest.authority,
            additional=rest.additional,
        )
