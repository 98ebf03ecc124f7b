"""Spamhaus-like DNS blocklists: zen (IPs) and dbl (domains), optionally their DQS mirrors.

- `<reversed ip>.zen.spamhaus.org A` answers the listing code (127.0.0.2 = SBL by default);
  IPv6 uses the nibble form. `<domain>.dbl.spamhaus.org A` answers e.g. 127.0.1.2. A listed
  entry also has a TXT explaining it. Not listed: NXDOMAIN with the zone's SOA.
- RFC 5782 test points are listed unless `test_points=False`: 127.0.0.2 in zen, `dbltest.com`
  in dbl (127.0.0.1 is never listed).
- `refuse_public_resolvers(True)`: EVERY A query in the public zones answers 127.255.255.254,
  listed or not - what Spamhaus answers to queries arriving through a public resolver - which a
  verifier must read as "unknown", never as "listed".
- With `dqs_key`, the same lists are also served as `<key>.zen.dq.spamhaus.net` and
  `<key>.dbl.dq.spamhaus.net` (Spamhaus's Data Query Service), which the refusal never affects.
"""

from __future__ import annotations

import threading

from local.dns_sim.names import checked, is_within, normalize, reversed_ip_labels
from local.dns_sim.wire import Rcode, Reply, ResourceRecord, parse_rdata
from local.dns_sim.zone import RecordZone, RRset, default_soa

ZEN = "zen.spamhaus.org."
DBL = "dbl.spamhaus.org."
IP_CODE = "127.0.0.2"  # SBL
DOMAIN_CODE = "127.0.1.2"  # DBL: spam domain
PUBLIC_RESOLVER_CODE = "127.255.255.254"
LIST_TTL = 60
_REFUSAL = parse_rdata("A", PUBLIC_RESOLVER_CODE)


def _code(code: str) -> str:
    rdata = parse_rdata("A", code)  # validates
    if not rdata.text.startswith("127."):
        raise ValueError(f"a DNSBL return code is in 127.0.0.0/8, not {code!r}")
    return rdata.text


class _ListZone(RecordZone):
    """One blocklist zone; `refusing` is shared with the owning Dnsbl."""

    def __init__(self, origin: str, owner: Dnsbl, *, refusable: bool) -> None:
        super().__init__(origin, [default_soa(origin, minimum=LIST_TTL)])
        self._owner = owner
        self._refusable = refusable

    def lookup(self, qname: str, qtype: str) -> Reply:
        if self._refusable and self._owner.refusing:
            kind = qtype.upper()
            if kind in {"A", "ANY"}:
                answer = (ResourceRecord(qname, LIST_TTL, _REFUSAL),)
                return Reply(Rcode.NOERROR, aa=True, answer=answer)
            return self._negative(Rcode.NOERROR)
        return super().lookup(qname, qtype)

    def list_entry(self, key: str, code: str, reason: str) -> None:
        name = checked(f"{key}.{self.origin}")
        self.put(RRset.parse(name, "A", [code], LIST_TTL))
        self.put(RRset.parse(name, "TXT", [f'"{reason}"'], LIST_TTL))

    def delist_entry(self, key: str) -> None:
        self.delete(normalize(f"{key}.{self.origin}"))


class Dnsbl:
    """A ZoneSource holding the blocklist zones. Thread-safe; changes are visible at once."""

    def __init__(
        self,
        *,
        ip_zone: str = ZEN,
        domain_zone: str = DBL,
        dqs_key: str | None = None,
        test_points: bool = True,
    ) -> None:
        self._refusing = False
        self._lock = threading.Lock()
        self._ip_zones = [_ListZone(ip_zone, self, refusable=True)]
        self._domain_zones = [_ListZone(domain_zone, self, refusable=True)]
        if dqs_key is not None:
            if not dqs_key.isalnum():
                raise ValueError("a DQS key is letters and digits")
            key = dqs_key.lower()
            self._ip_zones.append(_ListZone(f"{key}.zen.dq.spamhaus.net.", self, refusable=False))
            self._domain_zones.append(
                _ListZone(f"{key}.dbl.dq.spamhaus.net.", self, refusable=False)
            )
        if test_points:
            self.list_ip("127.0.0.2")
            self.list_domain("dbltest.com")

    @property
    def refusing(self) -> bool:
        return self._refusing

    @property
    def origins(self) -> tuple[str, ...]:
        """The blocklist zones served (for delegations to them)."""
        return tuple(zone.origin for zone in (*self._ip_zones, *self._domain_zones))

    def refuse_public_resolvers(self, refuse: bool = True) -> None:
        self._refusing = refuse

    def list_ip(self, ip: str, code: str = IP_CODE) -> None:
        labels, answer = reversed_ip_labels(ip), _code(code)
        with self._lock:
            for zone in self._ip_zones:
                zone.list_entry(
                    labels, answer, f"Listed by SBL, see https://check.spamhaus.org/query/ip/{ip}"
                )

    def delist_ip(self, ip: str) -> None:
        labels = reversed_ip_labels(ip)
        with self._lock:
            for zone in self._ip_zones:
                zone.delist_entry(labels)

    def list_domain(self, domain: str, code: str = DOMAIN_CODE) -> None:
        name, answer = checked(domain).rstrip("."), _code(code)
        with self._lock:
            for zone in self._domain_zones:
                zone.list_entry(
                    name,
                    answer,
                    f"Listed by DBL, see https://check.spamhaus.org/query/dbl/domain/{name}",
                )

    def delist_domain(self, domain: str) -> None:
        name = checked(domain).rstrip(".")
        with self._lock:
            for zone in self._domain_zones:
                zone.delist_entry(name)

    def find_zone(self, qname: str) -> RecordZone | None:
        for zone in (*self._ip_zones, *self._domain_zones):
            if is_within(qname, zone.origin):
                return zone
        return None
