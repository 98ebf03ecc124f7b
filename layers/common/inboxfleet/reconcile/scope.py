"""One pass's bookkeeping: the drift each part finds and repairs (the report), the time it has
left, and whether it may act at all (dry run). Pure: no I/O."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from inboxfleet.reconcile.commands import KindReport, PartName, PartReport, PartStatus

Item = Mapping[str, Any]


class OutOfTime(Exception):
    """The pass must stop now to end before the Lambda's timeout; the next pass resumes."""


@dataclass(frozen=True)
class Deadline:
    remaining_ms: Callable[[], int]
    margin_ms: int

    def check(self) -> None:
        if self.remaining_ms() <= self.margin_ms:
            raise OutOfTime(f"less than {self.margin_ms // 1000} s left before the timeout")


@dataclass
class _Kind:
    found: int = 0
    repaired: int = 0
    items: list[dict[str, str | int | None]] = field(default_factory=list)


@dataclass
class PartTally:
    """What one part found; `items` keeps the first few of each kind for the report."""

    part: PartName
    max_items: int
    status: PartStatus = "done"
    reason: str | None = None
    kinds: dict[str, _Kind] = field(default_factory=dict)
    elapsed_ms: int = 0

    def found(self, kind: str, item: Item, *, repaired: bool = False, n: int = 1) -> None:
        tally = self.kinds.setdefault(kind, _Kind())
        tally.found += n
        tally.repaired += n if repaired else 0
        if len(tally.items) < self.max_items:
            tally.items.append({k: _plain(v) for k, v in item.items()})

    def repaired(self, kind: str, n: int = 1) -> None:
        """Found earlier in the part, repaired now."""
        self.kinds.setdefault(kind, _Kind()).repaired += n

    def skip(self, reason: str) -> None:
        self.status, self.reason = "skipped", reason

    def incomplete(self, reason: str) -> None:
        self.status, self.reason = "incomplete", reason

    def report(self) -> PartReport:
        drift = {
            kind: KindReport(found=k.found, repaired=k.repaired, items=k.items)
            for kind, k in sorted(self.kinds.items())
        }
        return PartReport(
            part=self.part,
            status=self.status,
            reason=self.reason,
            drift=drift,
            elapsed_ms=self.elapsed_ms,
        )


def _plain(value: Any) -> str | int | None:
    if value is None or isinstance(value, int | str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
