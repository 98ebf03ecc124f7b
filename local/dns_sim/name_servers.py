"""Route 53 gives every hosted zone its own delegation set; moto gives every zone the same four
name servers. While `distinct_name_servers()` is active, each zone (or reusable delegation set)
moto creates gets four fresh names in Route 53's shape (`ns-<n>.awsdns-<nn>.com/.net/.org/
.co.uk`), so two zones for one name are told apart by their name servers, as in AWS, where
delegation to one of them decides who owns the domain.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_TLDS = ("com", "net", "org", "co.uk")
# Route 53's own pool is ns-0 .. ns-2047; moto's default set is ns-2048..2051. Ours start past it.
_FIRST = 4096
_numbers = itertools.count(_FIRST, len(_TLDS))
_numbers_lock = threading.Lock()


def fresh_name_servers() -> list[str]:
    """Four name servers no zone has had before (in this process)."""
    with _numbers_lock:
        first = next(_numbers)
    return [f"ns-{n}.awsdns-{n % 64:02d}.{tld}" for n, tld in zip(itertools.count(first), _TLDS)]


@contextmanager
def distinct_name_servers() -> Iterator[None]:
    """Patch moto (process-wide, like moto itself) for the block's duration."""
    from moto.route53.models import Route53Backend

    original = Route53Backend.create_reusable_delegation_set

    def create(
        self: Any,
        caller_reference: str,
        delegation_set_id: str | None = None,
        hosted_zone_id: str | None = None,
    ) -> Any:
        created = original(self, caller_reference, delegation_set_id, hosted_zone_id)
        if hosted_zone_id is None:  # a set made from a zone keeps that zone's servers
            created.name_servers = fresh_name_servers()
        return created

    Route53Backend.create_reusable_delegation_set = create  # type: ignore[method-assign]
    try:
        yield
    finally:
        Route53Backend.create_reusable_delegation_set = original  # type: ignore[method-assign]
