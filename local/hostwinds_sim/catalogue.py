"""What the simulated Hostwinds account offers: locations, public images, plans (IPs: ips.py).

The defaults are exactly the contract fixtures in tests/contracts/hostwinds/ (the simulator's
tests compare them byte for byte), so a client tested against the simulator sees the same ids the
client's own fixture tests use.
"""

from __future__ import annotations

from dataclasses import dataclass

# WHMCS billing cycles (Hostwinds bills through WHMCS); the fixtures only show "monthly".
BILLING_CYCLES = frozenset(
    {"monthly", "quarterly", "semiannually", "annually", "biennially", "triennially"}
)


@dataclass(frozen=True)
class Location:
    id: int
    name: str

    def payload(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name}


@dataclass(frozen=True)
class Image:
    id: str
    name: str
    os: str

    def payload(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "os": self.os}


@dataclass(frozen=True)
class Plan:
    rid: int
    name: str
    price: str
    billingcycle: str

    def payload(self) -> dict[str, object]:
        return {
            "rid": self.rid,
            "name": self.name,
            "price": self.price,
            "billingcycle": self.billingcycle,
        }


@dataclass(frozen=True)
class Catalogue:
    locations: tuple[Location, ...]
    images: tuple[Image, ...]
    plans: tuple[Plan, ...]

    def __post_init__(self) -> None:
        for kind, ids in (
            ("location", [loc.id for loc in self.locations]),
            ("image", [img.id for img in self.images]),
            ("plan", [plan.rid for plan in self.plans]),
        ):
            if not ids:
                raise ValueError(f"the catalogue needs at least one {kind}")
            if len(set(ids)) != len(ids):
                raise ValueError(f"duplicate {kind} ids in the catalogue")


DEFAULT_CATALOGUE = Catalogue(
    locations=(
        Location(1, "Seattle, WA"),
        Location(2, "Dallas, TX"),
        Location(3, "Amsterdam, NL"),
    ),
    images=(
        Image("0b6d4f2e-debian-12", "Debian 12", "linux"),
        Image("4c2a9e11-ubuntu-2404", "Ubuntu 24.04", "linux"),
    ),
    plans=(
        Plan(1001, "Unmetered Cloud VPS 1", "9.99", "monthly"),
        Plan(1002, "Unmetered Cloud VPS 2", "19.99", "monthly"),
    ),
)


def plan_price(rid: int, catalogue: Catalogue = DEFAULT_CATALOGUE) -> float:
    """The monthly price (USD) of the plan `rid`, as the price list answers it."""
    (plan,) = [p for p in catalogue.plans if p.rid == rid]
    return float(plan.price)
