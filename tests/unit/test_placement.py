from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inboxfleet.placement import NoAllowedLocation, choose_location

LOCATIONS = ["seattle", "dallas", "amsterdam"]


def test_least_used_wins() -> None:
    assert choose_location(LOCATIONS, {"seattle": 2, "dallas": 0, "amsterdam": 1}) == "dallas"


def test_ties_go_to_the_plans_order() -> None:
    assert choose_location(LOCATIONS, {}) == "seattle"
    assert choose_location(LOCATIONS, {"seattle": 1}) == "dallas"
    assert choose_location(["amsterdam", "seattle"], {}) == "amsterdam"


def test_counts_outside_the_allowed_list_are_ignored() -> None:
    assert choose_location(["dallas"], {"seattle": 0, "dallas": 7}) == "dallas"


def test_unavailable_locations_are_skipped() -> None:
    assert choose_location(LOCATIONS, {}, unavailable={"seattle"}) == "dallas"


@pytest.mark.parametrize(("allowed", "unavailable"), [([], set()), (["dallas"], {"dallas"})])
def test_nowhere_to_go_is_a_clear_error(allowed: list[str], unavailable: set[str]) -> None:
    with pytest.raises(NoAllowedLocation, match="no location"):
        choose_location(allowed, {}, unavailable)


@given(
    allowed=st.lists(st.sampled_from([*LOCATIONS, "chicago", "tokyo"]), min_size=1, unique=True),
    existing=st.dictionaries(st.sampled_from(LOCATIONS), st.integers(0, 5)),
    n=st.integers(1, 40),
)
def test_repeated_placement_spreads_evenly(
    allowed: list[str], existing: dict[str, int], n: int
) -> None:
    counts = Counter({loc: existing.get(loc, 0) for loc in allowed})
    for _ in range(n):
        chosen = choose_location(allowed, counts)
        assert chosen in allowed
        assert counts[chosen] == min(counts[loc] for loc in allowed)
        counts[chosen] += 1
    # Placement only ever fills the emptiest location, so the spread can only shrink or stay.
    assert max(counts.values()) - min(counts.values()) <= max(
        1,
        max(existing.get(loc, 0) for loc in allowed) - min(existing.get(loc, 0) for loc in allowed),
    )
