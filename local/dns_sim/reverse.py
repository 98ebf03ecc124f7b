"""Reverse DNS (PTR) from a callable `() -> {ip: name}`, e.g. HostwindsSimulator.reverse_records.

Serves `in-addr.arpa.` and `ip6.arpa.`: the PTR of an address the callable knows, NXDOMAIN for
one it does not (a missing PTR), NODATA for the names between. The callable is asked on every
query that reaches these zones, so a PTR set at the provider is visible at once; the zones are
rebuilt only when its answer changes.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Callable, Mapping

from local.dns_sim.names import is_within, reverse_pointer
from local.dns_sim.zone import RecordZone, RRset, default_soa

REVERSE_ORIGINS = ("in-addr.arpa.", "ip6.arpa.")
PTR_TTL = 3600

log = logging.getLogger("local.dns_sim")


class ReverseZone:
    """A ZoneSource answering PTR queries from `records()` (IP -> PTR name)."""

    def __init__(self, records: Callable[[], Mapping[str, str]], *, ttl: int = PTR_TTL) -> None:
        self._records = records
        self._ttl = ttl
        self._lock = threading.Lock()
        self._seen: dict[str, str] | None = None
        self._zones: dict[str, RecordZone] = {}

    @property
    def origins(self) -> tuple[str, ...]:
        return REVERSE_ORIGINS

    def find_zone(self, qname: str) -> RecordZone | None:
        origin = next((o for o in REVERSE_ORIGINS if is_within(qname, o)), None)
        if origin is None:
            return None
        current = dict(self._records())
        with self._lock:
            if current != self._seen:
                self._zones = self._build(current)
                self._seen = current
            return self._zones[origin]

    def _build(self, records: Mapping[str, str]) -> dict[str, RecordZone]:
        zones = {origin: RecordZone(origin, [default_soa(origin)]) for origin in REVERSE_ORIGINS}
        for ip, name in records.items():
            try:
                pointer = reverse_pointer(ip)
                rrset = RRset.parse(pointer, "PTR", [name], self._ttl)
            except ValueError as exc:
                log.warning("dns simulator: no PTR for %r -> %r: %s", ip, name, exc)
                continue
            is_v4 = ipaddress.ip_address(ip).version == 4
            zones["in-addr.arpa." if is_v4 else "ip6.arpa."].put(rrset)
        return zones
