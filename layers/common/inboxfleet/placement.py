"""Where a tenant's next server goes. Pure.

Least-used allowed location first, so a tenant's sending IPs spread over locations (and so over
networks and reputations); ties go to the earlier location in the plan's list, so the choice is
stable and predictable.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence


class NoAllowedLocation(ValueError):
    pass


def choose_location(
    allowed: Sequence[str],
    servers_per_location: Mapping[str, int],
    unavailable: Collection[str] = (),
) -> str:
    """The allowed, available location holding the fewest of the tenant's servers."""
    candidates = [loc for loc in dict.fromkeys(allowed) if loc not in unavailable]
    if not candidates:
        raise NoAllowedLocation(
            f"no location to place a server in: allowed {list(allowed)}, "
            f"unavailable {sorted(unavailable)}"
        )
    # min() keeps the first of equal keys: ties resolve in the plan's order.
    return min(candidates, key=lambda loc: servers_per_location.get(loc, 0))
