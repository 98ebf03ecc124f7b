"""Zone data and the authoritative answering rules (RFC 1034 4.3.2, RFC 2308, RFC 4592).

A `Zone` answers for the names at and below its origin; a `ZoneSource` finds the zone that holds
a name (a source may hold many zones, e.g. every hosted zone in Route 53). `RecordZone` is the
shared implementation: exact matches, CNAME answers (followed inside the zone), empty
non-terminals, wildcards, zone cuts (referrals with glue), NXDOMAIN / NODATA with the SOA in the
authority section at the negative-caching TTL. Every `RecordZone` is thread-safe.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from local.dns_sim.names import below, checked, is_within, normalize, parent
from local.dns_sim.wire import Rcode, RData, Reply, ResourceRecord, parse_rdata

DEFAULT_TTL = 300
MAX_CNAME_CHAIN = 8


class Zone(Protocol):
    @property
    def origin(self) -> str: ...

    def lookup(self, qname: str, qtype: str) -> Reply:
        """Answer for a normalized `qname` at or below the origin."""
        ...


class ZoneSource(Protocol):
    def find_zone(self, qname: str) -> Zone | None:
        """The most specific zone of this source that holds the normalized `qname`."""
        ...


class RecordLike(Protocol):
    """A record set as Route 53 takes it (inboxfleet.dns.records.Record fits)."""

    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def values(self) -> Sequence[str]: ...
    @property
    def ttl(self) -> int: ...


@dataclass(frozen=True)
class Record:
    """One record set: every value of one name and type, in Route 53 presentation format."""

    name: str
    type: str
    values: tuple[str, ...]
    ttl: int = DEFAULT_TTL


@dataclass(frozen=True)
class RRset:
    name: str  # normalized
    rtype: str
    ttl: int
    rdatas: tuple[RData, ...]

    @classmethod
    def parse(cls, name: str, rtype: str, values: Iterable[str], ttl: int) -> RRset:
        kind = rtype.upper()
        rdatas = tuple(dict.fromkeys(parse_rdata(kind, v) for v in values))
        if not rdatas:
            raise ValueError(f"{name} {kind}: a record set needs at least one value")
        if kind == "CNAME" and len(rdatas) > 1:
            raise ValueError(f"{name}: a CNAME record set has exactly one value")
        if not 0 <= ttl <= 0x7FFFFFFF:
            raise ValueError(f"{name} {kind}: TTL out of range")
        return cls(checked(name), kind, ttl, rdatas)

    def records(self, owner: str | None = None) -> tuple[ResourceRecord, ...]:
        name = self.name if owner is None else owner
        return tuple(ResourceRecord(name, self.ttl, rd) for rd in self.rdatas)


def negative_ttl(soa: RRset) -> int:
    """RFC 2308: the SOA's own TTL or its MINIMUM field, whichever is lower."""
    minimum = int(soa.rdatas[0].text.split()[-1])
    return min(soa.ttl, minimum)


class RecordZone:
    """The records of one zone, answered authoritatively. Mutations are visible at once."""

    def __init__(self, origin: str, rrsets: Iterable[RRset] = ()) -> None:
        self._origin = checked(origin)
        self._lock = threading.RLock()
        self._nodes: dict[str, dict[str, RRset]] = {}
        self._below: Counter[str] = Counter()  # name -> owners strictly below it
        self._cuts: set[str] = set()  # owners other than the origin that have NS records
        for rrset in rrsets:
            self.put(rrset)

    @property
    def origin(self) -> str:
        return self._origin

    def find_zone(self, qname: str) -> RecordZone | None:
        return self if is_within(qname, self._origin) else None

    # ---- data ------------------------------------------------------------------------------

    def put(self, rrset: RRset) -> None:
        """Add or replace the record set of that name and type."""
        if not is_within(rrset.name, self._origin):
            raise ValueError(f"{rrset.name} is not in zone {self._origin}")
        with self._lock:
            node = self._nodes.get(rrset.name)
            if node is None:
                node = self._nodes[rrset.name] = {}
                for ancestor in self._ancestors(rrset.name):
                    self._below[ancestor] += 1
            node[rrset.rtype] = rrset
            if rrset.rtype == "NS" and rrset.name != self._origin:
                self._cuts.add(rrset.name)

    def delete(self, name: str, rtype: str | None = None) -> bool:
        """Remove one record set (or every record set of `name`). True if anything went."""
        owner = normalize(name)
        with self._lock:
            node = self._nodes.get(owner)
            if node is None:
                return False
            removed = node.pop(rtype.upper(), None) is not None if rtype else bool(node)
            if rtype is None:
                node.clear()
            if not node:
                del self._nodes[owner]
                for ancestor in self._ancestors(owner):
                    self._below[ancestor] -= 1
                    if not self._below[ancestor]:
                        del self._below[ancestor]
            if "NS" not in node:
                self._cuts.discard(owner)
            return removed

    def get(self, name: str, rtype: str) -> RRset | None:
        with self._lock:
            return self._nodes.get(normalize(name), {}).get(rtype.upper())

    def rrsets(self) -> list[RRset]:
        with self._lock:
            return [rrset for node in self._nodes.values() for rrset in node.values()]

    def _ancestors(self, name: str) -> list[str]:
        """Names above `name` up to and including the origin."""
        out = []
        current = name
        while current != self._origin:
            current = parent(current)
            out.append(current)
        return out

    # ---- answering -------------------------------------------------------------------------

    def lookup(self, qname: str, qtype: str) -> Reply:
        with self._lock:
            return self._lookup(qname, qtype.upper(), 0)

    def _lookup(self, qname: str, qtype: str, depth: int) -> Reply:
        for name in below(qname, self._origin):
            if name in self._cuts and not (name == qname and qtype == "DS"):
                return self._referral(name)
        node = self._nodes.get(qname)
        if node is None:
            if self._below.get(qname):
                return self._negative(Rcode.NOERROR)  # an empty non-terminal
            node = self._wildcard(qname)
            if node is None:
                return self._negative(Rcode.NXDOMAIN)
        return self._from_node(node, qname, qtype, depth)

    def _from_node(self, node: dict[str, RRset], owner: str, qtype: str, depth: int) -> Reply:
        if qtype == "ANY":
            answer = tuple(r for rrset in node.values() for r in rrset.records(owner))
            return Reply(Rcode.NOERROR, aa=True, answer=answer)
        rrset = node.get(qtype)
        if rrset is not None:
            return Reply(Rcode.NOERROR, aa=True, answer=rrset.records(owner))
        cname = node.get("CNAME")
        if cname is None:
            return self._negative(Rcode.NOERROR)
        answer = cname.records(owner)
        target = cname.rdatas[0].target()
        if target is None or depth >= MAX_CNAME_CHAIN or not is_within(target, self._origin):
            return Reply(Rcode.NOERROR, aa=True, answer=answer)
        chased = self._lookup(target, qtype, depth + 1)
        if not chased.aa:  # the target is below a zone cut: the client asks elsewhere
            return Reply(Rcode.NOERROR, aa=True, answer=answer)
        authority = () if chased.answer else chased.authority
        return Reply(chased.rcode, aa=True, answer=answer + chased.answer, authority=authority)

    def _wildcard(self, qname: str) -> dict[str, RRset] | None:
        encloser = parent(qname)
        while encloser != self._origin and not (
            encloser in self._nodes or self._below.get(encloser)
        ):
            encloser = parent(encloser)
        return self._nodes.get("*." + encloser)

    def _referral(self, cut: str) -> Reply:
        ns = self._nodes[cut]["NS"]
        glue: list[ResourceRecord] = []
        for rd in ns.rdatas:
            target = rd.target()
            if target is not None and is_within(target, cut):
                for kind in ("A", "AAAA"):
                    found = self._nodes.get(target, {}).get(kind)
                    if found is not None:
                        glue.extend(found.records())
        return Reply(Rcode.NOERROR, aa=False, authority=ns.records(), additional=tuple(glue))

    def _negative(self, rcode: Rcode) -> Reply:
        soa = self._nodes.get(self._origin, {}).get("SOA")
        if soa is None:
            return Reply(rcode, aa=True)
        ttl = negative_ttl(soa)
        authority = tuple(ResourceRecord(r.name, ttl, r.rdata) for r in soa.records())
        return Reply(rcode, aa=True, authority=authority)


def default_soa(origin: str, *, ttl: int = 900, minimum: int = DEFAULT_TTL) -> RRset:
    """An SOA like Route 53's for a zone that brings none."""
    host = "ns1." + origin if origin != "." else "ns1."
    value = f"{host} hostmaster.{origin.rstrip('.')}. 1 7200 900 1209600 {minimum}"
    return RRset.parse(origin, "SOA", [value], ttl)


class StaticZone(RecordZone):
    """A zone from a list of record sets (no Route 53): for tests and the benchmark.

    Names are absolute (trailing dot optional) and must lie in the zone; several entries for one
    name and type merge into one record set (lowest TTL). A zone without SOA or NS at its apex
    gets `ns1.<origin>` ones. `put_record` / `delete` change it while it is being served.
    """

    def __init__(
        self,
        origin: str,
        records: Iterable[RecordLike] = (),
        *,
        nameservers: Sequence[str] | None = None,
    ) -> None:
        fqdn = checked(origin)
        merged: dict[tuple[str, str], tuple[list[str], int]] = {}
        for record in records:
            key = (checked(record.name), record.type.upper())
            values, ttl = merged.get(key, ([], record.ttl))
            values.extend(record.values)
            merged[key] = (values, min(ttl, record.ttl))
        rrsets = [
            RRset.parse(name, kind, vals, ttl) for (name, kind), (vals, ttl) in merged.items()
        ]
        if (fqdn, "SOA") not in merged:
            rrsets.append(default_soa(fqdn))
        if (fqdn, "NS") not in merged:
            hosts = nameservers or ["ns1." + fqdn]
            rrsets.append(RRset.parse(fqdn, "NS", hosts, 172800))
        super().__init__(fqdn, rrsets)

    def put_record(self, record: RecordLike) -> None:
        """Replace the record set of that name and type."""
        self.put(RRset.parse(record.name, record.type, record.values, record.ttl))
