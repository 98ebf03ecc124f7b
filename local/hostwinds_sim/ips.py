"""Addresses: only RFC 5737 documentation ranges (and, for benchmarks that need more of them,
RFC 2544's benchmarking range), one disjoint slice per location."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from ipaddress import IPv4Network

# RFC 5737: the only addresses the simulator ever hands out. Order matters: with the default
# three locations, location 1 draws from the first range, location 2 from the second, and so on.
DOCUMENTATION_RANGES: tuple[IPv4Network, ...] = (
    IPv4Network("203.0.113.0/24"),
    IPv4Network("198.51.100.0/24"),
    IPv4Network("192.0.2.0/24"),
)

# RFC 2544: set aside for benchmarking network devices, never routed (131,070 addresses): a
# benchmark's fleet of tens of thousands of ACTIVE instances draws from it.
BENCHMARKING_RANGE = IPv4Network("198.18.0.0/15")


def documentation_networks(ranges: tuple[str, ...] | None) -> tuple[IPv4Network, ...]:
    """Parse and check the IP ranges to draw from: inside RFC 5737, no overlaps."""
    if ranges is None:
        return DOCUMENTATION_RANGES
    networks = tuple(IPv4Network(r, strict=True) for r in ranges)
    if not networks:
        raise ValueError("at least one IP range is required")
    for net in networks:
        if not any(net.subnet_of(doc) for doc in (*DOCUMENTATION_RANGES, BENCHMARKING_RANGE)):
            raise ValueError(
                f"{net} is not inside an RFC 5737 documentation range "
                f"or RFC 2544's {BENCHMARKING_RANGE}"
            )
    for i, net in enumerate(networks):
        if any(net.overlaps(other) for other in networks[i + 1 :]):
            raise ValueError(f"{net} overlaps another configured range")
    return networks


class IpPools:
    """Each location draws from its own contiguous slice of the configured ranges.

    The host addresses of all ranges, in order, are cut into one equal slice per location
    (sorted by id; any remainder stays unused), so slices are disjoint by construction.
    Released addresses go to the back of their slice's queue: reused as late as possible."""

    def __init__(self, location_ids: Iterable[int], networks: Sequence[IPv4Network]) -> None:
        hosts = [str(host) for net in networks for host in net.hosts()]
        ids = sorted(location_ids)
        size = len(hosts) // len(ids)
        self._slices = {loc: tuple(hosts[i * size : (i + 1) * size]) for i, loc in enumerate(ids)}
        self._free = {loc: deque(addresses) for loc, addresses in self._slices.items()}

    def slice_of(self, location_id: int) -> tuple[str, ...]:
        return self._slices[location_id]

    def take(self, location_id: int) -> str | None:
        free = self._free[location_id]
        return free.popleft() if free else None

    def give_back(self, location_id: int, ip: str) -> None:
        self._free[location_id].append(ip)
